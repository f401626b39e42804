"""SCPs and SCUs: configuration, listeners, sending and query/retrieve (spec §3.10, §3.11,
§5.12, §5.13).

Listeners run in one process only: the one that calls :meth:`NetworkService.start_listeners`
(``slicebox worker``, or ``slicebox serve`` for the embedded default). HTTP workers only write
the ``ScpData`` table; the listening process reconciles its listeners with that table every
``poll_interval`` seconds, and at once when the change was made in-process.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from pydicom.filereader import read_file_meta_info
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..db.tables import ImageRow, ScpDataRow, ScuDataRow
from ..errors import InvalidInput, NotFound, PeerUnavailable, SliceboxError
from ..events import EventBus, ImagesSent, SourceAdded, SourceDeleted
from ..models.index import Destination, Source, SourceType
from ..models.network import (
    RemoteQuery,
    RetrieveMethod,
    RetrieveProgress,
    RetrieveRequest,
    RetrieveResult,
    ScpData,
    ScuData,
)
from . import qr, scu
from . import status as st
from .scp import Listener, NetworkSettings, ScpHandlers

if TYPE_CHECKING:
    from pynetdicom import evt
    from sqlalchemy import CursorResult

    from ..config import Config
    from ..db.engine import Database
    from ..images.service import ImageService
    from ..index.service import IndexService
    from ..log.service import LogService
    from ..system import SystemService

pylog = logging.getLogger("slicebox.network")

SCP_SUBJECT = "SCP"
SCU_SUBJECT = "SCU"
AE_TITLE_MAX = 16


def check_ae_title(ae_title: str) -> None:
    """AE title rules (spec §3.10; PS3.5 6.2 AE): trimmed, 1..16 characters, no backslash or
    control characters.

    Raises:
        InvalidInput: a title that breaks a rule.
    """
    trimmed = ae_title.strip()
    if not trimmed:
        raise InvalidInput("AE title must not be empty")
    if len(trimmed) > AE_TITLE_MAX:
        raise InvalidInput(f"AE title must be at most {AE_TITLE_MAX} characters")
    if "\\" in trimmed or any(ord(c) < 32 or ord(c) == 127 for c in trimmed):
        raise InvalidInput("AE title must not contain backslashes or control characters")
    if not trimmed.isascii():
        raise InvalidInput("AE title must use the default character repertoire (ASCII)")


def check_port(port: int) -> None:
    """Raises InvalidInput for a port outside 0..65535 (spec §3.10)."""
    if not 0 <= port <= 65535:
        raise InvalidInput("port must be between 0 and 65535")


def check_host(host: str) -> None:
    """A host name or IP address: 1..253 printable ASCII characters, no spaces.

    Raises:
        InvalidInput: an empty or malformed host.
    """
    if not host.strip():
        raise InvalidInput("host must not be empty")
    if len(host) > 253 or not all(33 <= ord(c) < 127 for c in host):
        raise InvalidInput("host must be a host name or an IP address")


def _check_paging(start_index: int, count: int) -> None:
    if start_index < 0:
        raise InvalidInput("startindex must be 0 or more")
    if count < 0:
        raise InvalidInput("count must be 0 or more")


def scp_from_row(row: ScpDataRow) -> ScpData:
    return ScpData(row.id, row.name, row.aeTitle, row.port)


def scu_from_row(row: ScuDataRow) -> ScuData:
    return ScuData(row.id, row.name, row.aeTitle, row.host, row.port)


def node_of(data: ScuData) -> scu.Node:
    return scu.Node(data.ae_title, data.host, data.port)


class NetworkService:
    """DICOM nodes of one slicebox.

    Args:
        db: the index.
        images: ingest (received instances) and stored files (sent instances).
        index: the index service.
        log: the system log (subjects ``SCP`` and ``SCU``).
        config: accepted SOP classes and transfer syntaxes (``config.dicom``).
        events: publishes ``SourceAdded``/``SourceDeleted`` for SCPs (and ``ImagesSent``
            when the bus knows it).
        system: when given, SCPs are registered as sources and SCUs as destinations.
        settings: bind address, time-outs, limits, calling AE title.
    """

    def __init__(
        self,
        db: Database,
        images: ImageService,
        index: IndexService,
        log: LogService,
        config: Config,
        *,
        events: EventBus | None = None,
        system: SystemService | None = None,
        settings: NetworkSettings | None = None,
    ) -> None:
        self._db = db
        self._images = images
        self._index = index
        self._log = log
        self._config = config
        self._events = events
        self.settings = settings or NetworkSettings()
        self._listeners: dict[int, Listener] = {}
        self._bind_failures: set[tuple[int, int]] = set()
        self._lock = threading.RLock()
        self._listening = False
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        if system is not None:
            system.source_providers.append(self.scp_sources)
            system.destination_providers.append(self.scu_destinations)

    # SCPs (spec §3.10) ---------------------------------------------------------------------------
    def scps(self, *, start_index: int = 0, count: int = 20) -> list[ScpData]:
        """SCPs by id, paged. Raises InvalidInput for negative paging."""
        _check_paging(start_index, count)
        stmt = select(ScpDataRow).order_by(ScpDataRow.id).offset(start_index).limit(count)
        with self._db.read() as session:
            return [scp_from_row(r) for r in session.scalars(stmt)]

    def get_scp(self, scp_id: int) -> ScpData:
        """Raises NotFound."""
        with self._db.read() as session:
            row = session.get(ScpDataRow, scp_id)
        if row is None:
            raise NotFound(f"SCP not found: {scp_id}")
        return scp_from_row(row)

    def create_scp(self, name: str, ae_title: str, port: int) -> ScpData:
        """Add an SCP and start its listener (in the listening process).

        An SCP with the same name is returned as it is, without validation (spec §3.10).

        Raises:
            InvalidInput: bad AE title or port, or the port is used by another SCP.
        """
        existing = self._scp_named(name)
        if existing is not None:
            return existing
        check_ae_title(ae_title)
        check_port(port)
        try:
            with self._db.write() as session:
                if session.scalar(select(ScpDataRow.id).where(ScpDataRow.port == port)):
                    raise InvalidInput(f"Port {port} is already used by another SCP")
                row = ScpDataRow(name=name, aeTitle=ae_title, port=port)
                session.add(row)
                session.flush()
                scp = scp_from_row(row)
        except IntegrityError:  # a concurrent create: same name or same port
            existing = self._scp_named(name)
            if existing is not None:
                return existing
            raise InvalidInput(f"Port {port} is already used by another SCP") from None
        if self._events is not None:
            self._events.publish(SourceAdded(Source(SourceType.SCP, scp.name, scp.id)))
        if self._listening:
            self.reconcile()
        return scp

    def _scp_named(self, name: str) -> ScpData | None:
        with self._db.read() as session:
            row = session.scalar(select(ScpDataRow).where(ScpDataRow.name == name))
        return scp_from_row(row) if row is not None else None

    def delete_scp(self, scp_id: int) -> None:
        """Delete an SCP and stop its listener; unknown ids are ignored (spec §3.10: 204)."""
        with self._db.write() as session:
            result = session.execute(delete(ScpDataRow).where(ScpDataRow.id == scp_id))
            deleted = cast("CursorResult[Any]", result).rowcount
        if not deleted:
            return
        if self._events is not None:
            self._events.publish(SourceDeleted(SourceType.SCP.value, scp_id))
        if self._listening:
            self.reconcile()

    def scp_sources(self) -> list[Source]:
        """SCPs as sources (for ``GET /api/sources``)."""
        return [Source(SourceType.SCP, s.name, s.id) for s in self._all_scps()]

    def _all_scps(self) -> list[ScpData]:
        with self._db.read() as session:
            return [scp_from_row(r) for r in session.scalars(select(ScpDataRow).order_by("id"))]

    # SCUs (spec §3.11) ---------------------------------------------------------------------------
    def scus(self, *, start_index: int = 0, count: int = 20) -> list[ScuData]:
        """SCUs by id, paged. Raises InvalidInput for negative paging."""
        _check_paging(start_index, count)
        stmt = select(ScuDataRow).order_by(ScuDataRow.id).offset(start_index).limit(count)
        with self._db.read() as session:
            return [scu_from_row(r) for r in session.scalars(stmt)]

    def get_scu(self, scu_id: int) -> ScuData:
        """Raises NotFound."""
        with self._db.read() as session:
            row = session.get(ScuDataRow, scu_id)
        if row is None:
            raise NotFound(f"SCU not found: {scu_id}")
        return scu_from_row(row)

    def create_scu(self, name: str, ae_title: str, host: str, port: int) -> ScuData:
        """Add a remote node. An SCU with the same name is returned as it is (spec §3.11).

        Raises:
            InvalidInput: bad AE title, empty host, bad port, or (host, port) already used.
        """
        existing = self._scu_named(name)
        if existing is not None:
            return existing
        check_ae_title(ae_title)
        check_port(port)
        check_host(host)
        try:
            with self._db.write() as session:
                taken = session.scalar(
                    select(ScuDataRow.id).where(ScuDataRow.host == host, ScuDataRow.port == port)
                )
                if taken:
                    raise InvalidInput(f"An SCU for {host}:{port} already exists")
                row = ScuDataRow(name=name, aeTitle=ae_title, host=host, port=port)
                session.add(row)
                session.flush()
                return scu_from_row(row)
        except IntegrityError:
            existing = self._scu_named(name)
            if existing is not None:
                return existing
            raise InvalidInput(f"An SCU for {host}:{port} already exists") from None

    def _scu_named(self, name: str) -> ScuData | None:
        with self._db.read() as session:
            row = session.scalar(select(ScuDataRow).where(ScuDataRow.name == name))
        return scu_from_row(row) if row is not None else None

    def delete_scu(self, scu_id: int) -> None:
        """Delete an SCU; unknown ids are ignored (spec §3.11: 204)."""
        with self._db.write() as session:
            session.execute(delete(ScuDataRow).where(ScuDataRow.id == scu_id))

    def scu_destinations(self) -> list[Destination]:
        """SCUs as destinations (for ``GET /api/destinations``)."""
        with self._db.read() as session:
            rows = session.scalars(select(ScuDataRow).order_by(ScuDataRow.id)).all()
        return [Destination("scu", r.name, r.id) for r in rows]

    def scu_by_ae_title(self, ae_title: str) -> ScuData | None:
        """The first SCU whose trimmed AE title is ``ae_title`` (C-MOVE destinations)."""
        wanted = ae_title.strip()
        with self._db.read() as session:
            rows = session.scalars(select(ScuDataRow).order_by(ScuDataRow.id)).all()
        for row in rows:
            if row.aeTitle.strip() == wanted:
                return scu_from_row(row)
        return None

    # sending (spec §5.13) -------------------------------------------------------------------------
    def echo(self, scu_id: int) -> None:
        """C-ECHO the node (a connection test; not in the original).

        Raises:
            NotFound: unknown SCU.
            PeerUnavailable: the node cannot be reached or does not answer Success.
        """
        data = self.get_scu(scu_id)
        try:
            scu.echo(node_of(data), self.settings)
        except PeerUnavailable as exc:
            self._log.warn(SCU_SUBJECT, f"C-ECHO using SCU {data.name} failed: {exc}")
            raise
        self._log.info(SCU_SUBJECT, f"C-ECHO using SCU {data.name}: success")

    def send(
        self,
        scu_id: int,
        image_ids: Iterable[int],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """C-STORE stored images to the node, as stored (spec §5.13).

        Unknown images are skipped (logged as a warning). Warning statuses count as sent.

        Raises:
            NotFound: unknown SCU.
            PeerUnavailable: the node cannot be reached, rejects the association, accepts
                no presentation context, or refuses an image (the message says which).
        """
        data = self.get_scu(scu_id)
        ids = list(dict.fromkeys(int(i) for i in image_ids))
        node = node_of(data)
        instances, missing = self._stored_instances(ids)
        try:
            outcome = scu.send(
                node,
                instances,
                self.settings,
                local_file=self._images.local_file,
                progress=progress,
            )
        except PeerUnavailable as exc:
            self._log.error(SCU_SUBJECT, f"Unable to send images using SCU {data.name}: {exc}")
            raise
        missing += outcome.missing
        for image_id, status in outcome.warnings:
            self._log.warn(
                SCU_SUBJECT,
                f"Image {image_id} sent using SCU {data.name} with warning status 0x{status:04X}",
            )
        if outcome.failures:
            image_id, reason = outcome.failures[0]
            message = (
                f"Unable to send images to {node}: {len(outcome.failures)} of {len(instances)} "
                f"failed (image {image_id}: {reason})"
            )
            self._log.error(SCU_SUBJECT, message)
            raise PeerUnavailable(message)
        if missing:
            self._log.warn(
                SCU_SUBJECT, f"{len(missing)} images not found when sending using SCU {data.name}"
            )
        self._log.info(
            SCU_SUBJECT, f"Finished sending {len(outcome.sent)} images using SCU {data.name}"
        )
        self._publish_sent(data, ids)

    def _publish_sent(self, data: ScuData, image_ids: list[int]) -> None:
        if self._events is not None:  # spec §5.19: forwarding marks the images delivered
            self._events.publish(
                ImagesSent(Destination("scu", data.name, data.id), tuple(image_ids))
            )

    def _stored_instances(self, ids: list[int]) -> tuple[list[scu.StoredInstance], list[int]]:
        """SOP class and transfer syntax of the images: (instances, unknown or unreadable ids).

        Both are recorded at ingest; for rows that lack them the file meta is read (spec
        §5.13 step 1), and images without it are skipped with an error log.
        """
        with self._db.read() as session:
            rows = {
                r.id: r
                for start in range(0, len(ids), 500)
                for r in session.execute(
                    select(ImageRow.id, ImageRow.sopClassUID, ImageRow.transferSyntaxUID).where(
                        ImageRow.id.in_(ids[start : start + 500])
                    )
                )
            }
        instances: list[scu.StoredInstance] = []
        missing: list[int] = []
        for image_id in ids:
            row = rows.get(image_id)
            if row is None:
                missing.append(image_id)
                continue
            sop_class, ts = row.sopClassUID, row.transferSyntaxUID
            if not sop_class or not ts:
                try:
                    sop_class, ts = self._file_meta(image_id)
                except (SliceboxError, OSError, ValueError, AttributeError):
                    self._log.error(SCU_SUBJECT, f"Image {image_id} has no file meta information")
                    missing.append(image_id)
                    continue
            instances.append(scu.StoredInstance(image_id, sop_class, ts))
        return instances, missing

    def _file_meta(self, image_id: int) -> tuple[str, str]:
        path, temporary = self._images.local_file(image_id)
        try:
            meta = read_file_meta_info(path)
            return str(meta.MediaStorageSOPClassUID), str(meta.TransferSyntaxUID)
        finally:
            if temporary:
                path.unlink(missing_ok=True)

    # query/retrieve SCU ------------------------------------------------------------------------
    def find(self, scu_id: int, query: RemoteQuery) -> list[dict[str, str]]:
        """C-FIND the node (PS3.4 C.4.1); matches as ``{keyword: value}``.

        Raises:
            NotFound: unknown SCU.
            InvalidInput: an unknown keyword, or PATIENT level with Study Root.
            PeerUnavailable: the node cannot be reached or fails the query.
        """
        data = self.get_scu(scu_id)
        qr.check_model(query.level, query.model)
        if query.limit < 0:
            raise InvalidInput("limit must be 0 or more")
        try:
            matches = scu.find(node_of(data), query, self.settings)
        except PeerUnavailable as exc:
            self._log.warn(SCU_SUBJECT, f"C-FIND using SCU {data.name} failed: {exc}")
            raise
        self._log.info(
            SCU_SUBJECT,
            f"C-FIND at {query.level.value} level using SCU {data.name}: {len(matches)} matches",
        )
        return matches

    def retrieve(
        self,
        scu_id: int,
        request: RetrieveRequest,
        *,
        progress: Callable[[RetrieveProgress], None] | None = None,
    ) -> RetrieveResult:
        """C-MOVE or C-GET studies/series from the node into this slicebox.

        C-MOVE makes the node send to ``request.destination_ae_title`` (default: this
        slicebox's first SCP), so images arrive through that SCP (source ``scp``); the node
        must know that AE title. C-GET receives on the same association; those images get
        the source ``unknown`` named ``C-GET <SCU name>`` with the SCU's id.

        Raises:
            NotFound: unknown SCU.
            InvalidInput: no targets, an empty study UID, or no SCP to C-MOVE to.
            PeerUnavailable: the node cannot be reached, does not know the destination, or
                fails the retrieve.
        """
        data = self.get_scu(scu_id)
        if not request.targets:
            raise InvalidInput("a retrieve needs at least one study or series")
        if any(not t.study_instance_uid.strip() for t in request.targets):
            raise InvalidInput("every target needs a studyInstanceUID")
        node = node_of(data)
        received: list[int] = []
        try:
            if request.method is RetrieveMethod.MOVE:
                destination = request.destination_ae_title.strip() or self._default_destination()
                counts = scu.move(
                    node, request.targets, destination, self.settings, progress=progress
                )
            else:
                counts = scu.get(
                    node,
                    request.targets,
                    self.settings,
                    sop_classes=self._config.dicom.image_data_sop_classes,
                    transfer_syntaxes=self._config.dicom.transfer_syntaxes,
                    on_store=self._get_store_handler(data, received),
                    progress=progress,
                )
        except PeerUnavailable as exc:
            self._log.warn(
                SCU_SUBJECT, f"C-{request.method.value} using SCU {data.name} failed: {exc}"
            )
            raise
        image_ids: list[int] = []
        with self._db.read() as session:
            for target in request.targets:
                statement = qr.images_of(target.study_instance_uid, target.series_instance_uid)
                image_ids.extend(session.scalars(statement))
        result = RetrieveResult(
            counts.completed, counts.failed, counts.warning, tuple(dict.fromkeys(image_ids))
        )
        message = (
            f"C-{request.method.value} of {len(request.targets)} studies/series using SCU "
            f"{data.name}: {result.completed} completed, {result.failed} failed, "
            f"{result.warning} warnings"
        )
        if result.failed:
            self._log.warn(SCU_SUBJECT, message)
        else:
            self._log.info(SCU_SUBJECT, message)
        return result

    def _default_destination(self) -> str:
        scps = self._all_scps()
        if not scps:
            raise InvalidInput("C-MOVE needs an SCP to receive the images: create one first")
        return scps[0].ae_title.strip()

    def _get_store_handler(self, data: ScuData, received: list[int]) -> Callable[[evt.Event], int]:
        source = Source(SourceType.UNKNOWN, f"C-GET {data.name}", data.id)

        def on_store(event: evt.Event) -> int:
            try:
                result = self._images.add(
                    event.dataset_path, source=source, secondary_capture=False, max_bytes=0
                )
            except SliceboxError as exc:
                self._log.error(SCU_SUBJECT, f"Could not add file: {exc}")
                return st.store_failure_status(exc)
            except Exception as exc:
                pylog.exception("C-GET ingest failed")
                return st.store_failure_status(exc)
            received.append(result.image.id)
            return st.SUCCESS

        return on_store

    def listener_task(self) -> ListenerTask:
        """The listeners as a background task of the worker (``Slicebox.background_tasks``)."""
        return ListenerTask(self)

    # listeners -----------------------------------------------------------------------------------
    @property
    def listening(self) -> bool:
        """True in the process that runs the listeners."""
        return self._listening

    def start_listeners(self, *, poll_interval: float = 2.0) -> None:
        """Start a listener per SCP and keep them in step with the ``ScpData`` table.

        Call it in exactly one process (the worker). Ports that cannot be bound are logged
        (once) and retried every ``poll_interval`` seconds.
        """
        with self._lock:
            if self._listening:
                return
            self._listening = True
            self._stop.clear()
        self.reconcile()
        if poll_interval > 0:
            self._poller = threading.Thread(
                target=self._poll, args=(poll_interval,), name="slicebox-scp-poller", daemon=True
            )
            self._poller.start()

    def stop_listeners(self) -> None:
        """Stop every listener (running associations are aborted)."""
        with self._lock:
            self._listening = False
            self._stop.set()
            poller, self._poller = self._poller, None
        if poller is not None:
            poller.join(timeout=10)
        with self._lock:
            for scp_id in list(self._listeners):
                self._stop_listener(scp_id)

    def listener_port(self, scp_id: int) -> int | None:
        """The port a running listener is bound to, or None."""
        with self._lock:
            listener = self._listeners.get(scp_id)
            return listener.port if listener is not None else None

    def _poll(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.reconcile()
            except Exception:  # e.g. the database is briefly unreachable
                pylog.exception("SCP reconciliation failed")

    def reconcile(self) -> None:
        """Start listeners of new SCPs and stop those of deleted or changed ones."""
        desired = {s.id: s for s in self._all_scps()}
        with self._lock:
            if not self._listening:
                return
            for scp_id, listener in list(self._listeners.items()):
                if desired.get(scp_id) != listener.scp:
                    self._stop_listener(scp_id)
            for scp_id, scp_data in desired.items():
                if scp_id not in self._listeners:
                    self._start_listener(scp_data)

    def _start_listener(self, scp_data: ScpData) -> None:
        handlers = ScpHandlers(
            scp_data,
            images=self._images,
            db=self._db,
            log=self._log,
            resolve_destination=self.scu_by_ae_title,
            move_contexts=lambda pairs: scu.storage_contexts(pairs)[: scu.MAX_CONTEXTS],
            load_dataset=self._dataset_for,
        )
        listener = Listener(
            scp_data,
            handlers,
            settings=self.settings,
            sop_classes=self._config.dicom.image_data_sop_classes,
            transfer_syntaxes=self._config.dicom.transfer_syntaxes,
        )
        try:
            listener.start()
        except OSError as exc:
            key = (scp_data.id, scp_data.port)
            if key not in self._bind_failures:
                self._bind_failures.add(key)
                self._log.error(
                    SCP_SUBJECT,
                    f"Could not start SCP {scp_data.name} on port {scp_data.port}: "
                    f"{exc.strerror or exc}",
                )
            return
        self._bind_failures.discard((scp_data.id, scp_data.port))
        self._listeners[scp_data.id] = listener
        self._log.info(
            SCP_SUBJECT,
            f"Started SCP {scp_data.name} with AE title {scp_data.ae_title} "
            f"on port {listener.port}",
        )

    def _stop_listener(self, scp_id: int) -> None:
        listener = self._listeners.pop(scp_id, None)
        if listener is None:
            return
        listener.stop()
        with contextlib.suppress(Exception):
            self._log.info(SCP_SUBJECT, f"Stopped SCP {listener.scp.name}")

    def _dataset_for(self, image_id: int, assoc: Any) -> Any:
        return scu.dataset_for_association(self._images.dataset(image_id), assoc)


class ListenerTask:
    """:class:`~slicebox_core.worker.BackgroundTask` running the SCP listeners."""

    name = "DICOM listeners"

    def __init__(self, network: NetworkService, *, poll_interval: float = 2.0) -> None:
        self._network = network
        self._poll_interval = poll_interval

    def start(self) -> None:
        self._network.start_listeners(poll_interval=self._poll_interval)

    def stop(self) -> None:
        self._network.stop_listeners()
