"""Rate limiting of password checks, shared by every process through the index.

gunicorn runs several worker processes (and PostgreSQL deployments several hosts), so an
in-memory counter would let an attacker multiply the allowance by the number of processes.
Each failed password check writes one row per key (the user name and the client address);
before a password is checked, the failures of both keys within the window are counted.

Check and record are not one atomic step: concurrent attempts may overshoot a limit by the
number of requests in flight, never by more.
"""

from __future__ import annotations

import hashlib
import math
import time

import attrs
from sqlalchemy import delete, select

from ..config import SessionConfig
from ..db.engine import Database
from ..db.tables import LoginAttemptRow
from ..errors import TooManyRequests


def _now_ms() -> int:
    return int(time.time() * 1000)


def user_key(name: str) -> str:
    """The key of a user name (hashed: it may be a password typed into the wrong field)."""
    return "user:" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:64]


def client_key(address: str) -> str:
    """The key of a client address."""
    return "client:" + hashlib.sha256(address.encode("utf-8")).hexdigest()[:64]


@attrs.frozen
class Limits:
    """How many failures each key may have within ``window_s`` (0 = unlimited)."""

    window_s: int = 900
    per_user: int = 10
    per_client: int = 100

    @classmethod
    def of(cls, config: SessionConfig) -> Limits:
        """The limits configured in ``[sessions]``."""
        return cls(
            config.failure_window_s, config.max_failures_per_user, config.max_failures_per_client
        )


class LoginLimiter:
    """Counts failed password checks per user name and per client address.

    Args:
        db: the index, shared by all processes.
        limits: allowance per key and window.
    """

    def __init__(self, db: Database, limits: Limits) -> None:
        self._db = db
        self._limits = limits

    def _keys(self, name: str, client: str) -> list[tuple[str, int]]:
        keys = [(user_key(name), self._limits.per_user)]
        if client:
            keys.append((client_key(client), self._limits.per_client))
        return [(key, limit) for key, limit in keys if limit > 0]

    def check(self, name: str, client: str) -> None:
        """Refuse when either key used up its allowance.

        Raises:
            TooManyRequests: with the seconds until the oldest counted failure expires.
        """
        window_ms = self._limits.window_s * 1000
        if window_ms <= 0:
            return
        now = _now_ms()
        wait_ms = 0
        with self._db.read() as session:
            for key, limit in self._keys(name, client):
                # the limit-th newest failure: once it leaves the window, one more is allowed
                edge = session.scalars(
                    select(LoginAttemptRow.created)
                    .where(LoginAttemptRow.key == key, LoginAttemptRow.created > now - window_ms)
                    .order_by(LoginAttemptRow.created.desc())
                    .offset(limit - 1)
                    .limit(1)
                ).first()
                if edge is not None:
                    wait_ms = max(wait_ms, edge + window_ms - now)
        if wait_ms > 0:
            raise TooManyRequests(
                "Too many failed login attempts; try again later",
                retry_after=max(1, math.ceil(wait_ms / 1000)),
            )

    def record_failure(self, name: str, client: str) -> None:
        """Count one failed check against the user name and the client."""
        keys = [key for key, _ in self._keys(name, client)]
        if not keys or self._limits.window_s <= 0:
            return
        now = _now_ms()

        def write(session: object) -> None:
            session.add_all(  # type: ignore[attr-defined]
                [LoginAttemptRow(key=key, created=now) for key in keys]
            )

        self._db.run_write(write)

    def reset_user(self, name: str) -> None:
        """Forget the failures of a user name (after its correct password was given)."""
        key = user_key(name)
        with self._db.read() as session:
            found = session.scalars(
                select(LoginAttemptRow.id).where(LoginAttemptRow.key == key).limit(1)
            ).first()
        if found is None:  # the common case costs a read, not a write
            return
        self._db.run_write(
            lambda session: session.execute(
                delete(LoginAttemptRow).where(LoginAttemptRow.key == key)
            )
        )

    def purge(self) -> int:
        """Delete failures older than the window; returns how many."""
        cutoff = _now_ms() - self._limits.window_s * 1000
        with self._db.write() as session:
            result = session.execute(
                delete(LoginAttemptRow).where(LoginAttemptRow.created <= cutoff)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
