"""The Storage protocol, the same tests for every backend (local folder, S3 via moto)."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import uuid
from pathlib import Path

import pytest

from slicebox_core.errors import InvalidInput, NotFound
from slicebox_core.storage import LocalStorage, Storage

from .conftest import s3_storage

MiB = 1024 * 1024


def spool(storage: Storage, data: bytes) -> Path:
    """Write ``data`` to a temporary file where the backend expects it (the ingest step)."""
    path = storage.spool_dir / f"tmp-{uuid.uuid4().hex}"
    path.write_bytes(data)
    return path


def read(storage: Storage, key: str) -> bytes:
    with storage.open(key) as f:
        return f.read()


def test_put_file_moves_the_spooled_file_under_its_key(storage: Storage) -> None:
    path = spool(storage, b"DICM-bytes")

    storage.put_file("1", path)

    assert not path.exists()
    assert read(storage, "1") == b"DICM-bytes"
    assert storage.size("1") == len(b"DICM-bytes")


def test_put_file_replaces_an_existing_key(storage: Storage) -> None:
    storage.put_file("7", spool(storage, b"old"))

    storage.put_file("7", spool(storage, b"newer"))

    assert read(storage, "7") == b"newer"
    assert storage.size("7") == 5


def test_empty_file_round_trips(storage: Storage) -> None:
    storage.put_file("0", spool(storage, b""))

    assert read(storage, "0") == b""
    assert storage.size("0") == 0


def test_open_streams_in_chunks(storage: Storage) -> None:
    data = os.urandom(3 * MiB + 17)
    storage.put_file("3", spool(storage, data))

    chunks = []
    with storage.open("3") as f:
        while chunk := f.read(MiB):
            chunks.append(chunk)

    assert b"".join(chunks) == data
    assert len(chunks) >= 4


def test_delete_removes_the_file(storage: Storage) -> None:
    storage.put_file("5", spool(storage, b"x"))

    storage.delete("5")

    with pytest.raises(NotFound):
        storage.open("5")
    assert list(storage.keys()) == []


def test_delete_of_a_missing_key_is_not_an_error(storage: Storage) -> None:
    storage.delete("404")


@pytest.mark.parametrize("operation", ["open", "size"])
def test_missing_key_is_not_found(storage: Storage, operation: str) -> None:
    with pytest.raises(NotFound):
        getattr(storage, operation)("404")


def test_keys_lists_stored_files_only(storage: Storage) -> None:
    for key in ("1", "2", "10.1"):
        storage.put_file(key, spool(storage, key.encode()))
    spool(storage, b"not yet stored")  # a temporary file is not a key

    assert sorted(storage.keys()) == ["1", "10.1", "2"]


def test_keys_of_an_empty_storage(storage: Storage) -> None:
    assert list(storage.keys()) == []


def test_local_path_is_the_file_for_local_storage_and_none_for_s3(storage: Storage) -> None:
    storage.put_file("9", spool(storage, b"nine"))

    path = storage.local_path("9")

    if isinstance(storage, LocalStorage):
        assert path is not None
        assert path.read_bytes() == b"nine"
    else:
        assert path is None


BAD_KEYS = ["", "../x", "..", "a/b", "/etc/passwd", "a\\b", ".hidden", ".tmp", "a\x00b"]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_that_could_escape_the_namespace_are_rejected(storage: Storage, key: str) -> None:
    path = spool(storage, b"x")

    with pytest.raises(InvalidInput):
        storage.put_file(key, path)
    with pytest.raises(InvalidInput):
        storage.open(key)
    with pytest.raises(InvalidInput):
        storage.size(key)
    with pytest.raises(InvalidInput):
        storage.delete(key)

    assert path.exists()  # nothing was moved
    assert list(storage.keys()) == []


@pytest.mark.parametrize("key", BAD_KEYS)
def test_local_path_rejects_bad_keys_on_local_storage(tmp_path: Path, key: str) -> None:
    with pytest.raises(InvalidInput):
        LocalStorage(tmp_path / "dicom").local_path(key)


@pytest.mark.slow
def test_a_large_file_is_stored_and_read_back_streamed(storage: Storage) -> None:
    size = 50 * MiB
    block = os.urandom(MiB)
    written = hashlib.sha256()
    path = storage.spool_dir / "tmp-large"
    with open(path, "wb") as f:
        for i in range(size // MiB):
            chunk = bytes([i % 256]) + block[1:]
            f.write(chunk)
            written.update(chunk)

    tracemalloc.start()
    try:
        storage.put_file("large", path)
        read_back = hashlib.sha256()
        with storage.open("large") as f:
            while chunk := f.read(MiB):
                read_back.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert storage.size("large") == size
    assert read_back.hexdigest() == written.hexdigest()
    # Streaming, not slurping: far less than the file is ever held in Python memory.
    assert peak < size // 2, f"peak Python allocation {peak / MiB:.1f} MiB"


@pytest.mark.integration
def test_s3_prefixes_share_a_bucket_without_seeing_each_other(
    moto_url: str, tmp_path: Path
) -> None:
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    a = s3_storage(moto_url, tmp_path / "a", bucket=bucket, prefix="site-a")
    b = s3_storage(moto_url, tmp_path / "b", bucket=bucket, prefix="site-b/dicom")

    a.put_file("1", spool(a, b"from a"))
    b.put_file("1", spool(b, b"from b"))

    assert list(a.keys()) == ["1"]
    assert list(b.keys()) == ["1"]
    assert read(a, "1") == b"from a"
    assert read(b, "1") == b"from b"
    a.delete("1")
    assert read(b, "1") == b"from b"


@pytest.mark.integration
def test_s3_without_prefix_uses_the_key_as_object_name(moto_url: str, tmp_path: Path) -> None:
    storage = s3_storage(moto_url, tmp_path / "spool", prefix="")

    storage.put_file("42", spool(storage, b"x"))

    assert list(storage.keys()) == ["42"]
