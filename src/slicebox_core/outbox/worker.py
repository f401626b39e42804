"""The automation worker: one thread running outbox handlers, plus listeners (directory
watches), in the one process that should run them (``slicebox serve`` master or
``slicebox worker``).

    >>> worker = AutomationWorker(sb)
    >>> worker.start()          # listeners start; pending work runs in a thread
    >>> worker.stop()

Tests and batch scripts can skip the thread: ``worker.run_pending()`` processes due items in
the calling thread and returns how many it finished.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from ..events import ImageAdded
from .service import Outbox, WorkItem, worker_id

if TYPE_CHECKING:
    from ..app import Slicebox

log = logging.getLogger(__name__)

Complete = Callable[[Session], bool]
"""Given to a handler: call it inside the transaction that records the item's effects."""

Handler = Callable[[WorkItem, Complete], None]
"""Processes one item; raises to have it retried later (with back-off, then dropped)."""


class Listener(Protocol):
    """Something the worker starts and stops with itself (e.g. the directory watches)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class AutomationWorker:
    """Runs the outbox's handlers and the listeners of one slicebox.

    Args:
        sb: the slicebox; its ``outbox``, ``series_types`` and ``watches`` are used.
        poll_interval_s: how often the outbox is looked at when nothing wakes the worker
            (items written by other processes are seen within this time).
        batch: items claimed at once.
        watch: run the directory watches (set False in tests about the outbox only).
        owner: the name this worker claims work under (default: host:pid:random).

    More kinds of work are added by ``worker.handlers[kind] = handler`` before ``start``.
    It is a ``BackgroundTask`` (``name``, ``start``, ``stop``) of :mod:`slicebox_core.worker`.
    """

    name = "automation"

    def __init__(
        self,
        sb: Slicebox,
        *,
        poll_interval_s: float = 2.0,
        batch: int = 20,
        watch: bool = True,
        owner: str | None = None,
    ) -> None:
        self.owner = owner or worker_id()
        self._sb = sb
        services: Any = sb  # the automation services of the facade
        self._outbox: Outbox = services.outbox
        self.poll_interval_s = poll_interval_s
        self.batch = batch
        self.handlers: dict[str, Handler] = dict(services.series_types.handlers())
        self.listeners: list[Listener] = []
        if watch:
            self.listeners.append(services.watches.runner(owner=self.owner))
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribed = False

    # one pass, in the calling thread -------------------------------------------------------
    def run_pending(self, limit: int = 100) -> int:
        """Claim and process up to ``limit`` due items; returns how many were finished."""
        items = self._outbox.claim(list(self.handlers), owner=self.owner, limit=limit)
        finished = 0
        for item in items:
            if self._stopping.is_set():  # hand the rest back rather than wait for the lease
                self._outbox.release(item, owner=self.owner)
                continue
            if self._process(item):
                finished += 1
        return finished

    def _process(self, item: WorkItem) -> bool:
        handler = self.handlers[item.kind]
        called = False

        def complete(session: Session) -> bool:
            nonlocal called
            called = True
            return Outbox.complete(session, item, owner=self.owner)

        try:
            handler(item, complete)
            if not called:
                self._sb.db.run_write(complete)
            return True
        except Exception as exc:
            log.exception("work item %s %s failed (attempt %d)", item.kind, item.key, item.attempts)
            dropped = self._outbox.fail(item, f"{type(exc).__name__}: {exc}", owner=self.owner)
            if dropped:
                self._sb.log.error(
                    "System",
                    f"Gave up {item.kind} {item.key} after {item.attempts} attempts: "
                    f"{type(exc).__name__}",
                )
            return False

    # the thread ------------------------------------------------------------------------------
    def wake(self, *_: Any) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the listeners and the processing thread (idempotent)."""
        if self.running:
            return
        if not self._subscribed:
            from ..seriestypes.service import SeriesTypesChanged

            self._sb.events.subscribe(ImageAdded, self.wake)
            self._sb.events.subscribe(SeriesTypesChanged, self.wake)
            self._subscribed = True
        self._stopping.clear()
        for listener in self.listeners:
            listener.start()
        self._thread = threading.Thread(target=self._loop, name="slicebox-automation", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the listeners, then the thread after the item in hand."""
        for listener in reversed(self.listeners):
            try:
                listener.stop()
            except Exception:
                log.exception("stopping %r failed", listener)
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the automation worker did not stop within %.0f s", timeout)
                return
            self._thread = None
        self._stopping.clear()  # run_pending() may be called by hand again

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                finished = self.run_pending(self.batch)
            except Exception:  # the index is unreachable, ...: try again at the next poll
                log.exception("automation worker pass failed")
                finished = 0
            if finished >= self.batch:
                continue
            self._wake.wait(self.poll_interval_s)
            self._wake.clear()
