"""Series tags: a global vocabulary and links to series (spec §3.5, §5.8)."""

from __future__ import annotations

from ..db.engine import Database
from ..models.index import SeriesTag


class SeriesTagService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(
        self,
        *,
        start_index: int = 0,
        count: int = 20,
        order_by: str | None = None,
        order_ascending: bool = True,
        filter: str | None = None,
    ) -> list[SeriesTag]:
        """``order_by`` is ``id`` or ``name`` (others ignored, as in the original)."""
        raise NotImplementedError

    def create(self, name: str) -> SeriesTag:
        """Raises Conflict for an existing name, InvalidInput for an empty one."""
        raise NotImplementedError

    def get(self, tag_id: int) -> SeriesTag:
        """Raises NotFound (the original answered 500)."""
        raise NotImplementedError

    def rename(self, tag_id: int, name: str) -> SeriesTag:
        """Raises NotFound, Conflict."""
        raise NotImplementedError

    def delete(self, tag_id: int) -> None:
        raise NotImplementedError

    def of_series(self, series_id: int) -> list[SeriesTag]:
        raise NotImplementedError

    def tag_series(self, series_id: int, name: str) -> SeriesTag:
        """Link by name, creating the tag if needed (idempotent). Raises NotFound (series)."""
        raise NotImplementedError

    def untag_series(self, series_id: int, tag_id: int) -> None:
        raise NotImplementedError
