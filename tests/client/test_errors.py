"""Status codes map back to the core's exceptions, with ``status`` attached."""

from __future__ import annotations

import httpx
import pytest

from slicebox_client import SliceboxClient, error_for_response
from slicebox_core import errors
from slicebox_core.errors import InvalidDicom, PeerUnavailable, SliceboxError, TooManyRequests


def answering(status: int, body: bytes = b"message", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=headers or {})

    return SliceboxClient("http://sb", "u", "p", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.InvalidInput),
        (401, errors.Unauthorized),
        (403, errors.Forbidden),
        (404, errors.NotFound),
        (409, errors.Conflict),
        (413, errors.PayloadTooLarge),
        (429, errors.TooManyRequests),
        (501, errors.NotRenderable),
        (502, errors.PeerUnavailable),
        (507, errors.InsufficientStorage),
        (500, SliceboxError),
        (418, SliceboxError),
    ],
)
def test_status_to_exception(status: int, cls: type[SliceboxError]) -> None:
    with answering(status) as client, pytest.raises(cls) as info:
        client.patients()
    assert type(info.value) is cls
    assert info.value.status == status  # type: ignore[attr-defined]
    assert str(info.value) == "message"


def test_invalid_dicom_is_recognised_and_message_kept() -> None:
    client = answering(400, b"Invalid DICOM data: truncated")
    with client, pytest.raises(InvalidDicom) as info:
        client.upload(b"x")
    assert str(info.value) == "Invalid DICOM data: truncated"


def test_retry_after() -> None:
    client = answering(429, b"slow", {"Retry-After": "12"})
    with client, pytest.raises(TooManyRequests) as info:
        client.health()
    assert info.value.retry_after == 12


def test_empty_body_gets_a_useful_message() -> None:
    response = httpx.Response(404, request=httpx.Request("GET", "http://sb/api/x/1"))
    error = error_for_response(response)
    assert "404" in str(error) and "/api/x/1" in str(error)


def test_connection_failure_is_peer_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = SliceboxClient("http://sb", transport=httpx.MockTransport(refuse))
    with client, pytest.raises(PeerUnavailable) as info:
        client.health()
    assert info.value.status is None  # type: ignore[attr-defined]
