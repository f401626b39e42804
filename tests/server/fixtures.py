"""Helpers shared by the server and client tests: a real slicebox with a known superuser."""

from __future__ import annotations

import shutil
from pathlib import Path

import falcon
import httpx

from slicebox_client import SliceboxClient
from slicebox_core import Slicebox, load_config
from slicebox_server import create_app

SUPERUSER = "admin"
PASSWORD = "secret"
BASE_URL = "http://testserver"
INDEX_FILE = "slicebox.sqlite"


def open_box(
    data_dir: Path,
    database_url: str | None = None,
    *,
    template: Path | None = None,
    **overrides: object,
) -> Slicebox:
    """A migrated slicebox whose superuser is admin/secret.

    Args:
        data_dir: the data directory.
        database_url: another index than the SQLite file in ``data_dir``.
        template: a data directory prepared by :func:`make_template`; its SQLite index is
            copied instead of migrating and hashing the password again (saves ~0.3 s).
        overrides: more configuration keys.
    """
    settings: dict[str, object] = {
        "data_dir": str(data_dir),
        "superuser.user": SUPERUSER,
        "superuser.password": PASSWORD,
        **overrides,
    }
    if database_url:
        settings["database.url"] = database_url
    elif template is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template / INDEX_FILE, data_dir / INDEX_FILE)
        return Slicebox(load_config(None, {}, overrides=settings), migrate=False)
    sb = Slicebox(load_config(None, {}, overrides=settings))
    sb.users.ensure_superuser()
    return sb


def make_template(data_dir: Path) -> Path:
    """A migrated SQLite index with the superuser, for :func:`open_box` to copy."""
    open_box(data_dir).close()  # closing the last connection checkpoints the WAL
    return data_dir


def client_for(
    app: falcon.App, user: str | None = SUPERUSER, password: str | None = PASSWORD
) -> SliceboxClient:
    """A typed client talking to ``app`` in-process."""
    return SliceboxClient(BASE_URL, user, password, transport=httpx.WSGITransport(app=app))


def http_for(app: falcon.App, *, auth: bool = True) -> httpx.Client:
    """A raw httpx client for ``app`` (for headers and bodies the typed client hides)."""
    return httpx.Client(
        base_url=BASE_URL,
        transport=httpx.WSGITransport(app=app),
        auth=(SUPERUSER, PASSWORD) if auth else None,
    )


__all__ = [
    "BASE_URL",
    "PASSWORD",
    "SUPERUSER",
    "client_for",
    "create_app",
    "http_for",
    "make_template",
    "open_box",
]
