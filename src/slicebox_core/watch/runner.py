"""Runs the directory watches in the worker process (spec §5.11).

One thread reconciles the ``DirectoryWatchData`` rows with the running watchers (claiming
each row with a lease), turns file-system events into candidates, and hands files that
stopped changing to a small pool of import threads.

* **Files present at start** and files added later (also in new sub-folders) are imported,
  with source ``directory`` (watch name, id) and the image-data SOP classes only.
* **A file still being written** is imported only after its size and modification time were
  unchanged for ``settle_s`` (a truncated file is also refused by ingest itself).
* **After import** the file is deleted when ``delete_on_import`` is set and it did not change
  during the import; otherwise it stays and is not imported again unless it changes.
* **Rejected files** (not DICOM, unsupported SOP class, ...) stay in place, are logged once
  ("Could not add file <relative path>: <reason>", subject ``Directory``) and are tried again
  only when they change (and once after a restart of the worker).
* Names starting with ``.`` (files and folders) are skipped: editors, rsync and copy tools
  write partial files under such names and rename them when complete. Symbolic links and
  special files are skipped.
* A watch whose folder is missing is kept, logged once and started when the folder appears
  (the original silently deleted such watches at start-up).

Nothing is ever lost: a file is deleted only after the transaction storing it committed, so a
crash at any point leaves the file to be imported again (a duplicate is an overwrite).
"""

from __future__ import annotations

import logging
import os
import queue
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from ..errors import SliceboxError
from ..models.watch import WatchedDirectory
from .settle import Settler, Version

if TYPE_CHECKING:
    from .service import DirectoryWatchService, WatchOptions

log = logging.getLogger(__name__)

SUBJECT = "Directory"
IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})


def file_version(path: str) -> Version | None:
    """(size, mtime_ns) of a regular file (not following links); None otherwise."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_size, st.st_mtime_ns


def is_hidden(path: str, root: Path) -> bool:
    """True when a component of ``path`` below ``root`` starts with a dot."""
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        return True
    return any(part.startswith(".") for part in parts)


class _Events(FileSystemEventHandler):
    """Forwards watchdog events (observer thread) to the runner's queue."""

    def __init__(self, watch_id: int, sink: queue.Queue[tuple[int, str, str, bool]]) -> None:
        self._id = watch_id
        self._sink = sink

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in IGNORED_EVENTS:
            return
        src = os.fsdecode(event.src_path)
        if event.event_type == "moved":
            self._sink.put((self._id, "deleted", src, event.is_directory))
            self._sink.put((self._id, "changed", os.fsdecode(event.dest_path), event.is_directory))
        elif event.event_type == "deleted":
            self._sink.put((self._id, "deleted", src, event.is_directory))
        else:
            self._sink.put((self._id, "changed", src, event.is_directory))


class _Active:
    """A watch this runner holds."""

    def __init__(self, watch: WatchedDirectory, settle_s: float) -> None:
        self.watch = watch
        self.root = Path(watch.path)
        self.settler = Settler(settle_s)
        self.observer: BaseObserver | None = None
        self.missing_logged = False
        self.next_scan = 0.0


