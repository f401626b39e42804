"""Live servers for the benchmarks: ``slicebox serve`` and Debian's Orthanc, on loopback.

Each server runs in its own process group (so stopping it also stops gunicorn's workers and
the embedded job worker) with its data in a folder the caller owns.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import psutil

SUPERUSER = "admin"
PASSWORD = "benchmark-password"
ORTHANC = "/usr/sbin/Orthanc"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A started server process (group leader) and the URL it answers on."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    def memory(self) -> tuple[int, int, int]:
        """RSS and PSS in bytes, summed over the server and all its descendants (gunicorn
        master + workers, job worker), and the number of processes.

        RSS counts pages the forked workers share with their master once per process; PSS
        splits shared pages between them, so it is the fairer total.
        """
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0, 0, 0
        rss = pss = 0
        for p in procs:
            try:
                info = p.memory_full_info()
            except psutil.NoSuchProcess:
                continue
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        return rss, pss, len(procs)

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL after 15 s."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _start(
    name: str,
    argv: list[str],
    *,
    env: dict[str, str],
    log_path: Path,
    url: str,
    health_path: str,
    timeout_s: float = 60.0,
) -> Server:
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the server; Server.stop closes it
    proc = subprocess.Popen(
        argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(name, url, proc, log_path, log)
    health_url = url + health_path
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            server.stop()
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(health_url, timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not answer on {health_url} within {timeout_s} s")


def slicebox_command() -> list[str]:
    """The ``slicebox`` console script of this interpreter's environment."""
    beside = Path(sys.executable).parent / "slicebox"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("slicebox")
    if found:
        return [found]
    raise RuntimeError("the slicebox console script is not installed (pip install -e .)")


def start_slicebox(
    data_dir: Path, *, workers: int | None = None, env: dict[str, str] | None = None
) -> Server:
    """``slicebox serve`` on the embedded default in ``data_dir``, on a free loopback port."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        *slicebox_command(),
        "serve",
        "--data",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if workers is not None:
        argv += ["--workers", str(workers)]
    environ = {
        **os.environ,
        "SLICEBOX_SUPERUSER": SUPERUSER,
        "SLICEBOX_SUPERUSER_PASSWORD": PASSWORD,
        **(env or {}),
    }
    return _start(
        "slicebox",
        argv,
        env=environ,
        log_path=data_dir.parent / f"{data_dir.name}.log",
        url=f"http://127.0.0.1:{port}",
        health_path="/api/system/health",
    )


def start_orthanc(work_dir: Path) -> Server:
    """Debian's Orthanc with its index and storage in ``work_dir``, loopback only, no plugins."""
    if not Path(ORTHANC).exists():
        raise RuntimeError(f"{ORTHANC} not found (apt-get install orthanc)")
    work_dir.mkdir(parents=True, exist_ok=True)
    http_port, dicom_port = free_port(), free_port()
    config = {
        "Name": "benchmark",
        "StorageDirectory": str(work_dir / "storage"),
        "IndexDirectory": str(work_dir / "index"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [],
        "KeepAlive": True,
        "TcpNoDelay": True,
    }
    config_path = work_dir / "orthanc.json"
    config_path.write_text(json.dumps(config, indent=2))
    return _start(
        "Orthanc",
        [ORTHANC, str(config_path)],
        env={**os.environ, "TCP_NODELAY": "1"},
        log_path=work_dir / "orthanc.log",
        url=f"http://127.0.0.1:{http_port}",
        health_path="/system",
    )
