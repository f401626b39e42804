"""Associations slicebox opens: C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET (spec §5.13; PS3.4).

Sending (spec §5.13): one association per batch of SOP classes; per SOP class each transfer
syntax of the files is proposed in a context of its own (so a peer that accepts it gets the
instance exactly as stored) plus a fallback context with Explicit and Implicit VR Little
Endian. An instance is sent from its file, undecoded, when its syntax was accepted;
otherwise it is decoded and sent in an accepted uncompressed syntax (decompressed if needed).

Every failure to reach a peer is a :class:`~slicebox_core.errors.PeerUnavailable` whose
message says why: unknown host, connection refused, no route, time-out, association rejected
or aborted, no presentation context.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, build_context, build_role, evt
from pynetdicom.presentation import PresentationContext

from ..errors import NotFound, PeerUnavailable
from ..models.network import (
    InformationModel,
    QueryRetrieveLevel,
    RemoteQuery,
    RetrieveProgress,
    RetrieveTarget,
)
from . import qr
from . import status as st
from .identifier import mapping_to_identifier, result_mapping
from .scp import NetworkSettings, configure_ae, configure_pynetdicom, set_tcp_nodelay

configure_pynetdicom()

pylog = logging.getLogger("slicebox.network")

MAX_CONTEXTS = 127  # presentation context ids are odd numbers 1..255 (PS3.8 9.3.2.2)
UNCOMPRESSED_LE = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)

FIND = {
    InformationModel.PATIENT_ROOT: qr.PATIENT_ROOT_FIND,
    InformationModel.STUDY_ROOT: qr.STUDY_ROOT_FIND,
}
MOVE = {
    InformationModel.PATIENT_ROOT: qr.PATIENT_ROOT_MOVE,
    InformationModel.STUDY_ROOT: qr.STUDY_ROOT_MOVE,
}
GET = {
    InformationModel.PATIENT_ROOT: qr.PATIENT_ROOT_GET,
    InformationModel.STUDY_ROOT: qr.STUDY_ROOT_GET,
}
VERIFICATION = qr.VERIFICATION


@attrs.frozen
class Node:
    """Where a remote node listens."""

    ae_title: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.ae_title.strip()}@{self.host}:{self.port}"


@attrs.frozen
class StoredInstance:
    """A stored image to send, with what its File Meta Information says."""

    image_id: int
    sop_class_uid: str
    transfer_syntax_uid: str


LocalFile = Callable[[int], tuple[Path, bool]]
"""image id -> (local path, is a temporary copy to remove); raises NotFound."""


@attrs.define
class SendOutcome:
    """Per-image results of a send (image ids)."""

    sent: list[int] = attrs.Factory(list)
    warnings: list[tuple[int, int]] = attrs.Factory(list)  # (image id, status)
    failures: list[tuple[int, str]] = attrs.Factory(list)  # (image id, reason)
    missing: list[int] = attrs.Factory(list)  # files gone before they could be sent


@attrs.define
class SubOperations:
    """C-MOVE/C-GET sub-operation counts (PS3.4 C.4.2.1.6)."""

    remaining: int = 0
    completed: int = 0
    failed: int = 0
    warning: int = 0


# presentation contexts ---------------------------------------------------------------------------
def _is_compressed(ts: str) -> bool:
    return UID(ts).is_compressed


def storage_contexts(pairs: Iterable[tuple[str, str]]) -> list[PresentationContext]:
    """Contexts to send instances of ``(SOP class, transfer syntax)`` pairs (spec §5.13).

    Per SOP class: one context per distinct transfer syntax of the files (so a peer that
    supports it gets every file exactly as stored), then a fallback context with Explicit
    and Implicit VR Little Endian (for a peer that supports neither; the data is converted).
    """
    by_class: dict[str, list[str]] = {}
    for sop_class, ts in pairs:
        syntaxes = by_class.setdefault(sop_class, [])
        if ts and ts not in syntaxes:
            syntaxes.append(ts)
    contexts: list[PresentationContext] = []
    for sop_class, syntaxes in by_class.items():
        contexts.extend(build_context(sop_class, ts) for ts in syntaxes)
        contexts.append(build_context(sop_class, list(UNCOMPRESSED_LE)))
    return contexts


def batches(instances: list[StoredInstance]) -> Iterator[list[StoredInstance]]:
    """Split instances so that each batch's contexts (plus Verification) fit one association."""
    batch: list[StoredInstance] = []
    for instance in instances:
        candidate = [*batch, instance]
        pairs = [(i.sop_class_uid, i.transfer_syntax_uid) for i in candidate]
        if batch and len(storage_contexts(pairs)) + 1 > MAX_CONTEXTS:
            yield batch
            batch = [instance]
        else:
            batch = candidate
    if batch:
        yield batch


