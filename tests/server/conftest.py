"""Server fixtures: a real slicebox (SQLite; ``any_box`` also PostgreSQL) behind the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import falcon
import httpx
import pytest
from falcon import testing

from slicebox_client import SliceboxClient
from slicebox_core import Slicebox
from slicebox_server import create_app

from .fixtures import client_for, http_for, make_template, open_box


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated index with the superuser, copied by ``box``."""
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def box(tmp_path: Path, template: Path) -> Iterator[Slicebox]:
    """SQLite + local folder, superuser admin/secret."""
    sb = open_box(tmp_path / "data", template=template)
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture
def any_box(db_url: str, tmp_path: Path) -> Iterator[Slicebox]:
    """Like ``box``, once on SQLite and once on PostgreSQL."""
    sb = open_box(tmp_path / "data", db_url)
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture
def app(box: Slicebox) -> falcon.App:
    return create_app(box)


@pytest.fixture
def client(app: falcon.App) -> Iterator[SliceboxClient]:
    """Typed client authenticated as the superuser."""
    with client_for(app) as c:
        yield c


@pytest.fixture
def anon(app: falcon.App) -> Iterator[SliceboxClient]:
    """Typed client without credentials."""
    with client_for(app, None, None) as c:
        yield c


@pytest.fixture
def http(app: falcon.App) -> Iterator[httpx.Client]:
    """Raw httpx client authenticated as the superuser."""
    with http_for(app) as c:
        yield c


@pytest.fixture
def sim(app: falcon.App) -> testing.TestClient:
    """falcon's simulator, for raw requests (no credentials unless given)."""
    return testing.TestClient(app)
