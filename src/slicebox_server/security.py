"""Response security headers and request body limits, for every route in one place.

Headers: every response says ``nosniff``, may not be framed, sends no referrer and carries a
content security policy (``default-src 'none'`` for the API, which serves no documents;
``'self'`` for the web UI). API responses are ``Cache-Control: no-store`` unless the resource
chose otherwise: they hold patient data and session-dependent answers. Over TLS,
``Strict-Transport-Security`` tells browsers to stay on https.

Body limits (spec §2.1): a request whose declared ``Content-Length`` exceeds the limit is
refused with 413 before its responder runs. Upload responders (those whose documented body
is an :class:`~slicebox_server.openapi.Upload`) use ``server.max_upload_bytes`` (0 = none);
every other body is limited to ``server.max_body_bytes`` (64 MiB by default). Bodies without
a length (chunked) are limited while they are read (:func:`~.serialization.read_json`,
:mod:`.uploads`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import falcon

from slicebox_core.config import ServerConfig
from slicebox_core.errors import PayloadTooLarge

from .auth import has_responder
from .openapi import Operation, Upload

API_CSP: Final = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
UI_CSP: Final = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
HSTS: Final = "max-age=31536000"

COMMON_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def is_tls(req: falcon.Request) -> bool:
    """True when the client talks https (directly, or to a proxy that says so)."""
    return req.scheme == "https" or req.forwarded_scheme == "https"


class SecurityHeaders:
    """Adds the security headers to every response, errors included."""

    def process_response(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        """Set the headers (never overriding a resource's own ``Cache-Control``)."""
        for name, value in COMMON_HEADERS.items():
            resp.set_header(name, value)
        api = req.path == "/api" or req.path.startswith("/api/")
        resp.set_header("Content-Security-Policy", API_CSP if api else UI_CSP)
        if api and resp.get_header("Cache-Control") is None:
            resp.set_header("Cache-Control", "no-store")
        if is_tls(req):
            resp.set_header("Strict-Transport-Security", HSTS)


def is_upload(resource: object, method: str) -> bool:
    """True when the responder's documented body is an :class:`Upload`."""
    docs: Mapping[str, Operation] = getattr(resource, "docs", None) or {}
    op = docs.get(method.upper())
    return op is not None and isinstance(op.body, Upload)


def body_limit(server: ServerConfig, resource: object, method: str) -> int:
    """The largest body ``method`` on ``resource`` accepts; 0 = unlimited."""
    return server.max_upload_bytes if is_upload(resource, method) else server.max_body_bytes


class BodyLimits:
    """Refuses declared bodies over the limit of their responder (413).

    Args:
        server: the server configuration holding the limits.
    """

    def __init__(self, server: ServerConfig) -> None:
        self._server = server

    def process_resource(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        """Raise before the responder reads anything.

        Raises:
            PayloadTooLarge: a Content-Length over the responder's limit.
        """
        if resource is None or not has_responder(resource, req.method):
            return
        limit = body_limit(self._server, resource, req.method)
        length = req.content_length
        if limit and length is not None and length > limit:
            what = "Uploads" if is_upload(resource, req.method) else "Request bodies"
            raise PayloadTooLarge(f"{what} are limited to {limit} bytes")
