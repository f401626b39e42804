"""Boxes: anonymized, durable, exactly-once transfers between slicebox instances (spec §5.5).

* :mod:`.protocol` — pure: URLs, deflate/inflate with checksums, transitions, back-off;
* :mod:`.peer` — :class:`BoxPeer`, the remote as the worker sees it (HTTP lives in
  ``slicebox_client.peer``);
* :mod:`.service` — :class:`BoxService`: boxes, queueing, listings, claims, receiving;
* :mod:`.worker` — :class:`BoxWorker`: push and poll loops of every PUSH box.

This package's ``__init__`` stays light (no SQLAlchemy): the client imports the protocol.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .config import BoxConfig
from .peer import BoxPeer, PeerFactory, PushOutcome
from .protocol import CorruptTransfer

if _TYPE_CHECKING:
    from .service import BoxService, ReceiveOutcome
    from .worker import BoxWorker

__all__ = [
    "BoxConfig",
    "BoxPeer",
    "BoxService",
    "BoxWorker",
    "CorruptTransfer",
    "PeerFactory",
    "PushOutcome",
    "ReceiveOutcome",
]


def __getattr__(name: str) -> _Any:
    if name in ("BoxService", "ReceiveOutcome"):
        from . import service

        return getattr(service, name)
    if name == "BoxWorker":
        from .worker import BoxWorker

        return BoxWorker
    raise AttributeError(f"module 'slicebox_core.boxes' has no attribute {name!r}")
