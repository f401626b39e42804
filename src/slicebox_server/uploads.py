"""Streaming upload bodies: raw bytes or the ``file`` part of a multipart form (spec §2.1).

Nothing here reads a whole body: the core receives a stream and spools it itself. A
configured upload limit (``server.max_upload_bytes``, 0 = none) is enforced while reading.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, cast

import falcon
from falcon.constants import MEDIA_MULTIPART
from falcon.media.multipart import MultipartForm

from slicebox_core.errors import InvalidDicom, InvalidInput, PayloadTooLarge

from .serialization import body_stream

FILE_PART = "file"


class LimitedStream(io.RawIOBase):
    """A read-only stream that fails once more than ``limit`` bytes were read.

    Args:
        stream: the underlying stream.
        limit: maximum number of bytes; 0 = unlimited.
    """

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        super().__init__()
        self._stream = stream
        self._limit = limit
        self._seen = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` bytes (all when negative).

        Raises:
            PayloadTooLarge: the limit was passed.
        """
        data: bytes = self._stream.read(size if size is not None else -1)
        self._seen += len(data)
        if self._limit and self._seen > self._limit:
            raise PayloadTooLarge(f"Uploads are limited to {self._limit} bytes")
        return data

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def is_multipart(req: falcon.Request) -> bool:
    """True for a ``multipart/form-data`` body."""
    return (req.content_type or "").lower().startswith(MEDIA_MULTIPART)


@contextmanager
def upload_stream(req: falcon.Request, *, limit: int, what: str = "DICOM") -> Iterator[BinaryIO]:
    """The uploaded file as a stream: the ``file`` part of a form, else the raw body.

    Args:
        req: the request.
        limit: maximum size in bytes (0 = unlimited).
        what: what the body should hold, for error messages.

    Raises:
        PayloadTooLarge: a declared Content-Length over ``limit``.
        InvalidDicom: an empty raw body.
        InvalidInput: a form without a ``file`` part.
    """
    if limit and req.content_length is not None and req.content_length > limit:
        raise PayloadTooLarge(f"Uploads are limited to {limit} bytes")
    if not is_multipart(req):
        if req.content_length == 0 or (
            req.content_length is None and not req.env.get("wsgi.input_terminated")
        ):
            if what == "DICOM":
                raise InvalidDicom("the request body is empty")
            raise InvalidInput(f"The request body is empty; send the {what} bytes")
        yield cast(BinaryIO, LimitedStream(body_stream(req), limit))
        return
    stream = body_stream(req)
    length = req.content_length
    if length is None:
        # A chunked form: let the parser read to the end of the (terminated) input.
        length = 2**62
    handler: Any = req.options.media_handlers[MEDIA_MULTIPART]
    form: MultipartForm = handler.deserialize(stream, req.content_type, length)
    for part in form:
        if part.name == FILE_PART:
            yield cast(BinaryIO, LimitedStream(cast(BinaryIO, part.stream), limit))
            return
    raise InvalidInput(f"The multipart body has no part named '{FILE_PART}'")
