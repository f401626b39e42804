"""Helpers shared by the server and client tests: a real slicebox with a known superuser."""

from __future__ import annotations

from pathlib import Path

import falcon
import httpx

from slicebox_client import SliceboxClient
from slicebox_core import Slicebox, load_config
from slicebox_server import create_app

SUPERUSER = "admin"
PASSWORD = "secret"
BASE_URL = "http://testserver"


def open_box(data_dir: Path, database_url: str | None = None, **overrides: object) -> Slicebox:
    """A migrated slicebox whose superuser is admin/secret."""
    settings: dict[str, object] = {
        "data_dir": str(data_dir),
        "superuser.user": SUPERUSER,
        "superuser.password": PASSWORD,
        **overrides,
    }
    if database_url:
        settings["database.url"] = database_url
    sb = Slicebox(load_config(None, {}, overrides=settings))
    sb.users.ensure_superuser()
    return sb


def client_for(
    app: falcon.App, user: str | None = SUPERUSER, password: str | None = PASSWORD
) -> SliceboxClient:
    """A typed client talking to ``app`` in-process."""
    return SliceboxClient(
        BASE_URL, user, password, transport=httpx.WSGITransport(app=app)
    )


def http_for(app: falcon.App, *, auth: bool = True) -> httpx.Client:
    """A raw httpx client for ``app`` (for headers and bodies the typed client hides)."""
    return httpx.Client(
        base_url=BASE_URL,
        transport=httpx.WSGITransport(app=app),
        auth=(SUPERUSER, PASSWORD) if auth else None,
    )


__all__ = ["BASE_URL", "PASSWORD", "SUPERUSER", "client_for", "create_app", "http_for", "open_box"]
