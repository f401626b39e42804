"""Fixtures of the box tests: sliceboxes with boxes wired in, and a connected pair.

``hospital`` (H) is the ``sb`` fixture (SQLite and PostgreSQL) with a PUSH box to
``public`` (U, SQLite) whose POLL box has the matching token, as ``createconnection`` and
``connect`` make them; the peer between them is :class:`~.localpeer.LocalPeer`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from slicebox_core import Slicebox
from slicebox_core.boxes.service import BoxService
from slicebox_core.events import ImagesSent
from slicebox_core.models.anonymization import AnonymizationProfile
from slicebox_core.models.boxes import Box, RemoteBox
from tests.boxes_wiring import wire_boxes

from .localpeer import LocalPeer

FAST = {
    "retry_interval_s": 0.05,
    "max_backoff_s": 0.2,
    "max_attempts": 4,
    "scan_interval_s": 0.05,
    "poll_interval_s": 0.05,
    "lease_s": 30.0,
    "parallelism": 3,
    "batch_size": 50,
}


@attrs.define
class Pair:
    """Two connected sliceboxes: H pushes to and polls U."""

    hospital: Slicebox
    public: Slicebox
    push_box: Box  # H's box for U
    poll_box: Box  # U's box for H
    sent: list[ImagesSent]

    @property
    def h(self) -> BoxService:
        return self.hospital.boxes  # type: ignore[no-any-return,attr-defined]

    @property
    def u(self) -> BoxService:
        return self.public.boxes  # type: ignore[no-any-return,attr-defined]

    def peer(self, **kwargs: object) -> LocalPeer:
        return LocalPeer(self.u, self.poll_box.token, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def boxes(sb: Slicebox) -> BoxService:
    """``sb`` with boxes wired in and fast timings."""
    return wire_boxes(sb, **FAST)


@pytest.fixture
def public(tmp_path: Path) -> Iterator[Slicebox]:
    box = Slicebox.open(tmp_path / "public")
    wire_boxes(box, **FAST)
    try:
        yield box
    finally:
        box.close()


@pytest.fixture
def pair(sb: Slicebox, boxes: BoxService, public: Slicebox) -> Pair:
    poll_box = public.boxes.create_connection(  # type: ignore[attr-defined]
        "hospital", AnonymizationProfile(), api_base="http://public.example/api"
    )
    push_box = boxes.connect(RemoteBox("public", poll_box.base_url, AnonymizationProfile()))
    sent: list[ImagesSent] = []
    sb.events.subscribe(ImagesSent, sent.append)
    public.events.subscribe(ImagesSent, sent.append)
    pair = Pair(sb, public, push_box, poll_box, sent)
    boxes.peer_factory = lambda url, config: pair.peer()
    public.boxes.peer_factory = None  # type: ignore[attr-defined]
    return pair