def _accepted_syntaxes(assoc: Any, sop_class: str) -> list[str]:
    return [
        str(cx.transfer_syntax[0])
        for cx in assoc.accepted_contexts
        if str(cx.abstract_syntax) == sop_class and cx.as_scu
    ]


def adapt_dataset(ds: Dataset, accepted: list[str]) -> Dataset | None:
    """``ds`` ready to be sent in one of the ``accepted`` syntaxes, or None if impossible.

    Uncompressed little endian data converts between explicit and implicit VR (pynetdicom
    re-encodes); compressed data the peer does not accept is decompressed.
    """
    ts = UID(str(ds.file_meta.TransferSyntaxUID))
    if not accepted:
        return None
    if ts in accepted:
        return ds
    plain = [UID(a) for a in accepted if not UID(a).is_compressed and UID(a).is_little_endian]
    if not plain:
        return None
    if ts.is_compressed:
        # Explicit VR Little Endian; the same instance in another encoding keeps its UID
        ds.decompress(generate_instance_uid=False)
        return ds
    if ts.is_little_endian:
        return ds
    return None


def dataset_for_association(ds: Dataset, assoc: Any) -> Dataset | None:
    """``ds`` adapted to what ``assoc`` accepted for its SOP class (C-MOVE/C-GET sub-ops)."""
    sop_class = str(ds.file_meta.get("MediaStorageSOPClassUID", "") or ds.get("SOPClassUID", ""))
    return adapt_dataset(ds, _accepted_syntaxes(assoc, sop_class))


# associations ------------------------------------------------------------------------------------
def _diagnose(node: Node, timeout: float | None) -> str:
    """Why a TCP connection to ``node`` fails (probed once more, for the message)."""
    try:
        with socket.create_connection((node.host, node.port), timeout=timeout or 10):
            pass
    except socket.gaierror:
        return f"Unknown host: {node.host}"
    except ConnectionRefusedError:
        return f"Connection refused: {node}"
    except TimeoutError:
        return f"Connection timed out: {node}"
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return f"No route to host: {node}"
        return f"Unable to connect to {node}: {exc.strerror or exc}"
    return f"Unable to associate with {node}"


def new_ae(settings: NetworkSettings) -> AE:
    ae = AE(ae_title=settings.calling_ae_title)
    configure_ae(ae, settings)
    return ae


