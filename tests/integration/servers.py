"""Live sliceboxes connected by boxes, and a TCP proxy that cuts connections.

Servers are :class:`~.live.LiveServer` (``slicebox serve`` as its own process group, so
``kill()`` is a crash of gunicorn and the background worker together), started with fast box
timings given as ``SLICEBOX_BOXES__*``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
from pathlib import Path
from typing import Any

from slicebox_client import SliceboxClient
from slicebox_client.boxes import BoxesMixin

from .live import PASSWORD, SUPERUSER, LiveServer, run_cli

REPO = Path(__file__).resolve().parents[2]

FAST_BOXES: dict[str, Any] = {
    "retry_interval_s": 0.2,
    "max_backoff_s": 1.0,
    "max_attempts": 60,
    "scan_interval_s": 0.2,
    "poll_interval_s": 0.3,
    "housekeeping_interval_s": 1.0,
    "lease_s": 4.0,
    "request_timeout_s": 10.0,
    "parallelism": 3,
}


Client = SliceboxClient  # the client includes BoxesMixin
assert issubclass(Client, BoxesMixin)


def box_environment(boxes: dict[str, Any] | None = None) -> dict[str, str]:
    """The environment that gives ``slicebox serve`` the box timings ``boxes`` (fast ones by
    default), with the repository on ``PYTHONPATH`` for test helpers in the servers."""
    timings = {**FAST_BOXES, **(boxes or {})}
    settings = {f"SLICEBOX_BOXES__{key.upper()}": str(v) for key, v in timings.items()}
    path = [str(REPO), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(path), **settings}


def box_server(
    data_dir: Path, *, workers: int = 2, boxes: dict[str, Any] | None = None
) -> LiveServer:
    """A started ``slicebox serve`` with boxes (restart it with ``start()`` after ``kill()``:
    it keeps its port, which the box URLs of its peers name)."""
    return LiveServer(data_dir, workers=workers, env=box_environment(boxes)).start()


def client(server: LiveServer, **kwargs: Any) -> Client:
    """A superuser client of ``server``."""
    return Client(server.url, SUPERUSER, PASSWORD, **kwargs)


def check(data_dir: Path, *, sweep: bool = False) -> str:
    """``slicebox check`` of a stopped server's data directory (``--sweep`` to clean)."""
    result = run_cli("check", "--data", str(data_dir), *(["--sweep"] if sweep else []))
    return result.stdout + result.stderr + f"\nexit status {result.returncode}"


class CuttingProxy:
    """A TCP proxy on loopback that resets its first ``cuts`` connections once ``after_bytes``
    bytes (both directions together) went through them; later connections pass untouched.

    Args:
        target_port: where to forward (on 127.0.0.1).
        after_bytes: the budget of a connection that gets cut.
        cuts: how many connections to cut.
    """

    def __init__(self, target_port: int, *, after_bytes: int, cuts: int) -> None:
        self.target_port = target_port
        self.after_bytes = after_bytes
        self.remaining = cuts
        self.cut = 0
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, name="cutting-proxy", daemon=True)

    def __enter__(self) -> CuttingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(downstream,), daemon=True).start()

    def _relay(self, downstream: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            downstream.close()
            return
        with self._lock:
            doomed = self.remaining > 0
            self.remaining -= int(doomed)
        budget = [self.after_bytes]
        closed = threading.Event()

        def close(reset: bool) -> None:
            with self._lock:
                if closed.is_set():
                    return
                closed.set()
                self.cut += int(reset)
            for s in (downstream, upstream):
                with contextlib.suppress(OSError):
                    if reset:  # linger 0: a TCP reset, as a broken network gives
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                with contextlib.suppress(OSError):
                    # wakes the other pump blocked in recv(); close() alone would not, and
                    # the peer would never learn that the connection is gone
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()

        def pump(source: socket.socket, sink: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    if doomed:
                        with self._lock:
                            budget[0] -= len(data)
                            spent = budget[0] < 0
                        if spent:
                            close(reset=True)
                            return
                    sink.sendall(data)
            except OSError:
                pass
            close(reset=False)

        pumps = [
            threading.Thread(target=pump, args=(downstream, upstream), daemon=True),
            threading.Thread(target=pump, args=(upstream, downstream), daemon=True),
        ]
        for thread in pumps:
            thread.start()
        for thread in pumps:
            thread.join()
