"""Files in a local folder, one per key; temporary files in ``<root>/.tmp``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import NotFound
from .base import check_key, raise_if_full


class LocalStorage:
    """The embedded default backend."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._spool = self.root / ".tmp"
        self._spool.mkdir(exist_ok=True)

    @property
    def spool_dir(self) -> Path:
        return self._spool

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, path: Path) -> None:
        """Rename the (already fsynced) file into place; :meth:`sync` makes it durable."""
        try:
            os.replace(path, self._path(key))
        except OSError as exc:
            raise_if_full(exc)
            raise

    def sync(self) -> None:
        """Make renames durable (fsync of the folder).

        Called by ingest after its transaction committed and before it answers, so the
        database lock is not held during the flush but nothing is acknowledged unflushed.
        """
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise NotFound(f"File not found: {key}") from None

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"File not found: {key}") from None

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass

    def keys(self) -> Iterator[str]:
        with os.scandir(self.root) as entries:
            for entry in entries:
                if not entry.name.startswith(".") and entry.is_file(follow_symlinks=False):
                    yield entry.name