def associate(
    ae: AE,
    node: Node,
    settings: NetworkSettings,
    *,
    contexts: list[PresentationContext] | None = None,
    ext_neg: list[Any] | None = None,
    evt_handlers: list[Any] | None = None,
) -> Any:
    """Open an association to ``node``.

    Raises:
        PeerUnavailable: unknown host, refused, unreachable, rejected or aborted.
    """
    opened: list[bool] = []

    def on_open(event: evt.Event) -> None:
        set_tcp_nodelay(event)
        opened.append(True)

    handlers = [(evt.EVT_CONN_OPEN, on_open), *(evt_handlers or [])]
    try:
        assoc = ae.associate(
            node.host,
            node.port,
            contexts=contexts,
            ae_title=node.ae_title.strip(),
            ext_neg=ext_neg,
            evt_handlers=handlers,
            max_pdu=settings.max_pdu,
        )
    except socket.gaierror:
        raise PeerUnavailable(f"Unknown host: {node.host}") from None
    except (OSError, ValueError) as exc:
        raise PeerUnavailable(f"Unable to associate with {node}: {exc}") from None
    if assoc.is_established:
        return assoc
    if assoc.is_rejected:
        raise PeerUnavailable(f"Association rejected by {node}")
    if not opened:
        raise PeerUnavailable(_diagnose(node, settings.timeouts.connection))
    if assoc.is_aborted:
        raise PeerUnavailable(f"Association aborted by {node}")
    raise PeerUnavailable(f"Unable to associate with {node}")


def _close(assoc: Any) -> None:
    try:
        if assoc.is_established:
            assoc.release()
    except Exception:
        assoc.abort()


def echo(node: Node, settings: NetworkSettings) -> None:
    """C-ECHO ``node`` (PS3.4 A). Raises PeerUnavailable."""
    ae = new_ae(settings)
    assoc = associate(ae, node, settings, contexts=[build_context(VERIFICATION)])
    try:
        rsp = assoc.send_c_echo()
    finally:
        _close(assoc)
    status = rsp.get("Status") if rsp else None
    if status != st.SUCCESS:
        raise PeerUnavailable(f"C-ECHO to {node} failed" + _status_text(status))


def _status_text(status: int | None) -> str:
    return "" if status is None else f" (status 0x{status:04X})"


# C-STORE (spec §5.13) ----------------------------------------------------------------------------
def send(
    node: Node,
    instances: list[StoredInstance],
    settings: NetworkSettings,
    *,
    local_file: LocalFile,
    progress: Callable[[int, int], None] | None = None,
) -> SendOutcome:
    """C-STORE ``instances`` to ``node``, sequentially, on as few associations as possible.

    Files are fetched one at a time (``local_file``; a temporary copy from remote storage is
    removed once sent). Per-instance failures (refusals, no context) are collected in the
    outcome; a lost association fails the rest.

    Raises:
        PeerUnavailable: the first association could not be opened.
    """
    outcome = SendOutcome()
    done = 0
    if not instances:  # as the original: the node is contacted even for nothing to send
        _close(associate(new_ae(settings), node, settings, contexts=[build_context(VERIFICATION)]))
    for batch in batches(instances):
        pairs = [(i.sop_class_uid, i.transfer_syntax_uid) for i in batch]
        contexts = [build_context(VERIFICATION), *storage_contexts(pairs)]
        ae = new_ae(settings)
        assoc = associate(ae, node, settings, contexts=contexts)
        try:
            for instance in batch:
                if not assoc.is_established:
                    outcome.failures.append((instance.image_id, "association lost"))
                    continue
                try:
                    path, temporary = local_file(instance.image_id)
                except NotFound:
                    outcome.missing.append(instance.image_id)
                    continue
                try:
                    _store_one(assoc, instance, path, outcome)
                finally:
                    if temporary:
                        path.unlink(missing_ok=True)
                done += 1
                if progress is not None:
                    progress(done, len(instances))
        finally:
            _close(assoc)
    return outcome


