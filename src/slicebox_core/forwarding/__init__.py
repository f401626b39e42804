"""Forwarding: images from a source sent on to a box or an SCU, in batches (spec §5.6).

* :mod:`.rules` — pure: rule checks, back-off, what a box status means, finalization;
* :mod:`.service` — :class:`ForwardingService`: rules, the ingest hook, the worker's pass;
* :mod:`.worker` — :class:`ForwardingWorker`: the background task running the pass.

This package's ``__init__`` stays light (no SQLAlchemy): the configuration imports it.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .config import ForwardingConfig

if _TYPE_CHECKING:
    from .service import ForwardingService
    from .worker import ForwardingWorker

__all__ = ["ForwardingConfig", "ForwardingService", "ForwardingWorker"]


def __getattr__(name: str) -> _Any:
    if name == "ForwardingService":
        from .service import ForwardingService

        return ForwardingService
    if name == "ForwardingWorker":
        from .worker import ForwardingWorker

        return ForwardingWorker
    raise AttributeError(f"module 'slicebox_core.forwarding' has no attribute {name!r}")
