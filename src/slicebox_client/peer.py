"""``HttpBoxPeer``: the core's :class:`~slicebox_core.boxes.peer.BoxPeer` over HTTP.

It speaks the original's box protocol (spec §3.9) against a box base URL
``http[s]://host[:port]/api/transactions/<token>``: images travel deflated (zlib), compressed
and inflated chunk by chunk, and carry the SHA-256 of the uncompressed file in
``X-Slicebox-Sha256`` (an original Slicebox ignores it). The server and the CLI give it to the
core, which may not import httpx::

    sb.boxes.peer_factory = HttpBoxPeer.for_url
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import httpx

from slicebox_core import wire
from slicebox_core.boxes.config import BoxConfig
from slicebox_core.boxes.peer import PushOutcome
from slicebox_core.boxes.protocol import (
    CORRUPT,
    ERROR_HEADER,
    SHA256_HEADER,
    CorruptTransfer,
    InflatingReader,
    deflate_chunks,
)
from slicebox_core.errors import PeerUnavailable, SliceboxError, Unauthorized
from slicebox_core.models.boxes import (
    BoxTransactionStatus,
    FailedOutgoingTransactionImage,
    OutgoingTransactionImage,
    TransactionStatus,
)

from .errors import error_for_response, transport_error

OCTETS = "application/octet-stream"


class HttpBoxPeer:
    """One remote slicebox reached through a box's token URL.

    Args:
        base_url: the box's base URL (ends with ``/transactions/<token>``).
        timeout_s: connect and read timeout of each request.
        compression_level: zlib level of pushed bodies.
        max_connections: connection pool size (at least the box's parallelism).
        transport: an httpx transport (tests: ``httpx.WSGITransport(app=...)``).
        verify: TLS verification, as for httpx.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 60.0,
        compression_level: int = 1,
        max_connections: int = 16,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._level = compression_level
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(20.0, timeout_s)),
            limits=httpx.Limits(max_connections=max_connections),
            transport=transport,
            verify=verify,
            headers={"User-Agent": "slicebox-box"},
        )

    @classmethod
    def for_url(cls, base_url: str, config: BoxConfig | None = None, **kwargs: Any) -> HttpBoxPeer:
        """The peer of ``base_url`` with the timeouts and sizes of ``config`` (a
        :data:`~slicebox_core.boxes.peer.PeerFactory`)."""
        config = config or BoxConfig()
        options: dict[str, Any] = {
            "timeout_s": config.request_timeout_s,
            "compression_level": config.compression_level,
            "max_connections": 2 * config.parallelism + 2,
        }
        return cls(base_url, **{**options, **kwargs})

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> HttpBoxPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # plumbing -------------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, self._url(path), **kwargs)
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc

    @staticmethod
    def _error(response: httpx.Response) -> SliceboxError:
        """Our exception for an unexpected answer: the mapped one for 4xx, else (5xx, 3xx)
        :class:`PeerUnavailable` so that the transfer is retried."""
        if 400 <= response.status_code < 500:
            return error_for_response(response)
        error = PeerUnavailable(
            f"the remote box answered {response.status_code} {response.reason_phrase}"
        )
        error.status = response.status_code  # type: ignore[attr-defined]
        return error

    def _expect_ok(self, response: httpx.Response) -> httpx.Response:
        if not response.is_success:
            raise self._error(response)
        return response

    # the protocol (spec §3.9) ------------------------------------------------------------
    def push_image(
        self,
        transaction_id: int,
        sequence_number: int,
        total_image_count: int,
        data: BinaryIO,
        *,
        sha256: str | None = None,
    ) -> PushOutcome:
        """``POST …/image``: stream ``data`` deflated, chunk by chunk (spec §5.5.3).

        Raises:
            CorruptTransfer: the remote found the bytes damaged (400 marked corrupt).
            Unauthorized: the remote knows no POLL box with this token.
            PeerUnavailable: not delivered (connection, timeout, 5xx, ...).
        """
        headers = {"Content-Type": OCTETS}
        if sha256:
            headers[SHA256_HEADER] = sha256
        response = self._send(
            "POST",
            "image",
            params={
                "transactionid": transaction_id,
                "sequencenumber": sequence_number,
                "totalimagecount": total_image_count,
            },
            content=deflate_chunks(data, level=self._level),
            headers=headers,
        )
        status = response.status_code
        if response.is_success:
            return PushOutcome.STORED
        if status == 400:
            if response.headers.get(ERROR_HEADER) == CORRUPT:
                raise CorruptTransfer(response.text or "damaged in transit")
            return PushOutcome.REJECTED
        if status == 404:
            return PushOutcome.REMOVED
        if status == 401:
            raise Unauthorized(response.text or "the remote box does not know our token")
        raise self._error(response)

    def poll(self, n: int) -> list[OutgoingTransactionImage]:
        """``GET …/outgoing/poll?n=``: 404 means nothing is queued for us."""
        response = self._send("GET", "outgoing/poll", params={"n": n})
        if response.status_code == 404:
            return []
        self._expect_ok(response)
        return wire.structure(response.json(), list[OutgoingTransactionImage])

    @contextmanager
    def fetch(self, transaction_id: int, image_id: int) -> Iterator[BinaryIO]:
        """``GET …/outgoing?transactionid=&imageid=``: the inflated image as a stream that
        checks the announced SHA-256 (and the deflate stream) at its end.

        Raises:
            NotFound: 404.
            InvalidInput: 400.
            PeerUnavailable: connection failure, or the body broke off.
        """
        params = {"transactionid": transaction_id, "imageid": image_id}
        try:
            with self._http.stream("GET", self._url("outgoing"), params=params) as response:
                if not response.is_success:
                    response.read()
                    raise self._error(response)
                sha256 = response.headers.get(SHA256_HEADER)
                yield InflatingReader(_body(response), sha256)  # type: ignore[misc]
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc

    def done(self, item: OutgoingTransactionImage) -> None:
        """``POST …/outgoing/done`` with the polled transaction-image."""
        self._expect_ok(self._send("POST", "outgoing/done", json=wire.unstructure(item)))

    def failed(self, item: OutgoingTransactionImage, message: str) -> None:
        """``POST …/outgoing/failed``: the remote marks the transaction FAILED."""
        body = wire.unstructure(FailedOutgoingTransactionImage(item, message))
        self._expect_ok(self._send("POST", "outgoing/failed", json=body))

    def set_status(self, transaction_id: int, status: TransactionStatus) -> None:
        """``PUT …/status?transactionid=``.

        Raises:
            NotFound: the remote has no incoming transaction with that id.
        """
        body = wire.unstructure(BoxTransactionStatus(status))
        response = self._send("PUT", "status", params={"transactionid": transaction_id}, json=body)
        self._expect_ok(response)

    def get_status(self, transaction_id: int) -> TransactionStatus | None:
        """``GET …/status?transactionid=``; None when the remote has no such transaction."""
        response = self._send("GET", "status", params={"transactionid": transaction_id})
        if response.status_code == 404:
            return None
        self._expect_ok(response)
        return wire.structure(response.json(), BoxTransactionStatus).status


def _body(response: httpx.Response) -> Iterator[bytes]:
    """The raw body chunks; a broken-off body is :class:`PeerUnavailable`."""
    try:
        yield from response.iter_bytes()
    except httpx.TransportError as exc:
        raise transport_error(exc) from exc
    except httpx.StreamError as exc:
        raise PeerUnavailable(f"{type(exc).__name__}: {exc}") from exc
