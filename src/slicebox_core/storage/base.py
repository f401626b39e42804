"""The storage interface every backend implements.

Files reach storage in two steps: the caller *spools* bytes to a temporary file in
:attr:`Storage.spool_dir` (same file system as local storage, so the final step is a rename),
then :meth:`Storage.put_file` moves it under its final key. A key is the file's whole name
(``"<image id>"``, or ``"<image id>.<suffix>"`` for a replacement); keys never contain ``/``.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from ..errors import InsufficientStorage, InvalidInput

if TYPE_CHECKING:
    from ..config import Config


class Storage(Protocol):
    """A flat namespace of immutable files."""

    @property
    def spool_dir(self) -> Path:
        """Folder for temporary files that will be handed to :meth:`put_file`."""
        ...

    def put_file(self, key: str, path: Path) -> None:
        """Move the finished temporary file ``path`` under ``key`` (atomic; see :meth:`sync`).

        Raises:
            InsufficientStorage: no room left; ``path`` is left for the caller to remove.
        """
        ...

    def sync(self) -> None:
        """Make every completed :meth:`put_file` durable (called after the index commit)."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Open the file for streaming reads.

        Raises:
            NotFound: no such key.
        """
        ...

    def size(self, key: str) -> int:
        """Size in bytes. Raises NotFound."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A local path to the file when the backend has one (fast path), else None."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file; a missing key is not an error."""
        ...

    def keys(self) -> Iterator[str]:
        """All stored keys (used by the consistency check and the orphan sweeper)."""
        ...


def check_key(key: str) -> str:
    """Reject keys that could escape the storage namespace."""
    if not key or "/" in key or "\\" in key or key.startswith(".") or "\x00" in key:
        raise InvalidInput(f"invalid storage key {key!r}")
    return key


def raise_if_full(exc: OSError) -> None:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        raise InsufficientStorage("Storage is full: the file was not stored") from exc


def open_storage(config: Config) -> Storage:
    """Build the backend the configuration names."""
    from ..config import S3StorageConfig
    from .local import LocalStorage

    if isinstance(config.storage, S3StorageConfig):
        from .s3 import S3Storage

        return S3Storage(config.storage, spool_dir=Path(config.data_dir) / "tmp")
    return LocalStorage(config.storage_path)
