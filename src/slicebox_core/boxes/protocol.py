"""The box protocol without I/O: URLs, the wire's compression and checksums, state transitions
and the retry schedule (spec §3.9, §5.5).

Everything here is a pure function or a stream adapter over bytes; the service and the worker
do the database and network work, and the HTTP peer (``slicebox_client.peer``) the requests.

Bodies of ``…/image`` and ``…/outgoing`` are the DICOM file deflate-compressed as a zlib
stream (what the original's ``Deflater`` writes), with no ``Content-Encoding``. Besides, a
slicebox announces the SHA-256 of the uncompressed file in :data:`SHA256_HEADER`; the original
ignores the header, a slicebox verifies it. Both directions compress and inflate in chunks:
memory stays bounded whatever the size of a file or transaction.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

import attrs

from ..errors import InvalidInput
from ..models.boxes import TransactionStatus

SHA256_HEADER = "X-Slicebox-Sha256"
"""The SHA-256 (hex) of the uncompressed image, sent with a pushed or fetched image."""

ERROR_HEADER = "X-Slicebox-Error"
"""Set to :data:`CORRUPT` on a 400 that means "damaged in transit, send it again"."""

CORRUPT = "corrupt"

CHUNK = 1 << 16
"""Bytes read from a source per compression step."""

MAX_INFLATED_CHUNK = 1 << 20
"""At most this many inflated bytes are produced per read (bounds memory on zip bombs)."""

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


class CorruptTransfer(InvalidInput):
    """Bytes damaged in transit: a broken or truncated deflate stream, or a SHA-256 that does
    not match the announced one. Nothing is stored; the sender should send again."""


# --- URLs ---------------------------------------------------------------------------------


@attrs.frozen
class BoxUrl:
    """A box base URL ``http[s]://host[:port]/.../transactions/<token>`` taken apart."""

    scheme: str
    host: str
    port: int
    token: str

    @property
    def secure(self) -> bool:
        return self.scheme == "https"


def parse_base_url(base_url: str) -> BoxUrl:
    """Take a box base URL apart; the token is the last path segment and must be a UUID.

    The port defaults to 80 (http) or 443 (https) as in the original's URL regex.

    Raises:
        InvalidInput: "Malformed box base url" for anything else (spec §3.8).
    """
    try:
        parts = urlsplit(base_url.strip())
        port = parts.port
    except (ValueError, AttributeError):
        raise InvalidInput("Malformed box base url") from None
    token = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if parts.scheme not in ("http", "https") or not parts.hostname or not is_token(token):
        raise InvalidInput("Malformed box base url")
    return BoxUrl(
        parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), token
    )


def is_token(text: str) -> bool:
    """True if ``text`` parses as a UUID (a box token)."""
    try:
        uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def new_token() -> str:
    """A fresh random box token."""
    return str(uuid.uuid4())


def api_base(public_url: str, request_prefix: str) -> str:
    """The public API base boxes are reached at: the configured public URL, else the URL the
    request came in on; ``/api`` appended unless present (spec §5.5.1)."""
    base = (public_url or request_prefix).rstrip("/")
    return base if base.endswith("/api") else f"{base}/api"


def transactions_url(api: str, token: str) -> str:
    """The base URL of a POLL box: ``<api base>/transactions/<token>``."""
    return f"{api.rstrip('/')}/transactions/{token}"


# --- statuses and transitions ----------------------------------------------------------------


def parse_status(text: object) -> TransactionStatus:
    """A status from the wire; ``UNKNOWN`` and anything else are refused.

    Raises:
        InvalidInput: not one of WAITING, PROCESSING, FINISHED, FAILED.
    """
    if isinstance(text, str):
        try:
            return TransactionStatus(text)
        except ValueError:
            pass
    raise InvalidInput(f"Unknown transaction status {text!r}")


@attrs.frozen
class Counts:
    """The counters and status of a transaction after a transition."""

    done: int
    added: int
    total: int
    status: TransactionStatus


def after_sent(sent: int, total: int, status: TransactionStatus) -> Counts:
    """An outgoing transaction after one more image was delivered (spec §5.5.3 step 4-5):
    PROCESSING until every image is sent, then FINISHED. A FAILED one stays FAILED."""
    done = min(total, sent + 1)
    if status == TransactionStatus.FAILED:
        return Counts(done, 0, total, status)
    finished = done >= total
    return Counts(
        done, 0, total, TransactionStatus.FINISHED if finished else TransactionStatus.PROCESSING
    )


def after_received(received: int, added: int, total: int, *, is_new: bool) -> Counts:
    """An incoming transaction after one more image arrived (``UpdateIncoming``, spec §5.5.4):
    the counts grow up to ``total``; FINISHED once everything was received."""
    received = min(total, received + 1)
    added = min(total, added + 1) if is_new else added
    status = TransactionStatus.FINISHED if received >= total else TransactionStatus.PROCESSING
    return Counts(received, added, total, status)


def is_stalled(
    status: TransactionStatus | str, updated_ms: int, now_ms: int, timeout_s: float
) -> bool:
    """A PROCESSING transaction without progress for ``timeout_s`` goes back to WAITING."""
    return status == TransactionStatus.PROCESSING and now_ms - updated_ms > timeout_s * 1000


