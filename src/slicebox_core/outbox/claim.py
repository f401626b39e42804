"""Statements of the outbox, as pure functions of their arguments (no session, no clock).

One claim statement serves SQLite and PostgreSQL::

    UPDATE "WorkItems" SET claimed_by=..., lease_until=..., attempts=attempts+1
    WHERE id IN (SELECT id FROM "WorkItems" WHERE <due and not leased>
                 ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED)
    RETURNING ...

PostgreSQL: concurrent workers skip each other's locked rows, so no item is claimed twice.
SQLite drops ``FOR UPDATE``; its single writer (``BEGIN IMMEDIATE``) makes the statement
atomic. A lease that runs out (a dead worker) makes the item claimable again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, Table, Update, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Delete

from ..db.tables import WorkItemRow

T: Table = WorkItemRow.__table__  # type: ignore[assignment]

RETURNED = (T.c.id, T.c.kind, T.c.key, T.c.payload, T.c.generation, T.c.attempts)


def claimable(table: Table, now_ms: int) -> Any:
    """Rows of ``table`` that nobody holds: never claimed, or their lease ran out."""
    return or_(table.c.lease_until.is_(None), table.c.lease_until < now_ms)


def claim_rows(
    table: Table, candidates: Select[Any], *, owner: str, now_ms: int, lease_ms: int
) -> Update:
    """Claim the rows of ``table`` whose ids ``candidates`` selects (its filters, order and
    limit), skipping rows another transaction has locked; ``attempts`` counts the claim.

    ``table`` needs the columns ``id``, ``claimed_by``, ``lease_until`` and ``attempts``; add
    ``.returning(...)`` to read the claimed rows. Box transfers claim their ``OutgoingImages``
    rows with it.
    """
    locked = candidates.with_for_update(skip_locked=True, of=table)
    return (
        update(table)
        .where(table.c.id.in_(locked.scalar_subquery()))
        .values(claimed_by=owner, lease_until=now_ms + lease_ms, attempts=table.c.attempts + 1)
    )


def claim_statement(
    kinds: Sequence[str], *, owner: str, now_ms: int, lease_ms: int, limit: int
) -> Update:
    """Claim up to ``limit`` due items of ``kinds`` for ``owner`` until ``now + lease``."""
    candidates = (
        select(T.c.id)
        .where(T.c.kind.in_(list(kinds)), T.c.available_at <= now_ms, claimable(T, now_ms))
        .order_by(T.c.id)
        .limit(limit)
    )
    return claim_rows(T, candidates, owner=owner, now_ms=now_ms, lease_ms=lease_ms).returning(
        *RETURNED
    )


def _insert(dialect: str) -> Any:
    return postgresql.insert(T) if dialect == "postgresql" else sqlite.insert(T)


def _on_conflict(stmt: Any) -> Any:
    """A repeated request bumps the generation (so a running item runs again), makes the
    item due now and gives it fresh attempts."""
    return stmt.on_conflict_do_update(
        index_elements=["kind", "key"],
        set_={
            "generation": T.c.generation + 1,
            "payload": stmt.excluded.payload,
            "attempts": 0,
            "last_error": "",
            "available_at": case(
                (stmt.excluded.available_at < T.c.available_at, stmt.excluded.available_at),
                else_=T.c.available_at,
            ),
        },
    )


def enqueue_statement(dialect: str, kind: str, key: str, payload: str, now_ms: int) -> Any:
    """Insert the item ``(kind, key)``, or re-request it if it exists."""
    stmt = _insert(dialect).values(
        kind=kind,
        key=key,
        payload=payload,
        created=now_ms,
        available_at=now_ms,
        attempts=0,
        generation=0,
        last_error="",
    )
    return _on_conflict(stmt)


def enqueue_select_statement(dialect: str, kind: str, keys: Select[Any], now_ms: int) -> Any:
    """Insert (or re-request) one item of ``kind`` per key selected by ``keys`` (one column).

    The select gets a WHERE clause if it has none: SQLite parses ``INSERT ... SELECT ... ON
    CONFLICT`` only then.
    """
    from sqlalchemy import String, cast, literal, true

    key_col = keys.selected_columns[0]
    rows = keys.with_only_columns(
        literal(kind, String()),
        cast(key_col, String()),
        literal("", String()),
        literal(now_ms),
        literal(now_ms),
        literal(0),
        literal(0),
        literal("", String()),
    )
    if rows.whereclause is None:
        rows = rows.where(true())
    stmt = _insert(dialect).from_select(
        [
            "kind",
            "key",
            "payload",
            "created",
            "available_at",
            "attempts",
            "generation",
            "last_error",
        ],
        rows,
    )
    return _on_conflict(stmt)


def complete_statement(item_id: int, generation: int) -> Delete:
    """Delete the item unless it was re-requested since it was claimed."""
    return delete(T).where(T.c.id == item_id, T.c.generation == generation)


def release_statement(item_id: int, owner: str, *, available_at: int | None = None) -> Update:
    """Give the item back (re-requested, or failed and retried later)."""
    values: dict[str, Any] = {"claimed_by": None, "lease_until": None}
    if available_at is not None:
        values["available_at"] = available_at
    return update(T).where(T.c.id == item_id, T.c.claimed_by == owner).values(**values)
