"""Request parsing: JSON bodies and query parameters -> core models.

Every failure here is an :class:`~slicebox_core.errors.InvalidInput` (400) or
:class:`~slicebox_core.errors.PayloadTooLarge` (413) naming the parameter, so a resource is
one line of parsing and one call into core. Responses go through :func:`send`.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO, TypeVar

import falcon

from slicebox_core import wire
from slicebox_core.config import ServerConfig
from slicebox_core.errors import InvalidInput, NotFound, PayloadTooLarge
from slicebox_core.models import ListQuery, QueryFilters, SourceRef, SourceType

T = TypeVar("T")

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


# bodies ------------------------------------------------------------------------------------
def body_stream(req: falcon.Request) -> BinaryIO:
    """The request body as a stream that ends where the body ends.

    With a Content-Length this is falcon's bounded stream. Without one (chunked transfer
    encoding) the raw input is safe to read to its end only when the server says so
    (``wsgi.input_terminated``, set by gunicorn); otherwise the body is treated as empty.
    """
    if req.content_length is None and req.env.get("wsgi.input_terminated"):
        return req.stream  # type: ignore[return-value]
    return req.bounded_stream  # type: ignore[return-value]


def read_json(req: falcon.Request, *, max_bytes: int) -> Any:
    """Parse the JSON body, reading at most ``max_bytes``.

    Raises:
        PayloadTooLarge: a body over ``max_bytes``.
        InvalidInput: an empty body or malformed JSON.
    """
    if req.content_length is not None and req.content_length > max_bytes:
        raise PayloadTooLarge(f"Request bodies are limited to {max_bytes} bytes")
    raw = body_stream(req).read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"Request bodies are limited to {max_bytes} bytes")
    if not raw.strip():
        raise InvalidInput("The request needs a JSON body")
    try:
        return json.loads(raw, parse_int=_int64)
    except UnicodeDecodeError:
        raise InvalidInput("The JSON body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"Malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _int64(text: str) -> int:
    # Ids and counters are 64-bit (spec conventions); a larger number is bad input here
    # rather than an overflow deep in a database driver.
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise InvalidInput(f"The number {text[:30]} does not fit in 64 bits")
    return value


def read_model(req: falcon.Request, cls: type[T] | Any, *, max_bytes: int) -> T:
    """Parse the JSON body into ``cls`` with the wire converter.

    Raises:
        PayloadTooLarge: a body over ``max_bytes``.
        InvalidInput: malformed JSON, or JSON of another shape (the message lists the paths).
    """
    return wire.structure(read_json(req, max_bytes=max_bytes), cls)


def send(resp: falcon.Response, value: Any, *, status: int = 200) -> None:
    """Answer with ``value`` (models) as JSON through the wire converter."""
    resp.status = status
    resp.media = wire.unstructure(value)


def no_content(resp: falcon.Response) -> None:
    """Answer 204 with no body."""
    resp.status = 204


def empty_not_found(resp: falcon.Response) -> None:
    """404 with an empty body, the answer of "get by id" routes (spec §2.3)."""
    resp.status = 404
    resp.text = None


# scalar parameters ----------------------------------------------------------------------
def int_param(req: falcon.Request, name: str, default: int, *, minimum: int | None = None) -> int:
    """An optional integer parameter.

    Raises:
        InvalidInput: not an integer, or below ``minimum``.
    """
    raw = req.get_param(name)
    if raw is None or raw == "":
        return default
    value = parse_int(name, raw)
    if minimum is not None and value < minimum:
        raise InvalidInput(f"Query parameter '{name}' must be >= {minimum}, got {value}")
    return value


def required_int_param(req: falcon.Request, name: str) -> int:
    """A required integer parameter such as ``patientid``.

    Raises:
        NotFound: the parameter is missing (404, as the original answers; spec §2.3).
        InvalidInput: not an integer.
    """
    raw = req.get_param(name)
    if raw is None or raw == "":
        raise NotFound(f"Request is missing required query parameter '{name}'")
    return parse_int(name, raw)


def parse_int(name: str, raw: str) -> int:
    """Parse a decimal (64-bit) integer.

    Raises:
        InvalidInput: not an integer or out of the 64-bit range.
    """
    text = raw.strip()
    if not text.lstrip("+-").isdigit():
        raise InvalidInput(f"Query parameter '{name}' must be an integer, got {raw!r}")
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise InvalidInput(f"Query parameter '{name}' is out of range")
    return value


def bool_param(req: falcon.Request, name: str, default: bool) -> bool:
    """An optional ``true``/``false`` parameter.

    Raises:
        InvalidInput: anything else.
    """
    raw = req.get_param(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise InvalidInput(f"Query parameter '{name}' must be true or false, got {raw!r}")


def str_param(req: falcon.Request, name: str) -> str | None:
    """An optional string parameter (empty = absent)."""
    raw = req.get_param(name)
    return raw if raw else None


# paging, ordering and advanced filters (spec §3.4) -----------------------------------
def paging(req: falcon.Request, server: ServerConfig) -> tuple[int, int]:
    """``startindex`` (default 0) and ``count`` (default 20, capped at the max page size).

    Raises:
        InvalidInput: negative or non-integer values.
    """
    start = int_param(req, "startindex", 0, minimum=0)
    count = int_param(req, "count", 20, minimum=0)
    return start, min(count, server.max_page_size)


def id_list(name: str, raw: str | None) -> tuple[int, ...]:
    """Comma-separated ids such as ``2,5,11``.

    Raises:
        InvalidInput: an item that is not an integer.
    """
    if not raw:
        return ()
    items = [item.strip() for item in raw.split(",") if item.strip()]
    return tuple(parse_int(name, item) for item in items)


def source_refs(raw: str | None) -> tuple[SourceRef, ...]:
    """``sources=box:23,user:2`` -> source references.

    Raises:
        InvalidInput: an item that is not ``type:id`` with a known type and integer id.
    """
    if not raw:
        return ()
    allowed = ", ".join(t.value for t in SourceType)
    refs = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        kind, sep, ident = item.partition(":")
        if not sep:
            raise InvalidInput(
                f"Query parameter 'sources' must be comma-separated type:id pairs such as "
                f"box:23,user:2; got {item!r}"
            )
        try:
            source_type = SourceType(kind.strip().lower())
        except ValueError:
            raise InvalidInput(
                f"Unknown source type {kind!r} in 'sources' (one of {allowed})"
            ) from None
        refs.append(SourceRef(source_type, parse_int("sources", ident)))
    return tuple(refs)


def query_filters(req: falcon.Request) -> QueryFilters:
    """The advanced filters ``sources``, ``seriestypes`` and ``seriestags``.

    Raises:
        InvalidInput: a malformed value (the message says which and why).
    """
    return QueryFilters(
        source_refs=source_refs(req.get_param("sources")),
        series_type_ids=id_list("seriestypes", req.get_param("seriestypes")),
        series_tag_ids=id_list("seriestags", req.get_param("seriestags")),
    )


def list_query(
    req: falcon.Request,
    server: ServerConfig,
    *,
    ordering: bool = True,
    filters: bool = True,
) -> ListQuery:
    """The listing parameters of a GET route.

    Args:
        req: the request.
        server: limits (max page size).
        ordering: read ``orderby``, ``orderascending`` and ``filter``.
        filters: read the advanced filters.

    Raises:
        InvalidInput: any malformed parameter.
    """
    start, count = paging(req, server)
    return ListQuery(
        start_index=start,
        count=count,
        order_by=str_param(req, "orderby") if ordering else None,
        order_ascending=bool_param(req, "orderascending", True) if ordering else True,
        filter=str_param(req, "filter") if ordering else None,
        filters=query_filters(req) if filters else QueryFilters(),
    )
