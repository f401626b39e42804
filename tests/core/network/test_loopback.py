"""Slicebox's SCPs and SCUs against each other and against raw pynetdicom peers (loopback).

Bad peers: only unsupported contexts, a malformed data set, a silent peer, a peer that stops
in the middle of a transfer. Each must be rejected or aborted cleanly, store nothing, and
leave the SCP accepting.
"""

from __future__ import annotations

import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless, RTPlanStorage
from pynetdicom import AE
from pynetdicom.dimse_messages import C_STORE_RQ
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.sop_class import CTImageStorage, Verification

from slicebox_core import PeerUnavailable, Slicebox
from slicebox_core.events import ImagesSent
from slicebox_core.models import Destination
from slicebox_core.models.network import (
    InformationModel,
    QueryRetrieveLevel,
    RemoteQuery,
    RetrieveMethod,
    RetrieveProgress,
    RetrieveRequest,
    RetrieveTarget,
)
from slicebox_core.network import NetworkService
from tests.factories import dicom_bytes, make_dataset, to_bytes

from .conftest import free_port, network_for
from .helpers import image_count, mixed_datasets, pixel_digest, stored_digests, wait_for


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[tuple[Slicebox, NetworkService, int]]:
    """A second slicebox ("the PACS") with a listening SCP ``REMOTE``: (sb, network, port)."""
    sb = Slicebox.open(tmp_path / "remote")
    net = network_for(sb)
    port = free_port()
    net.create_scp("remote", "REMOTE", port)
    net.start_listeners(poll_interval=0)
    try:
        yield sb, net, port
    finally:
        net.stop_listeners()
        sb.close()


def raw_ae(*contexts: str) -> AE:
    ae = AE(ae_title="RAWSCU")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    for sop_class in contexts:
        ae.add_requested_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    return ae


def test_send_mixed_syntaxes_stored_as_received(
    sb_sqlite: Slicebox,
    listening: tuple[NetworkService, int],
    remote: tuple[Slicebox, NetworkService, int],
) -> None:
    net, _ = listening
    sb = sb_sqlite.images  # the sender's images
    remote_sb, _, remote_port = remote
    datasets = mixed_datasets(8)
    ids = [sb.add(to_bytes(ds)).image.id for ds in datasets]
    scu = net.create_scu("remote", "REMOTE", "127.0.0.1", remote_port)
    net.echo(scu.id)
    progress: list[tuple[int, int]] = []
    net.send(scu.id, ids, progress=lambda done, total: progress.append((done, total)))
    assert progress[-1] == (8, 8)
    assert stored_digests(remote_sb) == dict(pixel_digest(ds) for ds in datasets)
    # stored as received: the RLE instances are still RLE on the remote
    syntaxes = {
        str(remote_sb.images.dataset(i, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        for i in range(1, 9)
    }
    assert RLELossless in syntaxes
    wait_for(
        lambda: any(
            "SLICEBOX-SCU@" in e.message and "8 stored, 0 rejected" in e.message
            for e in remote_sb.log.list(subject="SCP", count=50)
        )
    )


def test_send_decompresses_for_a_peer_without_the_syntax(
    sb_sqlite: Slicebox, listening: tuple[NetworkService, int], tmp_path: Path
) -> None:
    net, _ = listening
    ds = make_dataset(rows=32, columns=32)
    ds.compress(RLELossless)
    image_id = sb_sqlite.images.add(to_bytes(ds)).image.id
    received: list[str] = []

    def on_store(event: object) -> int:
        received.append(str(event.dataset_path))  # type: ignore[attr-defined]
        received.append(
            str(event.request.AffectedSOPInstanceUID)  # type: ignore[attr-defined]
        )
        return 0

    from pynetdicom import evt

    ae = AE(ae_title="PLAIN")
    ae.add_supported_context(CTImageStorage, [ExplicitVRLittleEndian])
    ae.add_supported_context(Verification)
    port = free_port()
    server = ae.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)]
    )
    try:
        scu = net.create_scu("plain", "PLAIN", "127.0.0.1", port)
        net.send(scu.id, [image_id])
    finally:
        server.shutdown()
    assert received[1] == str(ds.SOPInstanceUID)


