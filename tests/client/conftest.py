"""Client fixtures: the typed client over an in-process app on a real slicebox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import falcon
import pytest

from slicebox_client import SliceboxClient
from slicebox_core import Slicebox
from slicebox_server import create_app

from ..server.fixtures import client_for, make_template, open_box


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated index with the superuser, copied by ``box``."""
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def box(tmp_path: Path, template: Path) -> Iterator[Slicebox]:
    sb = open_box(tmp_path / "data", template=template)
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture
def app(box: Slicebox) -> falcon.App:
    return create_app(box)


@pytest.fixture
def client(app: falcon.App) -> Iterator[SliceboxClient]:
    with client_for(app) as c:
        yield c
