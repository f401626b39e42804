"""HTTP statuses -> the core's exceptions: the reverse of ``slicebox_server.errors``.

Every exception raised for an error response carries ``status`` (the HTTP status code);
transport failures (connection refused, timeouts) become
:class:`~slicebox_core.errors.PeerUnavailable` with ``status`` None.
"""

from __future__ import annotations

import httpx

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

EXCEPTIONS: dict[int, type[SliceboxError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    429: TooManyRequests,
    501: NotRenderable,
    502: PeerUnavailable,
    507: InsufficientStorage,
}

_INVALID_DICOM = "Invalid DICOM data"


def error_for_response(response: httpx.Response) -> SliceboxError:
    """The exception for an error response (its body must have been read).

    The message is the response's text, or ``"<status> <METHOD> <path>"`` for an empty body
    (e.g. the empty 404 of "get by id" routes).
    """
    status = response.status_code
    message = response.text.strip() if response.content else ""
    if not message:
        request = response.request
        message = f"{status} {response.reason_phrase}: {request.method} {request.url.path}"
    exc: SliceboxError
    if status == 429:
        exc = TooManyRequests(message, retry_after=_retry_after(response))
    elif status == 400 and message.startswith(_INVALID_DICOM):
        # InvalidDicom adds the prefix itself; strip it so the message round-trips verbatim
        exc = InvalidDicom(message[len(_INVALID_DICOM) :].removeprefix(":").strip())
    else:
        exc = EXCEPTIONS.get(status, SliceboxError)(message)
    exc.status = status  # type: ignore[attr-defined]
    return exc


def transport_error(exc: httpx.TransportError) -> PeerUnavailable:
    """A connection-level failure as :class:`PeerUnavailable` (``status`` None)."""
    error = PeerUnavailable(f"{type(exc).__name__}: {exc}")
    error.status = None  # type: ignore[attr-defined]
    return error


def _retry_after(response: httpx.Response) -> int:
    try:
        return max(0, int(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1
