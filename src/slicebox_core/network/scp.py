"""DICOM listeners: verification, storage and query/retrieve SCPs (spec §5.12; PS3.4 A, B, C).

One :class:`Listener` per configured SCP runs a pynetdicom threaded server (one thread per
association, so several peers are served at once). Services:

* C-ECHO (Verification, PS3.4 A);
* C-STORE of every *image-data* SOP class (spec §5.20) in every accepted transfer syntax,
  compressed ones included and stored as received (PS3.4 B). The data is streamed by
  pynetdicom to a temporary file that already carries the File Meta Information built from
  the association (SOP class, instance, negotiated transfer syntax; PS3.10 7.1), and that file
  goes through the one ingest pipeline (source ``scp``) without being decoded here;
* C-FIND, C-MOVE and C-GET in the Patient Root and Study Root models, answered from the index
  (PS3.4 C; see :mod:`.qr`). C-MOVE destinations are the configured SCUs, by AE title.

Unlike the original (always Success, spec §5.12), a C-STORE that ingest rejects is answered
with a failure status (:mod:`.status`), so the sender knows the instance was not stored.

Time-outs: association negotiation (ACSE), DIMSE messages, and network silence on an
established association all end in an A-ABORT, so a silent peer cannot hold an association
(or a half-received instance) forever. Every association is logged once it ends, with its
outcome and what it did (spec §4.10, subject ``SCP``).

This module sets pynetdicom's process-wide options once (:func:`configure_pynetdicom`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import attrs
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, _config, evt

from ..errors import InvalidInput, SliceboxError
from ..models.index import Source, SourceType
from ..models.network import InformationModel, ScpData, ScuData
from . import qr
from . import status as st
from .identifier import identifier_to_mapping, response_identifier

if TYPE_CHECKING:
    from ..db.engine import Database
    from ..images.service import ImageService
    from ..log.service import LogService

pylog = logging.getLogger("slicebox.network")

SUBJECT = "SCP"
MiB = 1024 * 1024

FIND_MODELS = {
    qr.PATIENT_ROOT_FIND: InformationModel.PATIENT_ROOT,
    qr.STUDY_ROOT_FIND: InformationModel.STUDY_ROOT,
}
MOVE_MODELS = {
    qr.PATIENT_ROOT_MOVE: InformationModel.PATIENT_ROOT,
    qr.STUDY_ROOT_MOVE: InformationModel.STUDY_ROOT,
}
GET_MODELS = {
    qr.PATIENT_ROOT_GET: InformationModel.PATIENT_ROOT,
    qr.STUDY_ROOT_GET: InformationModel.STUDY_ROOT,
}
UNCOMPRESSED = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]
LOSSLESS = frozenset(
    {
        "1.2.840.10008.1.2.4.57",  # JPEG Lossless (Process 14)
        "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
        "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
        "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
        "1.2.840.10008.1.2.4.202",  # HTJ2K Lossless RPCL
        "1.2.840.10008.1.2.4.110",  # JPEG XL Lossless
        "1.2.840.10008.1.2.5",  # RLE Lossless
    }
)


def configure_pynetdicom() -> None:
    """Set pynetdicom's process-wide options (idempotent).

    * received C-STORE data is written to a temporary file, not decoded (the handler gets
      its path; PS3.10 file with File Meta Information);
    * stored files are sent without being decoded when the peer accepted their transfer
      syntax (callers pass a path only then);
    * identifiers are never written to pynetdicom's log: they hold patient data;
    * pynetdicom's own per-PDU/per-message event logging is off (it decodes every PDU again
      for a debug log; slicebox logs each association once, see :class:`ScpHandlers`).
    """
    _config.LOG_HANDLER_LEVEL = "none"
    _config.STORE_RECV_CHUNKED_DATASET = True
    _config.STORE_SEND_CHUNKED_DATASET = True
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False


configure_pynetdicom()


@attrs.frozen
class Timeouts:
    """Seconds before giving up (None = wait forever; not recommended).

    Attributes:
        connection: TCP connect to a remote node (SCU side).
        acse: association negotiation and release (A-ASSOCIATE, A-RELEASE; also the ARTIM
            timer of a connection on which no association request arrives, PS3.8 9.1.5).
        dimse: waiting for a DIMSE message or response (e.g. a C-STORE-RSP).
        network: silence on an established association before it is aborted, also in the
            middle of a transfer.
    """

    connection: float | None = 10.0
    acse: float | None = 30.0
    dimse: float | None = 60.0
    network: float | None = 60.0


@attrs.frozen
class NetworkSettings:
    """How listeners and associations are run.

    Attributes:
        bind_host: interface listeners bind to ("0.0.0.0" = all, as the original).
        timeouts: see :class:`Timeouts`.
        max_associations: concurrent associations per listener; more are rejected
            (A-ASSOCIATE-RJ, transient, local limit exceeded; PS3.8 9.3.4).
        max_pdu: largest P-DATA PDU slicebox receives (bigger = fewer fragments).
        calling_ae_title: the AE title slicebox uses when it opens associations to SCUs
            (spec §5.13: ``SLICEBOX-SCU``).
    """

    bind_host: str = "0.0.0.0"
    timeouts: Timeouts = Timeouts()
    max_associations: int = 32
    max_pdu: int = 4 * MiB
    calling_ae_title: str = "SLICEBOX-SCU"


def set_tcp_nodelay(event: evt.Event) -> None:
    """EVT_CONN_OPEN handler of every association slicebox runs (both directions).

    * disables Nagle on the socket: DIMSE is request/response with small command PDUs, and
      Nagle with delayed ACKs can stall each exchange by ~40 ms;
    * closes a race in pynetdicom 3.0's association reactor (:func:`guard_reactor`).
    """
    sock = getattr(getattr(event.assoc.dul, "socket", None), "socket", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    guard_reactor(event.assoc)


def guard_reactor(assoc: Any) -> None:
    """Keep the reactor from taking a response a ``send_*`` call waits for.

    pynetdicom's reactor thread takes DIMSE messages off the queue unless a ``send_*`` call
    has paused it; the pause handshake can be passed while the reactor is already past its
    checkpoint, and a fast peer's C-STORE/C-FIND response is then taken by the reactor as an
    "unexpected service message" while the sender waits for it until the DIMSE time-out
    (seen with Orthanc answering in well under a millisecond). Only the reactor reads the
    queue without blocking, so a non-blocking read while the checkpoint is cleared (a send
    in progress) is refused; the reactor simply looks again on its next turn.
    """
    dimse = assoc.dimse
    checkpoint = getattr(assoc, "_reactor_checkpoint", None)
    if checkpoint is None or getattr(dimse, "_slicebox_guarded", False):
        return
    read = dimse.get_msg

    def get_msg(block: bool = False) -> Any:
        if not block and not checkpoint.is_set():
            return None, None
        return read(block=block)

    dimse.get_msg = get_msg
    dimse._slicebox_guarded = True


def configure_ae(ae: AE, settings: NetworkSettings) -> None:
    """Apply time-outs and limits to an AE (listener or requestor)."""
    t = settings.timeouts
    ae.connection_timeout = t.connection
    ae.acse_timeout = t.acse
    ae.dimse_timeout = t.dimse
    ae.network_timeout = t.network
    ae.maximum_associations = settings.max_associations
    ae.maximum_pdu_size = settings.max_pdu


def peer_name(assoc: Any) -> str:
    """``CALLING@host:port`` of the requestor (AE titles are not patient data)."""
    requestor = assoc.requestor
    return f"{str(requestor.ae_title).strip() or '?'}@{requestor.address}:{requestor.port}"


@attrs.define
class AssociationRecord:
    """What one association did, logged when its connection closes."""

    peer: str
    outcome: str = "connected"
    echoes: int = 0
    stored: int = 0
    rejected: int = 0
    finds: int = 0
    matches: int = 0
    retrieves: int = 0
    sent: int = 0
    send_failures: int = 0

    def summary(self) -> str:
        parts = []
        if self.echoes:
            parts.append(f"{self.echoes} C-ECHO")
        if self.stored or self.rejected:
            parts.append(f"{self.stored} stored, {self.rejected} rejected")
        if self.finds:
            parts.append(f"{self.finds} C-FIND ({self.matches} matches)")
        if self.retrieves:
            parts.append(
                f"{self.retrieves} C-MOVE/C-GET ({self.sent} sent, {self.send_failures} failed)"
            )
        return ", ".join(parts) or "nothing done"

    @property
    def failed(self) -> bool:
        return self.outcome != "released" or bool(self.rejected or self.send_failures)


class ScpHandlers:
    """The pynetdicom event handlers of one SCP (one instance per listener).

    Args:
        scp: the SCP served.
        images: ingest and stored files.
        db: the index, for Q/R.
        log: the system log.
        resolve_destination: AE title -> SCU, for C-MOVE destinations.
        move_contexts: ``(SOP class, transfer syntax)`` pairs -> presentation contexts of a
            C-MOVE sub-association.
        load_dataset: (image id, association) -> the stored instance in a transfer syntax
            the association accepted, or None (C-MOVE/C-GET sub-operations).
        max_matches: C-FIND matches answered at most per request (0 = all).
    """

    def __init__(
        self,
        scp: ScpData,
        *,
        images: ImageService,
        db: Database,
        log: LogService,
        resolve_destination: Callable[[str], ScuData | None],
        move_contexts: Callable[[list[tuple[str, str]]], list[Any]],
        load_dataset: Callable[[int, Any], Dataset | None],
        max_matches: int = 0,
    ) -> None:
        self.scp = scp
        self._images = images
        self._db = db
        self._log = log
        self._resolve_destination = resolve_destination
        self._move_contexts = move_contexts
        self._load_dataset = load_dataset
        self._max_matches = max_matches
        self._source = Source(SourceType.SCP, scp.name, scp.id)
        self._records: weakref.WeakKeyDictionary[Any, AssociationRecord] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def bindings(self) -> list[Any]:
        return [
            (evt.EVT_CONN_OPEN, self._on_conn_open),
            (evt.EVT_ACCEPTED, self._on_outcome("accepted")),
            (evt.EVT_REJECTED, self._on_outcome("rejected")),
            (evt.EVT_RELEASED, self._on_outcome("released")),
            (evt.EVT_ABORTED, self._on_outcome("aborted")),
            (evt.EVT_CONN_CLOSE, self._on_conn_close),
            (evt.EVT_C_ECHO, self._on_c_echo),
            (evt.EVT_C_STORE, self._on_c_store),
            (evt.EVT_C_FIND, self._on_c_find),
            (evt.EVT_C_MOVE, self._on_c_move),
            (evt.EVT_C_GET, self._on_c_get),
        ]

    # association bookkeeping ------------------------------------------------------------
    def _record(self, assoc: Any) -> AssociationRecord:
        with self._lock:
            record = self._records.get(assoc)
            if record is None:
                record = self._records[assoc] = AssociationRecord(peer_name(assoc))
            return record

    def _on_conn_open(self, event: evt.Event) -> None:
        set_tcp_nodelay(event)
        self._record(event.assoc)

    def _on_outcome(self, outcome: str) -> Callable[[evt.Event], None]:
        def handler(event: evt.Event) -> None:
            record = self._record(event.assoc)
            if outcome == "accepted":
                record.peer = peer_name(event.assoc)  # the calling AE is known now
            if record.outcome in ("connected", "accepted"):
                record.outcome = outcome

        return handler

    def _on_conn_close(self, event: evt.Event) -> None:
        _discard_partial_dataset(event.assoc)
        with self._lock:
            record = self._records.pop(event.assoc, None)
        if record is None:
            return
        if record.outcome in ("connected", "accepted"):
            record.outcome = "closed by peer" if record.outcome == "accepted" else "no request"
        message = (
            f"Association from {record.peer} to SCP {self.scp.name}: "
            f"{record.outcome}; {record.summary()}"
        )
        try:
            if record.failed:
                self._log.warn(SUBJECT, message)
            else:
                self._log.info(SUBJECT, message)
        except Exception:  # the log must never break the listener
            pylog.exception("could not write the association log entry")

    # C-ECHO (PS3.4 A.4) -----------------------------------------------------------------------
    def _on_c_echo(self, event: evt.Event) -> int:
        self._record(event.assoc).echoes += 1
        return st.SUCCESS

    # C-STORE (PS3.4 B.2.2; spec §5.12) ----------------------------------------------------------
    def _on_c_store(self, event: evt.Event) -> int:
        record = self._record(event.assoc)
        try:
            self._images.add(
                event.dataset_path, source=self._source, secondary_capture=False, max_bytes=0
            )
        except SliceboxError as exc:
            record.rejected += 1
            self._log_store_failure(str(exc))
            return st.store_failure_status(exc)
        except Exception as exc:
            record.rejected += 1
            pylog.exception("C-STORE ingest failed")
            self._log_store_failure(type(exc).__name__)
            return st.store_failure_status(exc)
        record.stored += 1
        return st.SUCCESS

    def _log_store_failure(self, reason: str) -> None:
        try:
            self._log.error(SUBJECT, f"Could not add file: {reason}")
        except Exception:
            pylog.exception("could not write the log entry")

    # C-FIND (PS3.4 C.4.1) -------------------------------------------------------------------------
    def _on_c_find(self, event: evt.Event) -> Iterator[tuple[int, Dataset | None]]:
        record = self._record(event.assoc)
        record.finds += 1
        model = FIND_MODELS.get(str(event.request.AffectedSOPClassUID))
        if model is None:
            yield st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, None
            return
        try:
            identifier = event.identifier
            level = qr.parse_level(str(identifier.get("QueryRetrieveLevel", "")))
            mapping = identifier_to_mapping(identifier)
            plan = qr.build_find(level, mapping, model=model, limit=self._max_matches)
        except (InvalidInput, ValueError, AttributeError, KeyError):
            yield st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, None
            return
        try:
            rows, modalities = self._run_find(plan)
        except Exception:
            pylog.exception("C-FIND query failed")
            yield st.UNABLE_TO_PROCESS, None
            return
        extra = {"RetrieveAETitle": self.scp.ae_title.strip()}
        for row in rows:
            if event.is_cancelled:
                yield st.CANCEL, None
                return
            values = qr.row_to_identifier(row, plan.return_keys)
            if plan.wants_modalities:
                values[qr.MODALITIES_IN_STUDY] = "\\".join(modalities.get(row["_study_id"], ()))
            record.matches += 1
            yield (
                st.PENDING,
                response_identifier(identifier, values, level=level.value, extra=extra),
            )

    def _run_find(self, plan: qr.FindPlan) -> tuple[list[Any], dict[int, list[str]]]:
        modalities: dict[int, list[str]] = {}
        with self._db.read() as session:
            rows = list(session.execute(plan.statement).mappings())
            if plan.wants_modalities and rows:
                ids = sorted({r["_study_id"] for r in rows})
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    for study_id, modality in session.execute(qr.modalities_in_studies(chunk)):
                        modalities.setdefault(study_id, []).append(modality)
        return rows, modalities

    # C-MOVE / C-GET (PS3.4 C.4.2, C.4.3) ------------------------------------------------------
    def _retrieve_rows(self, event: evt.Event, models: dict[str, InformationModel]) -> list[Any]:
        model = models.get(str(event.request.AffectedSOPClassUID))
        if model is None:
            raise InvalidInput("not a query/retrieve SOP class")
        identifier = event.identifier
        level = qr.parse_level(str(identifier.get("QueryRetrieveLevel", "")))
        statement = qr.build_retrieve(level, identifier_to_mapping(identifier), model=model)
        with self._db.read() as session:
            return list(session.execute(statement))

    def _on_c_move(self, event: evt.Event) -> Iterator[Any]:
        record = self._record(event.assoc)
        record.retrieves += 1
        # An invalid identifier raises before the first yield: pynetdicom answers with a
        # failure status in the Cxxx "unable to process" range.
        rows = self._retrieve_rows(event, MOVE_MODELS)
        destination = self._resolve_destination(str(event.move_destination).strip())
        if destination is None:
            self._log.warn(
                SUBJECT,
                f"C-MOVE from {record.peer} to unknown destination {event.move_destination}",
            )
            yield None, None  # 0xA801 Move Destination unknown
            return
        store_assoc: list[Any] = []

        def capture(ev: evt.Event) -> None:
            set_tcp_nodelay(ev)
            store_assoc.append(ev.assoc)

        pairs = sorted({(r.sopClassUID, r.transferSyntaxUID) for r in rows})
        yield (
            destination.host,
            destination.port,
            {
                "ae_title": destination.ae_title.strip(),
                "contexts": self._move_contexts(pairs),
                "evt_handlers": [(evt.EVT_CONN_OPEN, capture)],
                "max_pdu": 0,
            },
        )
        yield len(rows)
        yield from self._sub_operations(event, rows, lambda: store_assoc[0], record)

    def _on_c_get(self, event: evt.Event) -> Iterator[Any]:
        record = self._record(event.assoc)
        record.retrieves += 1
        rows = self._retrieve_rows(event, GET_MODELS)
        yield len(rows)
        yield from self._sub_operations(event, rows, lambda: event.assoc, record)

    def _sub_operations(
        self,
        event: evt.Event,
        rows: list[Any],
        association: Callable[[], Any],
        record: AssociationRecord,
    ) -> Iterator[tuple[int, Any]]:
        for row in rows:
            if event.is_cancelled:
                yield st.CANCEL, None
                return
            try:
                ds = self._load_dataset(row.id, association())
            except Exception:
                pylog.exception("could not load image %s for a retrieve", row.id)
                ds = None
            if ds is None:
                record.send_failures += 1
                # not a Dataset: pynetdicom counts a failed sub-operation (PS3.4 C.4.2.3.1)
                yield st.PENDING, "unavailable"
                continue
            record.sent += 1
            yield st.PENDING, ds


def _discard_partial_dataset(assoc: Any) -> None:
    """Remove the temporary file of a C-STORE cut off mid-transfer (abort, time-out).

    pynetdicom deletes the file after the handler ran, but a dataset whose last fragment never
    arrives is left behind in its half-decoded message.
    """
    message = getattr(getattr(assoc, "dimse", None), "message", None)
    handle = getattr(message, "_data_set_file", None)
    if handle is None:
        return
    try:
        handle.close()
        os.unlink(handle.name)
    except OSError:
        pass


def preference_order(transfer_syntaxes: tuple[str, ...]) -> list[str]:
    """Accepted syntaxes in the order a context's choice is made (PS3.8 9.3.2.2.1).

    pynetdicom takes the first of the acceptor's list that the requestor proposed. Explicit
    VR Little Endian first (what most files are, so senders need not convert), then the
    other uncompressed ones, then lossless compression, then lossy: when a sender offers a
    choice, the data is never degraded by slicebox's preference.
    """

    def rank(ts: str) -> tuple[int, int]:
        uid = UID(ts)
        if ts == ExplicitVRLittleEndian:
            group = 0
        elif not uid.is_compressed and uid.is_little_endian:
            group = 1
        elif uid.is_compressed and ts in LOSSLESS:
            group = 2
        elif uid.is_compressed:
            group = 3
        else:  # Explicit VR Big Endian (retired)
            group = 4
        return group, transfer_syntaxes.index(ts)

    return sorted(transfer_syntaxes, key=rank)


class Listener:
    """One running SCP: an AE bound to the SCP's port, serving until :meth:`stop`.

    Args:
        scp: the SCP (its trimmed AE title is the called AE title).
        handlers: its event handlers.
        settings: time-outs and limits.
        sop_classes: accepted storage SOP classes.
        transfer_syntaxes: accepted transfer syntaxes for storage.
    """

    def __init__(
        self,
        scp: ScpData,
        handlers: ScpHandlers,
        *,
        settings: NetworkSettings,
        sop_classes: tuple[str, ...],
        transfer_syntaxes: tuple[str, ...],
    ) -> None:
        self.scp = scp
        self._handlers = handlers
        self._settings = settings
        self._sop_classes = sop_classes
        self._transfer_syntaxes = transfer_syntaxes
        self._server: Any = None

    @property
    def port(self) -> int:
        """The bound port (differs from ``scp.port`` only when that is 0)."""
        if self._server is None:
            return self.scp.port
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind and serve in background threads.

        Raises:
            OSError: the port cannot be bound.
        """
        ae = AE(ae_title=self.scp.ae_title.strip())
        configure_ae(ae, self._settings)
        ae.require_called_aet = False  # answer whatever called AE the peer uses (spec §5.12)
        syntaxes = preference_order(self._transfer_syntaxes)
        for sop_class in self._sop_classes:
            # both roles: the requestor sends (C-STORE) or receives (C-GET, PS3.4 C.4.3.2.1)
            ae.add_supported_context(sop_class, syntaxes, scu_role=True, scp_role=True)
        ae.add_supported_context(qr.VERIFICATION, UNCOMPRESSED)
        for model in (*FIND_MODELS, *MOVE_MODELS, *GET_MODELS):
            ae.add_supported_context(model, UNCOMPRESSED)
        self._server = ae.start_server(
            (self._settings.bind_host, self.scp.port),
            block=False,
            evt_handlers=self._handlers.bindings(),
        )

    def stop(self) -> None:
        """Abort running associations and close the port."""
        server, self._server = self._server, None
        if server is None:
            return
        for assoc in list(server.active_associations):
            try:
                assoc.abort()
            except Exception:
                pass
        server.shutdown()
