"""Storage fixtures: every backend behind the one :class:`Storage` protocol.

The S3 backend talks to a real moto server (one per test session, see
``tests/integration/s3_server.py``); each test gets its own bucket so listings never see
another test's objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from slicebox_core.config import S3StorageConfig
from slicebox_core.storage import LocalStorage, Storage
from tests.integration.s3_server import AWS_TEST_ENV, start_moto_server


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """Endpoint URL of a live moto S3 server, with test credentials in the environment."""
    url, stop = start_moto_server()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in AWS_TEST_ENV.items():
            mp.setenv(key, value)
        try:
            yield url
        finally:
            stop()


def s3_storage(
    url: str, spool: Path, *, bucket: str | None = None, prefix: str = "dicom"
) -> Storage:
    from slicebox_core.storage.s3 import S3Storage

    config = S3StorageConfig(
        bucket=bucket or f"b-{uuid.uuid4().hex[:12]}",
        prefix=prefix,
        endpoint_url=url,
        create_bucket=True,
    )
    return S3Storage(config, spool_dir=spool)


@pytest.fixture(
    params=["local", pytest.param("s3", marks=pytest.mark.integration)],
)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """A fresh, empty storage of each backend."""
    if request.param == "local":
        return LocalStorage(tmp_path / "dicom")
    return s3_storage(request.getfixturevalue("moto_url"), tmp_path / "spool")
