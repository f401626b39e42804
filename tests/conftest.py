"""Shared fixtures: a real Slicebox on SQLite and on PostgreSQL.

PostgreSQL isolation: every test gets its own schema (created, migrated, dropped), reached
through ``search_path`` in the connection URL. The server URL comes from
``SLICEBOX_TEST_POSTGRES_URL`` (default: the local trust-auth server, database ``test``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from slicebox_core import Slicebox

POSTGRES_URL = os.environ.get(
    "SLICEBOX_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Index URL for both backends; every index test runs on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'index.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def sb(db_url: str, tmp_path: Path) -> Iterator[Slicebox]:
    """A real Slicebox on a temp folder, with SQLite or PostgreSQL as index."""
    box = Slicebox.open(tmp_path / "data", database_url=db_url)
    try:
        yield box
    finally:
        box.close()


@pytest.fixture
def sb_sqlite(tmp_path: Path) -> Iterator[Slicebox]:
    """The embedded default only (for tests that are not about the index)."""
    box = Slicebox.open(tmp_path / "data")
    try:
        yield box
    finally:
        box.close()
