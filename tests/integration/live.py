"""``slicebox serve`` as a real process group for the integration tests.

The server runs in its own session, so :meth:`LiveServer.kill` can SIGKILL gunicorn's master,
its workers and the background worker at once, as a power cut would.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

SUPERUSER = "admin"
PASSWORD = "integration-password"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def slicebox_command() -> list[str]:
    """``slicebox`` of this interpreter, whether or not the console script is installed."""
    return [sys.executable, "-c", "from slicebox_server.cli import main; raise SystemExit(main())"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``slicebox ARGS`` to completion."""
    return subprocess.run(
        [*slicebox_command(), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


class LiveServer:
    """A started ``slicebox serve``.

    Args:
        data_dir: the data directory.
        workers: gunicorn worker processes.
        env: more ``SLICEBOX_*`` settings.
        scheme: ``https`` when the settings configure TLS.
        verify: TLS verification for the health probe.
        port: a fixed port (to restart on the same address), else a free one.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        workers: int = 2,
        env: dict[str, str] | None = None,
        scheme: str = "http",
        verify: ssl.SSLContext | bool = True,
        port: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"{data_dir.name}-serve.log"
        self._workers = workers
        self._env = {
            **os.environ,
            "SLICEBOX_SUPERUSER": SUPERUSER,
            "SLICEBOX_SUPERUSER_PASSWORD": PASSWORD,
            **(env or {}),
        }
        self._verify = verify
        self._log: IO[bytes] | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 90.0) -> LiveServer:
        """Start and wait until ``/api/system/health`` answers 200.

        Raises:
            RuntimeError: the server exited or did not answer in time (with its log).
        """
        argv = [
            *slicebox_command(),
            "serve",
            "--data",
            str(self.data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self._workers),
        ]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed by stop()/kill()
        self.proc = subprocess.Popen(
            argv, env=self._env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"slicebox serve exited:\n{self.log_tail()}")
            try:
                health = httpx.get(f"{self.url}/api/system/health", timeout=2, verify=self._verify)
                if health.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"slicebox serve did not answer in time:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server's output."""
        if self._log is not None:
            self._log.flush()
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        """Everything the server wrote."""
        if self._log is not None:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int | None:
        """SIGTERM the process group (SIGKILL after 30 s); the exit status of serve."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL every process of the server at once (no cleanup of any kind)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        # gunicorn workers are in the same session; make sure none outlives the kill
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _group_alive(self.proc.pid):
            time.sleep(0.1)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
