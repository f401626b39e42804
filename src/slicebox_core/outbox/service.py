"""The outbox: durable work items, claimed by workers with a lease (see :mod:`.claim`).

Producers write an item *inside* the transaction that makes the work necessary (an ingest, a
rule change), so the work exists exactly when its cause committed. A handler finishes an item
by calling ``complete(session)`` inside the transaction that records the item's effects, so
the effects and the removal of the item commit together: a crash anywhere leaves either
both or neither, and the item is processed once.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from typing import Any

import attrs
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.tables import WorkItemRow
from . import claim

log = logging.getLogger(__name__)

DEFAULT_LEASE_S = 300.0
DEFAULT_MAX_ATTEMPTS = 5


def now_ms() -> int:
    return int(time.time() * 1000)


def worker_id() -> str:
    """A name unique to this process and call: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@attrs.frozen
class WorkItem:
    """A claimed item. ``attempts`` counts claims, this one included."""

    id: int
    kind: str
    key: str
    payload: str
    generation: int
    attempts: int


class Outbox:
    """Enqueue, claim, complete and retry work items.

    Args:
        db: the index.
        lease_s: how long a claim lasts; an item whose worker died is claimable after it.
        max_attempts: claims after which a failing item is dropped (and logged).
        retry_delay_s: the first retry's delay; doubled on each further attempt.
    """

    def __init__(
        self,
        db: Database,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_delay_s: float = 5.0,
    ) -> None:
        self._db = db
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.retry_delay_s = retry_delay_s

    # producing -------------------------------------------------------------------------------
    @staticmethod
    def enqueue(session: Session, kind: str, key: str, payload: str = "") -> None:
        """Request ``(kind, key)`` inside the caller's transaction.

        A request for an item that is already waiting coalesces with it; one for an item that
        is being processed makes it run once more after the current run.
        """
        session.execute(claim.enqueue_statement(_dialect(session), kind, key, payload, now_ms()))

    @staticmethod
    def enqueue_select(session: Session, kind: str, keys: Select[Any]) -> None:
        """Request one ``kind`` item per key selected by ``keys`` (a one-column select)."""
        session.execute(claim.enqueue_select_statement(_dialect(session), kind, keys, now_ms()))

    def request(self, kind: str, key: str, payload: str = "") -> None:
        """Request ``(kind, key)`` in a transaction of its own."""
        self._db.run_write(lambda session: self.enqueue(session, kind, key, payload))

    # consuming -------------------------------------------------------------------------------
    def claim(
        self, kinds: Sequence[str], *, owner: str, limit: int, lease_s: float | None = None
    ) -> list[WorkItem]:
        """Claim up to ``limit`` due items of ``kinds`` (oldest first) for ``owner``."""
        if not kinds or limit <= 0:
            return []
        lease_ms = int((self.lease_s if lease_s is None else lease_s) * 1000)
        stmt = claim.claim_statement(
            kinds, owner=owner, now_ms=now_ms(), lease_ms=lease_ms, limit=limit
        )

        def write(session: Session) -> list[WorkItem]:
            return [WorkItem(*row) for row in session.execute(stmt).all()]

        items: list[WorkItem] = self._db.run_write(write)
        return sorted(items, key=lambda item: item.id)

    @staticmethod
    def complete(session: Session, item: WorkItem, *, owner: str) -> bool:
        """Finish ``item`` inside the transaction that records its effects.

        Returns:
            False when the item was re-requested while it ran: it is released to run again.
        """
        deleted = session.execute(claim.complete_statement(item.id, item.generation))
        if deleted.rowcount:  # type: ignore[attr-defined]
            return True
        session.execute(claim.release_statement(item.id, owner))
        return False

    def fail(self, item: WorkItem, error: str, *, owner: str) -> bool:
        """Record a failed attempt: retry later with back-off, or drop after ``max_attempts``.

        Returns:
            True when the item was dropped.
        """
        T = claim.T
        if item.attempts >= self.max_attempts:

            def drop(session: Session) -> int:
                result = session.execute(
                    delete(T).where(T.c.id == item.id, T.c.generation == item.generation)
                )
                if not result.rowcount:  # type: ignore[attr-defined]
                    session.execute(claim.release_statement(item.id, owner))
                return int(result.rowcount)  # type: ignore[attr-defined]

            return bool(self._db.run_write(drop))
        delay_ms = int(self.retry_delay_s * 1000 * 2 ** (item.attempts - 1))

        def retry(session: Session) -> None:
            session.execute(
                update(T)
                .where(T.c.id == item.id, T.c.claimed_by == owner)
                .values(
                    claimed_by=None,
                    lease_until=None,
                    available_at=now_ms() + delay_ms,
                    last_error=error[:2000],
                )
            )

        self._db.run_write(retry)
        return False

    def release(self, item: WorkItem, *, owner: str) -> None:
        """Give a claimed item back unprocessed (a worker stopping mid-batch)."""
        self._db.run_write(lambda session: session.execute(claim.release_statement(item.id, owner)))

    # observing -------------------------------------------------------------------------------
    def pending(self, kinds: Sequence[str] | None = None) -> int:
        """Items waiting or running, of ``kinds`` (all kinds when None)."""
        stmt = select(func.count()).select_from(WorkItemRow)
        if kinds is not None:
            stmt = stmt.where(WorkItemRow.kind.in_(list(kinds)))
        with self._db.read() as session:
            return int(session.scalar(stmt) or 0)
