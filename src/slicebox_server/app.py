"""The WSGI application: a function of a :class:`~slicebox_core.Slicebox`.

    >>> from slicebox_core import Slicebox
    >>> from slicebox_server import create_app
    >>> app = create_app(Slicebox.open("slicebox-data"))

The server holds no state of its own and no business logic: resources parse, call the
facade, serialize with :mod:`slicebox_core.wire`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon

from . import errors
from .audit import AuditMiddleware
from .auth import AuthMiddleware
from .converters import CONVERTERS
from .routes import add_routes
from .security import BodyLimits, SecurityHeaders

if TYPE_CHECKING:
    from slicebox_core import Slicebox


def create_app(sb: Slicebox) -> falcon.App:
    """Build the falcon app serving ``sb``.

    Args:
        sb: an open slicebox; the app uses it from every request thread.
    """
    middleware: list[Any] = [
        AuditMiddleware(sb.log),  # first: sees the caller and status of refused calls too
        AuthMiddleware(sb.users, sb.config.server.trusted_proxies),
        BodyLimits(sb.config.server),
        SecurityHeaders(),
    ]
    app = falcon.App(middleware=middleware)
    # Uploads are streamed by the resources; no form is ever parsed implicitly.
    app.req_options.auto_parse_form_urlencoded = False
    app.req_options.strip_url_path_trailing_slash = True
    app.resp_options.secure_cookies_by_default = False
    app.router_options.converters.update(CONVERTERS)
    errors.register(app)
    add_routes(app, sb)
    return app
