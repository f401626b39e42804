"""Alembic migrations produce exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from slicebox_core.db.engine import Database
from slicebox_core.db.migrate import upgrade
from slicebox_core.db.tables import Base


def test_migrations_match_models(db_url: str) -> None:
    db = Database(db_url)
    upgrade(db)
    upgrade(db)  # idempotent
    with db.write_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    db.dispose()
    assert diff == []