def _store_one(assoc: Any, instance: StoredInstance, path: Path, outcome: SendOutcome) -> None:
    accepted = _accepted_syntaxes(assoc, instance.sop_class_uid)
    if not accepted:
        outcome.failures.append((instance.image_id, "no presentation context"))
        return
    try:
        if instance.transfer_syntax_uid in accepted:
            rsp = assoc.send_c_store(path)  # streamed from the file, undecoded
        else:
            ds = adapt_dataset(dcmread(path), accepted)
            if ds is None:
                outcome.failures.append((instance.image_id, "no presentation context"))
                return
            rsp = assoc.send_c_store(ds)
    except Exception as exc:  # pydicom/pynetdicom encoding and decompression errors
        outcome.failures.append((instance.image_id, f"{type(exc).__name__}: {exc}"[:200]))
        return
    status = rsp.get("Status") if rsp else None
    if status is None:
        outcome.failures.append((instance.image_id, "no response (time-out or abort)"))
    elif status == st.SUCCESS:
        outcome.sent.append(instance.image_id)
    elif st.is_success_or_warning(status):
        outcome.sent.append(instance.image_id)
        outcome.warnings.append((instance.image_id, status))
    else:
        outcome.failures.append((instance.image_id, f"status 0x{status:04X}"))


# C-FIND (PS3.4 C.4.1) ----------------------------------------------------------------------------
def find(node: Node, query: RemoteQuery, settings: NetworkSettings) -> list[dict[str, str]]:
    """C-FIND ``node``; the matches as ``{keyword: value}`` (C-CANCEL after ``query.limit``).

    Raises:
        InvalidInput: an unknown keyword in the query.
        PeerUnavailable: the node cannot be reached, or answers with a failure status.
    """
    model = FIND[query.model]
    identifier = mapping_to_identifier(query.level.value, query.attributes)
    ae = new_ae(settings)
    assoc = associate(ae, node, settings, contexts=[build_context(model, list(UNCOMPRESSED_LE))])
    matches: list[dict[str, str]] = []
    cancelled = False
    try:
        for status_ds, found in assoc.send_c_find(identifier, model):
            status = status_ds.get("Status") if status_ds else None
            if status is None:
                raise PeerUnavailable(f"C-FIND to {node} got no response (time-out or abort)")
            if status in (st.PENDING, 0xFF01):
                if found is not None and not cancelled:
                    matches.append(result_mapping(found))
                if query.limit and len(matches) >= query.limit and not cancelled:
                    assoc.send_c_cancel(1, query_model=model)
                    cancelled = True
            elif status in (st.SUCCESS, st.CANCEL):
                break
            else:
                raise PeerUnavailable(f"C-FIND to {node} failed" + _status_text(status))
    finally:
        _close(assoc)
    return matches


# C-MOVE / C-GET (PS3.4 C.4.2, C.4.3) --------------------------------------------------------------
def retrieve_identifier(target: RetrieveTarget) -> Dataset:
    """The Study Root identifier of a study or series retrieve (PS3.4 C.4.2.2.1)."""
    if target.series_instance_uid:
        return mapping_to_identifier(
            QueryRetrieveLevel.SERIES.value,
            {
                "StudyInstanceUID": target.study_instance_uid,
                "SeriesInstanceUID": target.series_instance_uid,
            },
        )
    return mapping_to_identifier(
        QueryRetrieveLevel.STUDY.value, {"StudyInstanceUID": target.study_instance_uid}
    )


def _counts(status_ds: Dataset, counts: SubOperations) -> None:
    for attr, name in (
        ("remaining", "NumberOfRemainingSuboperations"),
        ("completed", "NumberOfCompletedSuboperations"),
        ("failed", "NumberOfFailedSuboperations"),
        ("warning", "NumberOfWarningSuboperations"),
    ):
        value = status_ds.get(name)
        if value is not None:
            setattr(counts, attr, int(value))


