"""Log entries in the ``Log`` table, mirrored to Python logging."""

from __future__ import annotations

import logging
import time

from sqlalchemy import delete, select

from ..db.engine import Database
from ..db.tables import LogRow
from ..models.system import LogEntry, LogEntryType

pylog = logging.getLogger("slicebox")

_LEVELS = {
    LogEntryType.DEFAULT: logging.INFO,
    LogEntryType.INFO: logging.INFO,
    LogEntryType.WARN: logging.WARNING,
    LogEntryType.ERROR: logging.ERROR,
}


def now_ms() -> int:
    return int(time.time() * 1000)


def _entry(row: LogRow) -> LogEntry:
    return LogEntry(row.id, row.created, LogEntryType(row.type), row.subject, row.message)


class LogService:
    """Write and browse log entries. Messages must never contain patient names or IDs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, entry_type: LogEntryType, subject: str, message: str) -> LogEntry:
        pylog.log(_LEVELS[entry_type], "[%s] %s", subject, message)
        row = LogRow(created=now_ms(), type=entry_type.value, subject=subject, message=message)

        def write(session: object) -> LogEntry:
            session.add(row)  # type: ignore[attr-defined]
            session.flush()  # type: ignore[attr-defined]
            return _entry(row)

        return self._db.run_write(write)  # type: ignore[no-any-return,unused-ignore]

    def info(self, subject: str, message: str) -> LogEntry:
        return self.add(LogEntryType.INFO, subject, message)

    def warn(self, subject: str, message: str) -> LogEntry:
        return self.add(LogEntryType.WARN, subject, message)

    def error(self, subject: str, message: str) -> LogEntry:
        return self.add(LogEntryType.ERROR, subject, message)

    def list(
        self,
        *,
        start_index: int = 0,
        count: int = 20,
        subject: str | None = None,
        entry_type: LogEntryType | None = None,
    ) -> list[LogEntry]:
        """Newest first, with optional exact subject and type filters."""
        stmt = select(LogRow).order_by(LogRow.created.desc(), LogRow.id.desc())
        if subject is not None:
            stmt = stmt.where(LogRow.subject == subject)
        if entry_type is not None:
            stmt = stmt.where(LogRow.type == entry_type.value)
        with self._db.read() as session:
            rows = session.scalars(stmt.offset(start_index).limit(count)).all()
        return [_entry(r) for r in rows]

    def delete(self, entry_id: int) -> None:
        with self._db.write() as session:
            session.execute(delete(LogRow).where(LogRow.id == entry_id))

    def clear(self) -> None:
        with self._db.write() as session:
            session.execute(delete(LogRow))
