"""The only place that knows HTTP status codes: core exceptions -> responses.

Every error body is ``text/plain`` holding a short message, as in the original (spec §2.3).
Three handlers are registered on the app:

* :func:`handle_slicebox_error` on :class:`~slicebox_core.errors.SliceboxError` (falcon picks
  handlers by the exception's MRO, so one registration covers the whole tree);
* :func:`serialize_http_error` for falcon's own errors (unknown route 404, 405, bad headers);
* :func:`handle_unexpected` for anything else: 500, logged with a request id; the body holds
  only that id, never the exception text (which could carry patient data).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import falcon

from slicebox_core.errors import (
    Conflict,
    Forbidden,
    InsufficientStorage,
    InvalidDicom,
    InvalidInput,
    NotFound,
    NotRenderable,
    PayloadTooLarge,
    PeerUnavailable,
    SliceboxError,
    TooManyRequests,
    Unauthorized,
)

log = logging.getLogger("slicebox.server")

# Ordered most specific first; the first isinstance match wins.
STATUS: tuple[tuple[type[SliceboxError], int], ...] = (
    (InvalidDicom, 400),
    (InvalidInput, 400),
    (NotFound, 404),
    (Conflict, 409),
    (Unauthorized, 401),
    (Forbidden, 403),
    (TooManyRequests, 429),
    (PayloadTooLarge, 413),
    (InsufficientStorage, 507),
    (NotRenderable, 501),
    (PeerUnavailable, 502),
)

TEXT = "text/plain; charset=utf-8"


def status_of(ex: SliceboxError) -> int:
    """The HTTP status of a core exception (500 for a bare :class:`SliceboxError`)."""
    return next((code for cls, code in STATUS if isinstance(ex, cls)), 500)


def write_text_error(resp: falcon.Response, status: int, message: str) -> None:
    """Make ``resp`` a plain-text error response (no challenge header, ever)."""
    resp.status = status
    resp.content_type = TEXT
    resp.text = message
    resp.stream = None
    resp.delete_header("WWW-Authenticate")


def handle_slicebox_error(
    req: falcon.Request, resp: falcon.Response, ex: SliceboxError, params: dict[str, Any]
) -> None:
    """Map a core exception to its status; the message is the body (spec §2.3)."""
    status = status_of(ex)
    write_text_error(resp, status, str(ex))
    if isinstance(ex, TooManyRequests):
        resp.set_header("Retry-After", str(ex.retry_after))
    if status == 500:
        log.error("%s %s failed: %s", req.method, req.path, type(ex).__name__)


def serialize_http_error(
    req: falcon.Request, resp: falcon.Response, exception: falcon.HTTPError
) -> None:
    """Render falcon's own errors as plain text, like ours."""
    message = exception.description or exception.title or ""
    resp.content_type = TEXT
    resp.text = message
    resp.delete_header("WWW-Authenticate")


def handle_unexpected(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict[str, Any]
) -> None:
    """500 for a bug: log it under a request id, answer with the id only.

    The log line names the method and path (ids, never query strings, which may hold patient
    names from a ``filter``) and the traceback.
    """
    request_id = uuid.uuid4().hex[:16]
    log.error(
        "request %s: %s %s raised %s",
        request_id,
        req.method,
        req.path,
        type(ex).__name__,
        exc_info=ex,
    )
    write_text_error(resp, 500, f"Internal server error (request id {request_id})")
    resp.set_header("X-Request-Id", request_id)


def handle_data_error(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict[str, Any]
) -> None:
    """A value the database cannot hold (a NUL character, an integer out of range): 400."""
    write_text_error(resp, 400, "A value in the request cannot be stored or compared")


def register(app: falcon.App) -> None:
    """Install the handlers above on ``app``."""
    from sqlalchemy.exc import DataError

    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(DataError, handle_data_error)
    app.add_error_handler(SliceboxError, handle_slicebox_error)
    app.set_error_serializer(serialize_http_error)
