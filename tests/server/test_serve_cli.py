"""``slicebox serve`` as a real process: gunicorn, workers, a client over TCP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from slicebox_client import SliceboxClient
from slicebox_core.errors import PeerUnavailable

from ..factories import dicom_bytes

pytestmark = pytest.mark.integration

PASSWORD = "integration-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def slicebox_command() -> list[str]:
    return [sys.executable, "-c", "from slicebox_server.cli import main; raise SystemExit(main())"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "SLICEBOX_SUPERUSER_PASSWORD": PASSWORD}
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            *slicebox_command(),
            "serve",
            "--data",
            str(tmp_path / "data"),
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with SliceboxClient(url, timeout=2) as probe:
            while True:
                try:
                    if probe.health():
                        break
                except PeerUnavailable:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail((tmp_path / "serve.log").read_text(errors="replace"))
                time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    assert process.returncode == 0, (tmp_path / "serve.log").read_text(errors="replace")


def test_serve_upload_and_list(server: str, tmp_path: Path) -> None:
    with SliceboxClient(server, "admin", PASSWORD) as client:
        result = client.upload(dicom_bytes(patient_name="Served^Patient"))
        assert result.created
        assert [p.patient_name for p in client.patients()] == ["Served^Patient"]
        # a chunked upload (no Content-Length) is streamed through gunicorn
        data = dicom_bytes(patient_id="CHUNKED")
        chunks = (data[i : i + 1000] for i in range(0, len(data), 1000))
        assert client.upload(chunks).created
        path = tmp_path / "f.dcm"
        path.write_bytes(dicom_bytes(patient_id="MULTI"))
        assert client.upload(path, multipart=True).created
        assert len(client.patients()) == 3
        image_id = result.image.id
        assert client.download(image_id)[128:132] == b"DICM"


def test_version_command() -> None:
    out = subprocess.run(
        [*slicebox_command(), "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("slicebox ")
