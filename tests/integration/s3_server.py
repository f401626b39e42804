"""A real S3 endpoint for tests: moto's server in a subprocess on a free loopback port.

    >>> url, stop = start_moto_server()
    >>> ...  # boto3 / S3Storage with endpoint_url=url and the credentials in AWS_TEST_ENV
    >>> stop()

The server speaks the S3 REST protocol over HTTP, so storage code goes through boto3's real
request path (signing, multipart uploads, streaming bodies) rather than an in-process mock.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable

# Fake credentials: moto accepts anything, boto3 only needs something to sign with. The config
# files point nowhere so a developer's ~/.aws profile cannot leak into the tests.
AWS_TEST_ENV: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto_server(*, timeout_s: float = 30.0) -> tuple[str, Callable[[], None]]:
    """Start ``python -m moto.server`` on a free loopback port and wait until it answers.

    Returns:
        The endpoint URL (``http://127.0.0.1:<port>``) and a function that stops the server.

    Raises:
        RuntimeError: the server exited or did not answer within ``timeout_s``.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # moto logs every request; a file (not a pipe nobody drains) keeps it from blocking.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **AWS_TEST_ENV},
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")
            stop()
            raise RuntimeError(f"moto server exited with {proc.returncode}: {err[-2000:]}")
        try:
            # moto's dashboard-free health route; any HTTP answer means it is serving.
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return url, stop
        except urllib.error.HTTPError:
            return url, stop
        except OSError:
            time.sleep(0.1)
    stop()
    raise RuntimeError(f"moto server did not answer on {url} within {timeout_s} s")
