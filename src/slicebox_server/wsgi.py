"""The gunicorn entry point: ``gunicorn slicebox_server.wsgi:application``.

Configuration comes from the TOML file named by ``SLICEBOX_CONFIG`` (optional) and the
``SLICEBOX_*`` environment. The :class:`~slicebox_core.Slicebox` (engine, connection pool) is
created on the first request a worker serves, so nothing is opened before gunicorn forks.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import falcon

from slicebox_core.config import Config, load_config

from .app import create_app


def config_from_environment(environ: Mapping[str, str] | None = None) -> Config:
    """The configuration of ``SLICEBOX_CONFIG`` plus the environment.

    Raises:
        InvalidInput: unreadable file or a bad value (the message names the key).
    """
    environ = os.environ if environ is None else environ
    return load_config(environ.get("SLICEBOX_CONFIG") or None, environ)


def build_app(config: Config) -> falcon.App:
    """Open a slicebox for ``config`` (without migrating: ``slicebox serve`` did that) and
    build its app."""
    from slicebox_core import Slicebox

    return create_app(Slicebox(config, migrate=False))


class LazyApplication:
    """A WSGI callable that builds the real app on its first call, once per process.

    Args:
        factory: builds the app (called at most once).
    """

    def __init__(self, factory: Callable[[], falcon.App]) -> None:
        self._factory = factory
        self._app: falcon.App | None = None
        self._lock = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        app = self._app
        if app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._factory()
                app = self._app
        return app(environ, start_response)


application = LazyApplication(lambda: build_app(config_from_environment()))
