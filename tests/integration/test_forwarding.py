"""Forwarding between live ``slicebox serve`` processes (issue 8): a modality sends with
dcmtk's ``storescu`` to the hospital's SCP, a forwarding rule sends the images on to the
public slicebox through a PUSH box, and they arrive anonymized. A ``kill -9`` of the whole
hospital right after the ingest and before the batch was sent loses nothing and sends
nothing twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from slicebox_client import SliceboxClient
from slicebox_client.forwarding import ForwardingMixin
from slicebox_core.models import Destination, Source, SourceType
from slicebox_core.models.boxes import Box, TransactionStatus

from .box_data import DataSet, assert_received_anonymized, make_set, stored, until
from .dicom_peers import free_port, have_dcmtk, run, tool
from .forwarding_env import forwarding_environment
from .live import PASSWORD, SUPERUSER, LiveServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not have_dcmtk(), reason="dcmtk is not installed"),
]

AET = "SLICEBOX"
FAST = {"batch_idle_s": 0.5, "scan_interval_s": 0.2, "retry_interval_s": 0.5, "max_backoff_s": 2}


Client = SliceboxClient  # the client includes ForwardingMixin, BoxesMixin
assert issubclass(Client, ForwardingMixin)


def serve(data_dir: Path, forwarding: dict[str, float]) -> LiveServer:
    return LiveServer(data_dir, workers=1, env=forwarding_environment(forwarding)).start()


def client(server: LiveServer) -> Client:
    return Client(server.url, SUPERUSER, PASSWORD)


@pytest.fixture
def public(tmp_path: Path) -> Iterator[LiveServer]:
    server = serve(tmp_path / "public", FAST)
    try:
        yield server
    finally:
        server.stop()


def forward_scp_to_box(h: Client, u: Client, scp_port: int) -> Box:
    """The public side's POLL box, the hospital's PUSH box to it, an SCP on the hospital and
    the rule SCP -> box; returns the PUSH box once the SCP answers C-ECHO."""
    poll_box = u.create_connection("hospital")
    push_box = h.connect("public", poll_box.base_url)
    scp = h.create_scp("modality", AET, scp_port)
    rule = h.create_forwarding_rule(
        Source(SourceType.SCP, scp.name, scp.id),
        Destination("box", push_box.name, push_box.id),
        keep_images=True,
    )
    assert rule.destination.destination_name == "public"
    until(
        lambda: run(tool("echoscu"), "-aec", AET, "127.0.0.1", str(scp_port)).returncode == 0,
        what="the hospital's SCP",
    )
    return push_box


def storescu(data: DataSet, folder: Path, port: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, blob in enumerate(data.files):
        path = folder / f"{i:04d}.dcm"
        path.write_bytes(blob)
        paths.append(str(path))
    result = run(tool("storescu"), "-aec", AET, "127.0.0.1", str(port), *paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_scp_source_forwarded_to_a_box_arrives_anonymized(
    tmp_path: Path, public: LiveServer
) -> None:
    hospital = serve(tmp_path / "hospital", FAST)
    try:
        port = free_port()
        with client(hospital) as h, client(public) as u:
            forward_scp_to_box(h, u, port)
            data = make_set("Fwd", patients=2, series=2, images=3)
            storescu(data, tmp_path / "modality", port)
            until(lambda: len(stored(public.data_dir)) == len(data.files), what="the images")
            outgoing = h.outgoing_transactions(count=100)
            assert sum(t.total_image_count for t in outgoing) == len(data.files)
            until(
                lambda: all(
                    t.status == TransactionStatus.FINISHED
                    for t in h.outgoing_transactions(count=100)
                ),
                what="FINISHED",
            )
            messages = [e.message for e in h.log(count=500) if e.subject == "Forwarding"]
            forwarded = [m for m in messages if m.startswith("Forwarding ")]
            assert forwarded and all("from scp modality to box public." in m for m in forwarded)
            until(
                lambda: any(e.message.startswith("Finalized") for e in h.log(count=500)),
                what="the batches finalized",
            )
    finally:
        hospital.stop()
    assert_received_anonymized(public.data_dir, hospital.data_dir, [data])


def test_kill_after_ingest_forwards_once_after_restart(tmp_path: Path, public: LiveServer) -> None:
    slow = {**FAST, "batch_idle_s": 6.0}  # the window between ingest and dispatch
    hospital = serve(tmp_path / "hospital", slow)
    try:
        port = free_port()
        with client(hospital) as h, client(public) as u:
            forward_scp_to_box(h, u, port)
            data = make_set("Kill", patients=1, series=1, images=4)
            started = time.monotonic()
            storescu(data, tmp_path / "modality", port)
            assert len(stored(hospital.data_dir)) == len(data.files)  # committed
            assert h.outgoing_transactions() == []  # not yet dispatched
        hospital.kill()
        assert time.monotonic() - started < slow["batch_idle_s"], "too slow to test the window"
        assert stored(public.data_dir) == []
        hospital.start()
        with client(hospital) as h:
            until(lambda: len(stored(public.data_dir)) == len(data.files), what="the images")
            time.sleep(slow["batch_idle_s"] + 2)  # anything sent twice would be here by now
            outgoing = h.outgoing_transactions(count=100)
        assert [t.total_image_count for t in outgoing] == [len(data.files)]
        assert len(stored(public.data_dir)) == len(data.files)
    finally:
        hospital.stop()
    assert_received_anonymized(public.data_dir, hospital.data_dir, [data])
