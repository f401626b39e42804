"""Zip export sets (spec §3.3, §5.18.4)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..db.engine import Database
from ..index.service import IndexService
from ..storage.base import Storage


class ExportService:
    def __init__(self, db: Database, storage: Storage, index: IndexService) -> None:
        self._db = db
        self._storage = storage
        self._index = index

    def create(self, image_ids: Iterable[int]) -> int | None:
        """Register an export set; None for an empty list. Kept 6 hours."""
        raise NotImplementedError

    def iter_zip(self, export_id: int) -> Iterator[bytes]:
        """Stream the zip (entries named as in spec §5.18.4). Raises NotFound before the
        first chunk for an unknown set."""
        raise NotImplementedError
