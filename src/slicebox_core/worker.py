"""The background side of a slicebox: listeners and job loops in one process.

HTTP workers (gunicorn) only serve requests. Everything that listens on a port or a folder,
or works through queued rows (box transfers, forwarding, series-type evaluation), is a
:class:`BackgroundTask` registered on ``Slicebox.background_tasks`` and run by
:class:`Worker` — started by ``slicebox serve`` beside gunicorn, or alone by
``slicebox worker`` for deployments that separate them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .app import Slicebox

log = logging.getLogger(__name__)


class BackgroundTask(Protocol):
    """Something the worker starts and stops."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


class PeriodicTask:
    """Calls ``fn`` every ``interval_s`` seconds on its own daemon thread (first call at once)."""

    def __init__(self, name: str, interval_s: float, fn: Callable[[], object]) -> None:
        self.name = name
        self._interval = interval_s
        self._fn = fn
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._fn()
            except Exception:
                log.exception("background task %s failed; retrying later", self.name)
            self._stop.wait(self._interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


class Worker:
    """Starts every background task of a slicebox, and stops them in reverse order."""

    def __init__(self, sb: Slicebox) -> None:
        self._sb = sb
        self._started: list[BackgroundTask] = []

    def start(self) -> None:
        for task in self._sb.background_tasks:
            log.info("starting %s", task.name)
            task.start()
            self._started.append(task)

    def stop(self) -> None:
        while self._started:
            task = self._started.pop()
            try:
                task.stop()
            except Exception:
                log.exception("stopping %s failed", task.name)

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set."""
        self.start()
        try:
            stop.wait()
        finally:
            self.stop()
