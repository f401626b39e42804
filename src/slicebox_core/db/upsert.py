"""``INSERT ... ON CONFLICT`` for SQLite and PostgreSQL through one call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def _insert(session: Session, table: Table) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(
    session: Session,
    table: Table,
    values: Mapping[str, Any],
    conflict: Sequence[str],
    *,
    returning: bool = True,
) -> int | None:
    """Insert unless a row with the same ``conflict`` columns exists; returns the new id or None.

    Concurrent inserts of the same key are safe: on PostgreSQL the second waits for the first
    to commit and then does nothing; on SQLite writers are serialized anyway.
    """
    stmt = (
        _insert(session, table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict))
    )
    if not returning:
        session.execute(stmt)
        return None
    return session.execute(stmt.returning(table.c.id)).scalar()


def upsert(
    session: Session,
    table: Table,
    values: Mapping[str, Any],
    conflict: Sequence[str],
) -> None:
    """Insert, or update the non-key columns of the existing row."""
    stmt = _insert(session, table).values(**values)
    updates = {k: stmt.excluded[k] for k in values if k not in conflict}
    session.execute(stmt.on_conflict_do_update(index_elements=list(conflict), set_=updates))