def test_send_skips_images_whose_file_is_gone(
    sb_sqlite: Slicebox,
    listening: tuple[NetworkService, int],
    remote: tuple[Slicebox, NetworkService, int],
) -> None:
    net, _ = listening
    remote_sb, _, remote_port = remote
    kept = sb_sqlite.images.add(dicom_bytes()).image.id
    gone = sb_sqlite.images.add(dicom_bytes()).image.id
    sb_sqlite.storage.delete(sb_sqlite.images.storage_key(gone))
    scu = net.create_scu("remote", "REMOTE", "127.0.0.1", remote_port)
    sent: list[ImagesSent] = []
    sb_sqlite.events.subscribe(ImagesSent, sent.append)
    net.send(scu.id, [kept, gone, 12345])
    assert image_count(remote_sb) == 1
    # spec §5.13: ImagesSent names every requested image
    assert sent == [ImagesSent(Destination("scu", "remote", scu.id), (kept, gone, 12345))]
    messages = log_messages(sb_sqlite)
    assert "2 images not found when sending using SCU remote" in messages
    assert "Finished sending 1 images using SCU remote" in messages


def test_send_to_a_peer_refusing_the_sop_class(
    sb_sqlite: Slicebox, net: NetworkService, tmp_path: Path
) -> None:
    ae = AE(ae_title="ECHOONLY")
    ae.add_supported_context(Verification)
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False)
    try:
        image_id = sb_sqlite.images.add(dicom_bytes()).image.id
        scu = net.create_scu("echo-only", "ECHOONLY", "127.0.0.1", port)
        with pytest.raises(PeerUnavailable, match="no presentation context"):
            net.send(scu.id, [image_id])
    finally:
        server.shutdown()


def test_malformed_data_set_gets_a_failure_status(
    sb_sqlite: Slicebox, listening: tuple[NetworkService, int]
) -> None:
    _, port = listening
    ae = raw_ae(CTImageStorage)
    assoc = ae.associate("127.0.0.1", port, ae_title="SLICEBOX")
    assert assoc.is_established
    good = make_dataset()
    no_study = make_dataset()
    del no_study.StudyInstanceUID
    with tempfile.TemporaryDirectory() as tmp:
        truncated = Path(tmp) / "truncated.dcm"
        truncated.write_bytes(to_bytes(make_dataset(rows=64, columns=64))[:-3000])
        missing = Path(tmp) / "missing.dcm"
        missing.write_bytes(to_bytes(no_study))
        statuses = [assoc.send_c_store(p).Status for p in (truncated, missing)]
    statuses.append(assoc.send_c_store(good).Status)
    assoc.release()
    assert statuses == [0xC000, 0xC000, 0x0000]
    assert image_count(sb_sqlite) == 1
    assert sum("Could not add file" in m for m in log_messages(sb_sqlite)) == 2
    wait_for(lambda: any("1 stored, 2 rejected" in m for m in log_messages(sb_sqlite)))


def log_messages(sb: Slicebox) -> list[str]:
    return [e.message for e in sb.log.list(count=100)]


def test_only_unsupported_contexts(
    sb_sqlite: Slicebox, listening: tuple[NetworkService, int]
) -> None:
    _, port = listening
    assoc = raw_ae(RTPlanStorage).associate("127.0.0.1", port, ae_title="SLICEBOX")
    # PS3.8 9.3.3.2: accepted with every presentation context rejected
    assert not assoc.accepted_contexts
    assoc.release()
    ok = raw_ae(CTImageStorage).associate("127.0.0.1", port, ae_title="SLICEBOX")
    assert ok.send_c_store(make_dataset()).Status == 0
    ok.release()
    assert image_count(sb_sqlite) == 1


def test_silent_peer_is_aborted(sb_sqlite: Slicebox, listening: tuple[NetworkService, int]) -> None:
    _, port = listening
    # associated, then silent: the network time-out aborts the association
    ae = raw_ae(Verification)
    ae.network_timeout = 30
    assoc = ae.associate("127.0.0.1", port, ae_title="SLICEBOX")
    assert assoc.is_established
    # meanwhile, no A-ASSOCIATE-RQ at all: the ARTIM/ACSE timer closes the connection
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        start = time.monotonic()
        assert raw.recv(1) == b""
        assert time.monotonic() - start < 8
    wait_for(lambda: assoc.is_aborted, timeout=8)
    wait_for(lambda: any("RAWSCU" in m and "aborted" in m for m in log_messages(sb_sqlite)))
    assert raw_ae(Verification).associate("127.0.0.1", port).send_c_echo().Status == 0


def _pdata_pdus(ds_bytes: bytes, sop_uid: str, context_id: int, max_pdu: int) -> list[bytes]:
    """P-DATA-TF PDUs (PS3.8 9.3.5) of a C-STORE-RQ carrying ``ds_bytes``."""
    import io

    req = C_STORE()
    req.MessageID = 7
    req.AffectedSOPClassUID = CTImageStorage
    req.AffectedSOPInstanceUID = sop_uid
    req.Priority = 2
    req.DataSet = io.BytesIO(ds_bytes)
    msg = C_STORE_RQ()
    msg.primitive_to_message(req)
    pdus = []
    for primitive in msg.encode_msg(context_id, max_pdu):
        items = b"".join(
            struct.pack(">IB", len(data) + 1, cx) + data
            for cx, data in primitive.presentation_data_value_list
        )
        pdus.append(struct.pack(">BBI", 0x04, 0x00, len(items)) + items)
    return pdus


