"""Fixtures of the forwarding tests: ``sb`` (SQLite and PostgreSQL) with forwarding wired in
and fast timings, SCP sources, a pynetdicom storage SCP as SCU destination, and a box pair
(``sb`` pushes to an in-process ``public`` slicebox through ``LocalPeer``)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from pynetdicom import AE, StoragePresentationContexts, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from slicebox_core import Slicebox
from slicebox_core.boxes.service import BoxService
from slicebox_core.boxes.worker import BoxLoops
from slicebox_core.forwarding.service import ForwardingService
from slicebox_core.forwarding.worker import ForwardingWorker
from slicebox_core.models.anonymization import AnonymizationProfile
from slicebox_core.models.boxes import Box, RemoteBox
from slicebox_core.models.forwarding import ForwardingRule
from slicebox_core.models.index import Destination, Source, SourceType
from tests.boxes_wiring import wire_boxes
from tests.core.boxes.localpeer import LocalPeer
from tests.factories import dicom_bytes
from tests.forwarding_wiring import wire_forwarding

FAST: dict[str, Any] = {
    "batch_idle_s": 0.0,
    "scan_interval_s": 0.05,
    "retry_interval_s": 0.05,
    "max_backoff_s": 0.2,
    "lease_s": 30.0,
}

BOX_FAST: dict[str, Any] = {
    "retry_interval_s": 0.05,
    "max_backoff_s": 0.2,
    "max_attempts": 3,
    "scan_interval_s": 0.05,
    "poll_interval_s": 0.05,
    "lease_s": 30.0,
    "parallelism": 2,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StoreScp:
    """A pynetdicom storage SCP on loopback that records what it receives, in order."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[str] = []
        self._lock = threading.Lock()
        self._server: Any = None

    def start(self) -> StoreScp:
        ae = AE(ae_title="FWDTEST")
        ae.supported_contexts = StoragePresentationContexts
        ae.add_supported_context(Verification)
        self._server = ae.start_server(
            ("127.0.0.1", self.port),
            block=False,
            evt_handlers=[(evt.EVT_C_STORE, self._on_store)],
        )
        return self

    def _on_store(self, event: evt.Event) -> int:
        with self._lock:
            self.received.append(str(event.dataset.SOPInstanceUID))
        return 0x0000

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None


@pytest.fixture
def fwd(sb: Slicebox) -> ForwardingService:
    """``sb`` with forwarding and fast timings (batches due at once)."""
    return wire_forwarding(sb, **FAST)


def worker(sb: Slicebox, owner: str = "test-worker") -> ForwardingWorker:
    """A worker to run passes by hand."""
    return ForwardingWorker(sb.forwarding, sb.events, owner=owner)  # type: ignore[attr-defined]


def scp_source(sb: Slicebox, name: str = "modality") -> Source:
    """An SCP row of ``sb`` (no listener) as a source."""
    scp = sb.network.create_scp(name, "MODALITY", free_port())
    return Source(SourceType.SCP, scp.name, scp.id)


def scu_destination(sb: Slicebox, port: int, name: str = "pacs") -> Destination:
    scu = sb.network.create_scu(name, "FWDTEST", "127.0.0.1", port)
    return Destination("scu", scu.name, scu.id)


def rule(source: Source, destination: Destination, keep: bool = True) -> ForwardingRule:
    return ForwardingRule(-1, source, destination, keep)


def add(sb: Slicebox, source: Source, **kwargs: Any) -> int:
    """Ingest one new instance from ``source``; its image id."""
    return sb.images.add(dicom_bytes(**kwargs), source=source).image.id


@pytest.fixture
def store_scp() -> Iterator[StoreScp]:
    scp = StoreScp().start()
    try:
        yield scp
    finally:
        scp.stop()


@attrs.define
class BoxPair:
    """``sb`` (hospital) pushes to ``public`` through a PUSH box."""

    hospital: Slicebox
    public: Slicebox
    push_box: Box
    poll_box: Box

    @property
    def boxes(self) -> BoxService:
        return self.hospital.boxes  # type: ignore[no-any-return,attr-defined]

    def loops(self) -> BoxLoops:
        peer = LocalPeer(self.public.boxes, self.poll_box.token)  # type: ignore[attr-defined]
        return BoxLoops(self.boxes, self.push_box, peer, owner="test-push")

    @property
    def destination(self) -> Destination:
        return Destination("box", self.push_box.name, self.push_box.id)


@pytest.fixture
def public(tmp_path: Path) -> Iterator[Slicebox]:
    box = Slicebox.open(tmp_path / "public")
    wire_boxes(box, **BOX_FAST)
    try:
        yield box
    finally:
        box.close()


@pytest.fixture
def pair(sb: Slicebox, public: Slicebox) -> BoxPair:
    """``sb`` with boxes and forwarding, connected to ``public``; the push box's default
    profile retains UIDs (so a test can match what arrived)."""
    boxes = wire_boxes(sb, **BOX_FAST)
    service = wire_forwarding(sb, **FAST)
    service.boxes = boxes
    poll_box = public.boxes.create_connection(  # type: ignore[attr-defined]
        "hospital", AnonymizationProfile(), api_base="http://public.example/api"
    )
    push_box = boxes.connect(
        RemoteBox("public", poll_box.base_url, AnonymizationProfile.of("RETAIN_UIDS"))
    )
    return BoxPair(sb, public, push_box, poll_box)