class WatchRunner:
    """Runs every watch this worker holds a lease on (a worker *listener*).

    Args:
        service: the registry.
        owner: the worker's name, written into the lease.
        options: settle time, delete-on-import, ...
    """

    def __init__(
        self, service: DirectoryWatchService, *, owner: str, options: WatchOptions
    ) -> None:
        self._service = service
        self._owner = owner
        self._options = options
        self._tick_s = max(0.02, min(0.25, options.settle_s / 4))
        self._events: queue.Queue[tuple[int, str, str, bool]] = queue.Queue()
        self._active: dict[int, _Active] = {}
        self._lock = threading.Lock()  # guards the settlers (loop and import threads)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._next_claim = 0.0
        self._inflight = 0

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the thread; watches start within one tick."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, self._options.threads), thread_name_prefix="slicebox-watch"
        )
        self._thread = threading.Thread(target=self._loop, name="slicebox-watches", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; imports in progress finish; the leases are released."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        for active in list(self._active.values()):
            self._stop_observer(active)
        self._active.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        try:
            self._service.release(self._owner)
        except Exception:
            log.exception("releasing directory watches failed")

    @property
    def watching(self) -> list[int]:
        """Ids of the watches whose folder is being watched now."""
        return sorted(i for i, a in self._active.items() if a.observer is not None)

    @property
    def idle(self) -> bool:
        """True when no file is waiting to settle or being imported (for tests)."""
        with self._lock:
            waiting = any(len(a.settler) for a in self._active.values())
        return not waiting and self._inflight == 0 and self._events.empty()

    # the loop ------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            now = time.monotonic()
            try:
                self._reconcile(now)
                self._drain_events(now)
                self._rescan(now)
                self._submit(now)
            except Exception:  # the index unreachable, ...: keep going
                log.exception("directory watch pass failed")
            self._stopping.wait(self._tick_s)

    def _reconcile(self, now: float) -> None:
        leases = self._service.leases()
        present = {watch_id for watch_id, _, _ in leases}
        for watch_id in [i for i in self._active if i not in present]:
            self._stop_watch(watch_id)  # deleted by the API
        wall = int(time.time() * 1000)
        claimable = any(
            owner != self._owner and (owner is None or (until or 0) < wall)
            for _, owner, until in leases
        )
        if claimable or now >= self._next_claim:
            held = {w.id: w for w in self._service.claim(self._owner, self._options.lease_s)}
            self._next_claim = now + self._options.lease_s / 3
            for watch_id in [i for i in self._active if i not in held]:
                self._stop_watch(watch_id)  # another worker took it (our lease ran out)
            for watch_id, watch in held.items():
                if watch_id not in self._active:
                    self._active[watch_id] = _Active(watch, self._options.settle_s)
        for active in self._active.values():
            self._check_folder(active, now)

    def _check_folder(self, active: _Active, now: float) -> None:
        if active.observer is not None:
            if active.root.is_dir() and active.observer.is_alive():
                return
            self._stop_observer(active)
        if not active.root.is_dir():
            if not active.missing_logged:
                active.missing_logged = True
                self._log_warn(
                    f"Directory watch {active.watch.name}: {active.root} is not a directory; "
                    "waiting for it"
                )
            return
        observer: BaseObserver = PollingObserver(timeout=1) if self._options.polling else Observer()
        observer.schedule(_Events(active.watch.id, self._events), str(active.root), recursive=True)
        observer.daemon = True
        observer.start()
        active.observer = observer
        active.missing_logged = False
        active.next_scan = 0.0  # walk now: files present before the observer started
        log.info("watching %s (directory watch %d)", active.root, active.watch.id)

    def _stop_watch(self, watch_id: int) -> None:
        active = self._active.pop(watch_id, None)
        if active is not None:
            self._stop_observer(active)

    @staticmethod
    def _stop_observer(active: _Active) -> None:
        observer, active.observer = active.observer, None
        if observer is not None:
            try:
                observer.stop()
                observer.join(5)
            except Exception:
                log.exception("stopping the observer of %s failed", active.root)

    def _drain_events(self, now: float) -> None:
        while True:
            try:
                watch_id, kind, path, is_dir = self._events.get_nowait()
            except queue.Empty:
                return
            active = self._active.get(watch_id)
            if active is None or active.observer is None or is_hidden(path, active.root):
                continue
            if is_dir:
                if kind == "changed" and path != str(active.root):
                    self._walk(active, Path(path), now)  # a new (or moved-in) sub-folder
                continue
            with self._lock:
                if kind == "deleted":
                    active.settler.forget(path)
                else:
                    active.settler.observe(path, now)

    def _rescan(self, now: float) -> None:
        for active in self._active.values():
            if active.observer is not None and now >= active.next_scan:
                active.next_scan = now + self._options.rescan_s
                seen = self._walk(active, active.root, now)
                with self._lock:
                    active.settler.keep_only(seen)

    def _walk(self, active: _Active, top: Path, now: float) -> list[str]:
        """Make every regular file below ``top`` a candidate; returns their paths."""
        found: list[str] = []
        for folder, dirs, files in os.walk(top, followlinks=False):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith("."):
                    continue
                path = os.path.join(folder, name)
                if os.path.islink(path):
                    continue
                found.append(path)
        with self._lock:
            for path in found:
                active.settler.observe(path, now)
        return found

    def _submit(self, now: float) -> None:
        assert self._pool is not None
        for active in self._active.values():
            with self._lock:
                ready = active.settler.due(now, file_version)
            for path, version in ready:
                with self._lock:
                    self._inflight += 1
                self._pool.submit(self._import, active, path, version)

    # importing ------------------------------------------------------------------------------
    def _import(self, active: _Active, path: str, version: Version) -> None:
        try:
            self._import_file(active, path, version)
        except Exception:
            log.exception("importing a watched file failed")
        finally:
            with self._lock:
                active.settler.done(path, version)
                self._inflight -= 1

    def _import_file(self, active: _Active, path: str, version: Version) -> None:
        source = self._service.source(active.watch)
        try:
            self._service.images.add(path, source=source, secondary_capture=False, max_bytes=0)
        except Exception as exc:
            reason = exc.message if isinstance(exc, SliceboxError) else type(exc).__name__
            relative = os.path.relpath(path, active.root)
            self._log_error(f"Could not add file {relative}: {reason}")
            return
        if self._options.delete_on_import and file_version(path) == version:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                relative = os.path.relpath(path, active.root)
                self._log_warn(f"Could not delete imported file {relative}: {exc.strerror}")

    def _log_error(self, message: str) -> None:
        try:
            self._service.log.error(SUBJECT, message)
        except Exception:
            log.exception("could not write to the log: %s", message)

    def _log_warn(self, message: str) -> None:
        try:
            self._service.log.warn(SUBJECT, message)
        except Exception:
            log.exception("could not write to the log: %s", message)