def test_peer_stopping_mid_transfer_leaves_nothing(
    sb_sqlite: Slicebox,
    listening: tuple[NetworkService, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, port = listening
    spool = tmp_path / "pynetdicom-tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))  # where pynetdicom spools C-STOREs
    ds = make_dataset(rows=256, columns=256)
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, False
    write_dataset(buf, ds)
    ae = raw_ae()
    ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian])
    assoc = ae.associate("127.0.0.1", port, ae_title="SLICEBOX", max_pdu=16384)
    assert assoc.is_established
    context_id = assoc.accepted_contexts[0].context_id
    pdus = _pdata_pdus(buf.getvalue(), ds.SOPInstanceUID, context_id, 16382)
    sock = assoc.dul.socket.socket
    assoc.dul._kill_thread = True  # take over the socket from pynetdicom's reactor
    time.sleep(0.1)
    for pdu in pdus[: len(pdus) // 2]:
        sock.sendall(pdu)
    wait_for(lambda: any(spool.iterdir()))  # the SCP is receiving into a temporary file
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    wait_for(lambda: not any(spool.iterdir()))  # ... removed once the connection is gone
    wait_for(lambda: any("RAWSCU" in m and "0 stored" not in m for m in log_messages(sb_sqlite)))
    assert image_count(sb_sqlite) == 0
    ok = raw_ae(CTImageStorage).associate("127.0.0.1", port)
    assert ok.send_c_store(make_dataset()).Status == 0
    ok.release()
    assert image_count(sb_sqlite) == 1


def test_concurrent_associations(
    sb_sqlite: Slicebox, listening: tuple[NetworkService, int]
) -> None:
    _, port = listening
    datasets = [mixed_datasets(5, patient_id=f"P{i}") for i in range(4)]
    statuses: list[int] = []

    def push(batch: list) -> None:
        ae = raw_ae(CTImageStorage)
        ae.requested_contexts = []
        ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian, "1.2.840.10008.1.2"])
        ae.add_requested_context(CTImageStorage, ["1.2.840.10008.1.2.1.99"])
        ae.add_requested_context(CTImageStorage, [RLELossless])
        assoc = ae.associate("127.0.0.1", port)
        for ds in batch:
            statuses.append(assoc.send_c_store(ds).Status)
        assoc.release()

    threads = [threading.Thread(target=push, args=(b,)) for b in datasets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [0] * 20
    assert image_count(sb_sqlite) == 20


def test_find_move_get_against_a_slicebox_scp(
    sb_sqlite: Slicebox,
    listening: tuple[NetworkService, int],
    remote: tuple[Slicebox, NetworkService, int],
) -> None:
    net, local_port = listening
    remote_sb, remote_net, remote_port = remote
    study = mixed_datasets(6, patient_name="Doe^Jane", patient_id="PQR")
    other = mixed_datasets(2, patient_name="Roe^Rick", patient_id="XYZ")
    for ds in study + other:
        remote_sb.images.add(to_bytes(ds))
    study_uid = str(study[0].StudyInstanceUID)
    pacs = net.create_scu("pacs", "REMOTE", "127.0.0.1", remote_port)

    patients = net.find(
        pacs.id,
        RemoteQuery(
            QueryRetrieveLevel.PATIENT,
            {"PatientName": "doe*", "PatientID": ""},
            InformationModel.PATIENT_ROOT,
        ),
    )
    assert patients == [
        {"QueryRetrieveLevel": "PATIENT", "PatientName": "Doe^Jane", "PatientID": "PQR"}
    ]
    studies = net.find(
        pacs.id,
        RemoteQuery(
            attributes={
                "StudyInstanceUID": "",
                "NumberOfStudyRelatedInstances": "",
                "RetrieveAETitle": "",
                "StudyTime": "",
            }
        ),
    )
    assert [(s["StudyInstanceUID"], s["NumberOfStudyRelatedInstances"]) for s in studies] == [
        (study_uid, "6"),
        (str(other[0].StudyInstanceUID), "2"),
    ]
    assert studies[0]["RetrieveAETitle"] == "REMOTE" and studies[0]["StudyTime"] == ""
    series = net.find(
        pacs.id,
        RemoteQuery(QueryRetrieveLevel.SERIES, {"StudyInstanceUID": study_uid, "Modality": ""}),
    )
    assert [s["SeriesInstanceUID"] for s in series] == [str(study[0].SeriesInstanceUID)]
    images = net.find(
        pacs.id,
        RemoteQuery(
            QueryRetrieveLevel.IMAGE,
            {"StudyInstanceUID": study_uid, "SeriesInstanceUID": "", "SOPInstanceUID": ""},
            limit=4,
        ),
    )
    assert len(images) == 4  # C-CANCEL after the limit

    # C-MOVE: the remote must know this slicebox's SCP as a destination
    remote_net.create_scu("back", "SLICEBOX", "127.0.0.1", local_port)
    progress: list[RetrieveProgress] = []
    result = net.retrieve(
        pacs.id, RetrieveRequest((RetrieveTarget(study_uid),)), progress=progress.append
    )
    assert (result.completed, result.failed, result.warning) == (6, 0, 0)
    assert len(result.image_ids) == 6
    assert progress[-1].targets_done == 1 and progress[-1].completed == 6
    assert stored_digests(sb_sqlite) == dict(pixel_digest(ds) for ds in study)

    # C-GET of one series of the other study
    series_uid = str(other[0].SeriesInstanceUID)
    result = net.retrieve(
        pacs.id,
        RetrieveRequest(
            (RetrieveTarget(str(other[0].StudyInstanceUID), series_uid),),
            method=RetrieveMethod.GET,
        ),
    )
    assert (result.completed, result.failed) == (2, 0)
    assert len(result.image_ids) == 2
    assert stored_digests(sb_sqlite) == dict(pixel_digest(ds) for ds in study + other)
    wait_for(
        lambda: any(
            "C-MOVE/C-GET (6 sent, 0 failed)" in e.message
            for e in remote_sb.log.list(subject="SCP", count=50)
        )
    )


def test_move_to_an_unknown_destination(
    listening: tuple[NetworkService, int], remote: tuple[Slicebox, NetworkService, int]
) -> None:
    net, _ = listening
    remote_sb, _, remote_port = remote
    ds = make_dataset()
    remote_sb.images.add(to_bytes(ds))
    pacs = net.create_scu("pacs", "REMOTE", "127.0.0.1", remote_port)
    with pytest.raises(PeerUnavailable, match="does not know the C-MOVE destination"):
        net.retrieve(pacs.id, RetrieveRequest((RetrieveTarget(str(ds.StudyInstanceUID)),)))


def test_listeners_follow_the_table(sb_sqlite: Slicebox, net: NetworkService) -> None:
    port = free_port()
    net.start_listeners(poll_interval=0.2)
    # another process (an HTTP worker) adds an SCP: only the table changes
    other = NetworkService(
        sb_sqlite.db, sb_sqlite.images, sb_sqlite.index, sb_sqlite.log, sb_sqlite.config
    )
    scp = other.create_scp("late", "LATE", port)
    wait_for(lambda: net.listener_port(scp.id) == port)
    assert raw_ae(Verification).associate("127.0.0.1", port).send_c_echo().Status == 0
    other.delete_scp(scp.id)
    wait_for(lambda: net.listener_port(scp.id) is None)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    messages = log_messages(sb_sqlite)
    assert f"Started SCP late with AE title LATE on port {port}" in messages
    assert "Stopped SCP late" in messages


def test_bind_failure_is_logged_once(sb_sqlite: Slicebox, net: NetworkService) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        scp = net.create_scp("busy", "BUSY", port)
        net.start_listeners(poll_interval=0)
        net.reconcile()
        assert net.listener_port(scp.id) is None
        assert sum("Could not start SCP busy" in m for m in log_messages(sb_sqlite)) == 1
    net.reconcile()
    assert net.listener_port(scp.id) == port


def test_persisted_scps_start_with_the_worker(sb_sqlite: Slicebox) -> None:
    port = free_port()
    scp = network_for(sb_sqlite).create_scp("persisted", "PERSISTED", port)
    # a restart: a new service, run by the worker as a background task
    task = NetworkService(
        sb_sqlite.db,
        sb_sqlite.images,
        sb_sqlite.index,
        sb_sqlite.log,
        sb_sqlite.config,
        settings=network_for(sb_sqlite).settings,
    ).listener_task()
    task.start()
    try:
        assoc = raw_ae(Verification).associate("127.0.0.1", port, ae_title="PERSISTED")
        assert assoc.send_c_echo().Status == 0
        assoc.release()
    finally:
        task.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert task.name == "DICOM listeners" and scp.port == port
