"""slicebox_server: the REST API over :class:`slicebox_core.Slicebox` (falcon, WSGI)."""

from .app import create_app

__all__ = ["create_app"]
