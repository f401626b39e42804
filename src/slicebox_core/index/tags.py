"""Series tags: a global vocabulary and links to series (spec §3.5, §5.8)."""

from __future__ import annotations

import builtins

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..db.engine import Database
from ..db.tables import SeriesRow, SeriesSeriesTagRow, SeriesTagRow
from ..db.upsert import insert_ignore
from ..errors import InvalidInput, NotFound
from ..models.index import SeriesTag
from .query import check_paging, check_text

NAME_MAX = 180


def _check_name(name: str) -> str:
    name = name.strip() if isinstance(name, str) else ""
    check_text(name)
    if not name:
        raise InvalidInput("A series tag needs a non-empty name")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"A series tag name has at most {NAME_MAX} characters")
    return name


class SeriesTagService:
    """Create, rename, delete tags; link and unlink them to series."""

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
        """All tags; ``order_by`` is ``id`` or ``name`` (others ignored, as in the original)."""
        check_paging(start_index, count)
        col = SeriesTagRow.name if order_by == "name" else SeriesTagRow.id
        stmt = select(SeriesTagRow).order_by(col.asc() if order_ascending else col.desc())
        if filter:
            stmt = stmt.where(SeriesTagRow.name.icontains(check_text(filter), autoescape=True))
        with self._db.read() as session:
            rows = session.scalars(stmt.offset(start_index).limit(count)).all()
        return [SeriesTag(r.id, r.name) for r in rows]

    def create(self, name: str) -> SeriesTag:
        """Raises InvalidInput for an empty or existing name (400, as the original)."""
        name = _check_name(name)
        with self._db.write() as session:
            new_id = insert_ignore(
                session,
                SeriesTagRow.__table__,  # type: ignore[arg-type]
                {"name": name},
                ["name"],
            )
        if new_id is None:
            raise InvalidInput(f"A series tag named {name!r} already exists")
        return SeriesTag(new_id, name)

    def get(self, tag_id: int) -> SeriesTag:
        """Raises NotFound (the original answered 500)."""
        with self._db.read() as session:
            row = session.get(SeriesTagRow, tag_id)
        if row is None:
            raise NotFound(f"Series tag not found: {tag_id}")
        return SeriesTag(row.id, row.name)

    def rename(self, tag_id: int, name: str) -> SeriesTag:
        """Raises NotFound, InvalidInput (empty or taken name)."""
        name = _check_name(name)
        try:
            with self._db.write() as session:
                result = session.execute(
                    update(SeriesTagRow).where(SeriesTagRow.id == tag_id).values(name=name)
                )
                if result.rowcount == 0:  # type: ignore[attr-defined]
                    raise NotFound(f"Series tag not found: {tag_id}")
        except IntegrityError:
            raise InvalidInput(f"A series tag named {name!r} already exists") from None
        return SeriesTag(tag_id, name)

    def delete(self, tag_id: int) -> None:
        with self._db.write() as session:
            session.execute(delete(SeriesTagRow).where(SeriesTagRow.id == tag_id))

    def of_series(self, series_id: int) -> builtins.list[SeriesTag]:
        stmt = (
            select(SeriesTagRow)
            .join(SeriesSeriesTagRow, SeriesSeriesTagRow.seriestagid == SeriesTagRow.id)
            .where(SeriesSeriesTagRow.seriesid == series_id)
            .order_by(SeriesTagRow.name)
        )
        with self._db.read() as session:
            return [SeriesTag(r.id, r.name) for r in session.scalars(stmt)]

    def tag_series(self, series_id: int, name: str) -> SeriesTag:
        """Link by name, creating the tag if needed (idempotent). Raises NotFound (series)."""
        name = _check_name(name)
        with self._db.write() as session:
            if session.get(SeriesRow, series_id) is None:
                raise NotFound(f"Series not found: {series_id}")
            insert_ignore(
                session,
                SeriesTagRow.__table__,  # type: ignore[arg-type]
                {"name": name},
                ["name"],
                returning=False,
            )
            tag_id = session.execute(
                select(SeriesTagRow.id).where(SeriesTagRow.name == name)
            ).scalar_one()
            insert_ignore(
                session,
                SeriesSeriesTagRow.__table__,  # type: ignore[arg-type]
                {"seriesid": series_id, "seriestagid": tag_id},
                ["seriesid", "seriestagid"],
                returning=False,
            )
        return SeriesTag(tag_id, name)

    def untag_series(self, series_id: int, tag_id: int) -> None:
        """Unlink only; the tag itself survives."""
        with self._db.write() as session:
            session.execute(
                delete(SeriesSeriesTagRow).where(
                    SeriesSeriesTagRow.seriesid == series_id,
                    SeriesSeriesTagRow.seriestagid == tag_id,
                )
            )