def _run_retrieve(
    node: Node,
    responses: Callable[[RetrieveTarget], Iterator[tuple[Dataset, Any]]],
    targets: tuple[RetrieveTarget, ...],
    progress: Callable[[RetrieveProgress], None] | None,
    what: str,
) -> SubOperations:
    total = SubOperations()
    if progress is not None:  # associated: the retrieve has started
        progress(RetrieveProgress(0, len(targets), 0, 0, 0, 0))
    for index, target in enumerate(targets):
        counts = SubOperations()
        final: int | None = None
        for status_ds, _ in responses(target):
            status = status_ds.get("Status") if status_ds else None
            if status is None:
                raise PeerUnavailable(f"{what} from {node} got no response (time-out or abort)")
            _counts(status_ds, counts)
            if status == st.PENDING:
                if progress is not None:
                    progress(
                        RetrieveProgress(
                            index,
                            len(targets),
                            counts.remaining,
                            total.completed + counts.completed,
                            total.failed + counts.failed,
                            total.warning + counts.warning,
                        )
                    )
                continue
            final = status
        if final == st.MOVE_DESTINATION_UNKNOWN:
            raise PeerUnavailable(f"{node} does not know the C-MOVE destination")
        if (
            final is not None
            and final not in (st.SUCCESS, st.CANCEL)
            and not (0xB000 <= final <= 0xBFFF)
            and not (counts.completed or counts.failed)
        ):
            raise PeerUnavailable(f"{what} from {node} failed" + _status_text(final))
        total.completed += counts.completed
        total.failed += counts.failed
        total.warning += counts.warning
        if progress is not None:
            progress(
                RetrieveProgress(
                    index + 1, len(targets), 0, total.completed, total.failed, total.warning
                )
            )
    return total


def move(
    node: Node,
    targets: tuple[RetrieveTarget, ...],
    destination_ae_title: str,
    settings: NetworkSettings,
    *,
    progress: Callable[[RetrieveProgress], None] | None = None,
) -> SubOperations:
    """C-MOVE studies/series from ``node`` to ``destination_ae_title`` (Study Root).

    Raises:
        PeerUnavailable: the node cannot be reached, does not know the destination, or fails.
    """
    model = MOVE[InformationModel.STUDY_ROOT]
    ae = new_ae(settings)
    assoc = associate(ae, node, settings, contexts=[build_context(model, list(UNCOMPRESSED_LE))])
    try:
        return _run_retrieve(
            node,
            lambda t: assoc.send_c_move(retrieve_identifier(t), destination_ae_title, model),
            targets,
            progress,
            "C-MOVE",
        )
    finally:
        _close(assoc)


def get(
    node: Node,
    targets: tuple[RetrieveTarget, ...],
    settings: NetworkSettings,
    *,
    sop_classes: tuple[str, ...],
    transfer_syntaxes: tuple[str, ...],
    on_store: Callable[[evt.Event], int],
    progress: Callable[[RetrieveProgress], None] | None = None,
) -> SubOperations:
    """C-GET studies/series from ``node``; ``on_store`` ingests each instance (Study Root).

    Storage contexts are proposed with the SCP role (PS3.4 C.4.3.2.1, role selection
    PS3.7 D.3.3.4) for every ``sop_classes`` entry: one uncompressed context and, when
    ``transfer_syntaxes`` has compressed ones and there is room, one compressed context.

    Raises:
        PeerUnavailable: the node cannot be reached or fails.
    """
    model = GET[InformationModel.STUDY_ROOT]
    compressed = [ts for ts in transfer_syntaxes if _is_compressed(ts)]
    contexts = [build_context(model, list(UNCOMPRESSED_LE))]
    for sop_class in sop_classes:
        contexts.append(build_context(sop_class, list(UNCOMPRESSED_LE)))
    for sop_class in sop_classes:
        if compressed and len(contexts) < MAX_CONTEXTS:
            contexts.append(build_context(sop_class, compressed))
    roles = [build_role(sop_class, scp_role=True) for sop_class in sop_classes]
    ae = new_ae(settings)
    assoc = associate(
        ae,
        node,
        settings,
        contexts=contexts[:MAX_CONTEXTS],
        ext_neg=roles,
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    try:
        return _run_retrieve(
            node,
            lambda t: assoc.send_c_get(retrieve_identifier(t), model),
            targets,
            progress,
            "C-GET",
        )
    finally:
        _close(assoc)
