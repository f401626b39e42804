"""Spooling incoming bytes to a temporary file: chunked, hashed, size-limited, fsynced."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import attrs

from ..errors import InvalidInput, PayloadTooLarge
from ..storage.base import raise_if_full

CHUNK = 1 << 20


@attrs.frozen
class Spooled:
    path: Path
    size: int
    sha256: str


def _chunks(data: object) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), CHUNK):
            yield bytes(view[start : start + CHUNK])
        return
    if isinstance(data, str | os.PathLike):
        try:
            with open(data, "rb") as f:
                yield from _read_stream(f)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise InvalidInput(f"cannot read {os.fspath(data)!r}: {exc.strerror}") from None
        return
    if hasattr(data, "read"):
        yield from _read_stream(data)  # type: ignore[arg-type]
        return
    raise InvalidInput(f"cannot ingest a {type(data).__name__}: give bytes, a path or a stream")


def _read_stream(stream: BinaryIO) -> Iterator[bytes]:
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        if isinstance(chunk, str):
            raise InvalidInput("the stream must be binary")
        yield chunk


def spool(data: object, spool_dir: Path, *, max_bytes: int = 0) -> Spooled:
    """Copy ``data`` (bytes, path or binary stream) to a new temporary file in ``spool_dir``.

    Raises:
        PayloadTooLarge: more than ``max_bytes`` (when > 0); nothing is kept.
        InsufficientStorage: the disk is full; nothing is kept.
        InvalidInput: an unreadable path or an unsupported input type.
    """
    fd, name = tempfile.mkstemp(prefix="tmp-", dir=spool_dir)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in _chunks(data):
                size += len(chunk)
                if max_bytes and size > max_bytes:
                    raise PayloadTooLarge(f"upload exceeds the limit of {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise_if_full(exc)
        raise
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(path, size, digest.hexdigest())


def hash_file(path: Path) -> tuple[int, str]:
    """(size, SHA-256 hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest()
