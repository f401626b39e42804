"""The forwarding worker: runs :meth:`ForwardingService.run_once` on a thread.

It is a ``BackgroundTask`` of :mod:`slicebox_core.worker` (``name``, ``start``, ``stop``), run
by ``slicebox worker`` (which ``slicebox serve`` starts beside gunicorn). It looks every
``scan_interval_s``, sooner when it knows a batch falls due earlier, and at once when this
process ingested an image or finished a transfer. Several workers may run at once (processes,
hosts on PostgreSQL): batches are claimed with leases.

    >>> worker = ForwardingWorker(sb.forwarding, sb.events)
    >>> worker.run_once()      # one pass in the calling thread (tests, scripts)
"""

from __future__ import annotations

import logging
import threading

from ..events import EventBus, ImageAdded, ImagesSent
from ..outbox.service import worker_id
from .service import ForwardingService, PassResult

log = logging.getLogger(__name__)

MIN_WAIT_S = 0.01


class ForwardingWorker:
    """The background task of forwarding.

    Args:
        service: the forwarding service.
        events: the in-process bus; ``ImageAdded`` and ``ImagesSent`` wake the worker.
        owner: the name batches are claimed under (default: host:pid:random).
    """

    name = "forwarding"

    def __init__(
        self,
        service: ForwardingService,
        events: EventBus | None = None,
        *,
        owner: str | None = None,
    ) -> None:
        self.service = service
        self.owner = owner or worker_id()
        self._events = events
        self._subscribed = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> PassResult:
        """One pass in the calling thread: dispatch, delivery, finalization."""
        return self.service.run_once(owner=self.owner)

    def wake(self, *_: object) -> None:
        """Look now rather than at the next scan."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (idempotent); batches of a crashed worker on this host are
        released first."""
        if self.running:
            return
        if self._events is not None and not self._subscribed:
            self._events.subscribe(ImageAdded, self.wake)
            self._events.subscribe(ImagesSent, self.wake)
            self._subscribed = True
        try:
            released = self.service.release_dead_claims()
            if released:
                log.info("released %d forwarding batches of a dead worker", released)
        except Exception:
            log.exception("releasing the forwarding batches of dead workers failed")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="slicebox-forwarding", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the batch in hand."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the forwarding worker did not stop within %.0f s", timeout)
                return
            self._thread = None

    def _loop(self) -> None:
        scan = self.service.config.scan_interval_s
        while not self._stop.is_set():
            self._wake.clear()
            busy = False
            try:
                busy = self.run_once().busy
                due = self.service.next_due_s()
            except Exception:  # the index is unreachable, ...: try again at the next scan
                log.exception("forwarding pass failed")
                due = None
            if busy:
                continue  # more may be due right away (a full claim, a delivery to finalize)
            wait = scan if due is None else min(scan, max(due, MIN_WAIT_S))
            self._wake.wait(wait)
