"""In-process events, published after the transaction that caused them committed.

The bus is synchronous and in-process only: work that must survive a crash is a database row
written in the causing transaction, never an event. Events wake workers sooner and feed the
log. A failing subscriber is logged and does not affect the publisher or other subscribers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from .models.index import Destination, Source

log = logging.getLogger(__name__)

E = TypeVar("E")


@attrs.frozen
class ImageAdded:
    image_id: int
    source: Source
    overwrite: bool


@attrs.frozen
class ImagesDeleted:
    image_ids: tuple[int, ...]


@attrs.frozen
class MetaDataDeleted:
    patient_ids: tuple[int, ...]
    study_ids: tuple[int, ...]
    series_ids: tuple[int, ...]
    image_ids: tuple[int, ...]


@attrs.frozen
class SourceAdded:
    source: Source


@attrs.frozen
class SourceDeleted:
    source_type: str
    source_id: int


@attrs.frozen
class ImagesSent:
    """Images were delivered to a destination: a box transaction finished, or an SCU send
    (spec §5.19). Consumed by forwarding (mark delivered)."""

    destination: Destination
    image_ids: tuple[int, ...]


class EventBus:
    """Subscribe handlers by event class; ``publish`` calls them in subscription order."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._handlers[event_type].append(handler)

    def publish(self, event: object) -> None:
        for handler in list(self._handlers.get(type(event), ())):
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %s", handler, type(event).__name__)
