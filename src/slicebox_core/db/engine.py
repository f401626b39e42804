"""Engine and sessions for SQLite (embedded) and PostgreSQL (scale-out).

SQLite: WAL journal, a busy timeout, foreign keys on, and ``BEGIN IMMEDIATE`` for write
sessions, so writers queue on the database lock instead of failing half-way with "database is
locked". PostgreSQL: READ COMMITTED; concurrent inserts of the same row are made safe by
``INSERT ... ON CONFLICT DO NOTHING`` in the services.

Never create a :class:`Database` before gunicorn forks: each worker opens its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from .tables import Base


class Database:
    """Owns the engines of one index and hands out sessions."""

    def __init__(self, url: str, *, pool_size: int = 5, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self._prepare_sqlite_file(url)
            self.engine = self._sqlite_engine(url, immediate=False, echo=echo)
            self.write_engine = self._sqlite_engine(url, immediate=True, echo=echo)
        else:
            self.engine = create_engine(
                url,
                echo=echo,
                hide_parameters=True,  # SQL parameters hold patient data: never in messages
                pool_size=pool_size,
                max_overflow=pool_size * 2,
                pool_pre_ping=True,
            )
            self.write_engine = self.engine
        self._lock_path = self._sqlite_lock_path(url) if self.is_sqlite else None
        self._thread_lock = threading.Lock()
        self._local = threading.local()
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)

    @staticmethod
    def _sqlite_lock_path(url: str) -> str | None:
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if not path or path == ":memory:":
            return None
        return path + ".writelock"

    @staticmethod
    def _prepare_sqlite_file(url: str) -> None:
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _sqlite_engine(url: str, *, immediate: bool, echo: bool) -> Engine:
        # pooled: opening a connection runs the PRAGMAs, and closing the last one checkpoints
        # the WAL — both far too slow to do per request
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,  # SQL parameters hold patient data: never in messages
            pool_size=8,
            max_overflow=16,
            pool_pre_ping=False,
            connect_args={"check_same_thread": False, "timeout": 60},
        )

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; closed (its transaction rolled back) at the end.

        Closing detaches loaded rows without expiring them, so they stay readable.
        """
        with self._read() as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._writer_turn(), self._write() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """On SQLite, queue writers on a lock that wakes them at once.

        SQLite's own busy handler polls with sleeps of up to 100 ms, so writers from several
        processes (gunicorn workers, the background worker) waste most of their time asleep.
        A thread lock orders this process's writers; an ``flock`` on a file beside the
        database orders the processes. Re-entrant: an inner write in the same thread passes.
        """
        if self._lock_path is None:
            yield
            return
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
            return
        with self._thread_lock:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._local.depth = 1
                try:
                    yield
                finally:
                    self._local.depth = 0
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def run_write(self, fn: Any, *, attempts: int = 5) -> Any:
        """Run ``fn(session)`` in a write transaction, retrying on transient lock errors."""
        delay = 0.05
        for attempt in range(attempts):
            try:
                with self.write() as session:
                    return fn(session)
            except OperationalError as exc:
                transient = "locked" in str(exc) or "deadlock" in str(exc).lower()
                if not transient or attempt == attempts - 1:
                    raise
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def create_all(self) -> None:
        """Create missing tables directly (tests); production uses :func:`migrate`."""
        Base.metadata.create_all(self.write_engine)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()