def poll_box_online(last_poll_ms: int | None, now_ms: int, timeout_s: float) -> bool:
    """A POLL box is online while its remote polled within ``timeout_s`` (spec §5.5.7)."""
    return last_poll_ms is not None and now_ms - last_poll_ms < timeout_s * 1000


def backoff_s(attempt: int, *, base_s: float, cap_s: float) -> float:
    """Delay before the next try after ``attempt`` failed tries: ``base * 2^(attempt-1)``,
    at most ``cap_s``."""
    if attempt <= 0:
        return 0.0
    return float(min(cap_s, base_s * 2 ** min(attempt - 1, 32)))


def gives_up(attempts: int, max_attempts: int) -> bool:
    """True when ``attempts`` failed tries exhaust the allowance (the transaction FAILS)."""
    return attempts >= max_attempts


# --- compression and checksums ---------------------------------------------------------------


def deflate_chunks(stream: BinaryIO, *, level: int = 1, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """The zlib-deflated bytes of ``stream``, chunk by chunk (never the whole file)."""
    compressor = zlib.compressobj(level)
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        out = compressor.compress(chunk)
        if out:
            yield out
    tail = compressor.flush()
    if tail:
        yield tail


def check_sha256(text: str | None) -> str | None:
    """A SHA-256 header value, lower-cased; None when absent.

    Raises:
        InvalidInput: present but not 64 hex digits.
    """
    if text is None or text == "":
        return None
    if not _SHA256.match(text.strip()):
        raise InvalidInput(f"{SHA256_HEADER} must be 64 hexadecimal digits")
    return text.strip().lower()


class InflatingReader(io.RawIOBase):
    """A binary stream of the inflated bytes of a deflated source, checked at its end.

    The end is reached only when the zlib stream is complete (its Adler-32 checked) and, if
    ``expected_sha256`` is given, the SHA-256 of the inflated bytes equals it; otherwise the
    read that would reach the end raises :class:`CorruptTransfer`. A consumer that stores what
    it reads (the ingest spool) therefore never stores damaged data.

    Args:
        source: the deflated bytes, as a binary stream or an iterable of chunks.
        expected_sha256: the announced digest (hex), or None.
    """

    def __init__(self, source: BinaryIO | Iterable[bytes], expected_sha256: str | None) -> None:
        super().__init__()
        if hasattr(source, "read"):
            self._chunks: Iterator[bytes] = _read_chunks(source)  # type: ignore[arg-type,unused-ignore]
        else:
            self._chunks = iter(source)  # type: ignore[arg-type,unused-ignore]
        self._expected = check_sha256(expected_sha256)
        self._inflater = zlib.decompressobj()
        self._digest = hashlib.sha256()
        self._pending = b""
        self._finished = False
        self.size = 0
        self.compressed_size = 0

    @property
    def sha256(self) -> str:
        """The SHA-256 (hex) of the bytes read so far (all of them once the end was read)."""
        return self._digest.hexdigest()

    @property
    def expected_sha256(self) -> str | None:
        """The announced digest the stream is checked against, if any."""
        return self._expected

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` inflated bytes (at most :data:`MAX_INFLATED_CHUNK` when negative).

        Raises:
            CorruptTransfer: a broken or truncated stream, or a SHA-256 mismatch.
        """
        limit = MAX_INFLATED_CHUNK if size is None or size < 0 else min(size, MAX_INFLATED_CHUNK)
        while not self._pending and not self._finished:
            self._fill(limit)
        data, self._pending = self._pending[:limit], self._pending[limit:]
        return data

    def _fill(self, limit: int) -> None:
        inflater = self._inflater
        try:
            if inflater.eof:
                out = b""
                self._finish()
            elif inflater.unconsumed_tail:
                out = inflater.decompress(inflater.unconsumed_tail, limit)
            else:
                chunk = next(self._chunks, None)
                if chunk is None:
                    raise CorruptTransfer("the deflated body ended early (truncated transfer)")
                self.compressed_size += len(chunk)
                out = inflater.decompress(chunk, limit)
        except zlib.error as exc:
            raise CorruptTransfer(f"the deflated body is damaged ({exc})") from None
        if out:
            self.size += len(out)
            self._digest.update(out)
            self._pending = out

    def _finish(self) -> None:
        # bytes after the end of the zlib stream would be a different file glued on
        inflater = self._inflater
        if inflater.unused_data or inflater.unconsumed_tail or any(c for c in self._chunks):
            raise CorruptTransfer("the deflated body has data after its end")
        if self._expected is not None and self._digest.hexdigest() != self._expected:
            raise CorruptTransfer("SHA-256 mismatch: the image was damaged in transit")
        self._finished = True


def _read_chunks(stream: BinaryIO) -> Iterator[bytes]:
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        yield chunk


def drain(stream: BinaryIO | Iterable[bytes]) -> None:
    """Read ``stream`` to its end and drop the bytes (a body that need not be stored)."""
    chunks = _read_chunks(stream) if hasattr(stream, "read") else stream  # type: ignore[arg-type,unused-ignore]
    for _ in chunks:  # type: ignore[union-attr,unused-ignore]
        pass


class HashingWriter(io.RawIOBase):
    """Writes through to ``target`` while computing the SHA-256 and size of what passed."""

    def __init__(self, target: BinaryIO) -> None:
        super().__init__()
        self._target = target
        self._digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = bytes(data)
        self._target.write(view)
        self._digest.update(view)
        self.size += len(view)
        return len(view)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()
