"""Import sessions: named uploads with counters (spec §3.15)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, cast

import falcon
from falcon.constants import MEDIA_MULTIPART
from falcon.media.multipart import MultipartForm

from slicebox_core.errors import InvalidInput
from slicebox_core.models import Image, Role
from slicebox_core.models.imports import ImportSession

from ..auth import caller_of
from ..openapi import NOT_FOUND, PAGING, Empty, Operation, Text, Upload
from ..serialization import body_stream, no_content, paging, read_model, send
from ..uploads import FILE_PART, LimitedStream, is_multipart, upload_stream
from .base import Resource


@contextmanager
def upload_with_name(req: falcon.Request, *, limit: int) -> Iterator[tuple[BinaryIO, str | None]]:
    """The uploaded file as a stream, with the multipart part's file name if any.

    Raw bodies stream as in ``/api/images``; for a form, the ``file`` part's stream and its
    ``filename`` (the error body of a rejected file starts with it, spec §3.15).

    Raises:
        PayloadTooLarge, InvalidDicom, InvalidInput: as :func:`~..uploads.upload_stream`.
    """
    if not is_multipart(req):
        with upload_stream(req, limit=limit) as stream:
            yield stream, None
        return
    if limit and req.content_length is not None and req.content_length > limit:
        with upload_stream(req, limit=limit) as stream:  # raises PayloadTooLarge
            yield stream, None
        return
    length = req.content_length if req.content_length is not None else 2**62
    handler: Any = req.options.media_handlers[MEDIA_MULTIPART]
    form: MultipartForm = handler.deserialize(body_stream(req), req.content_type, length)
    for part in form:
        if part.name == FILE_PART:
            name = part.secure_filename if part.filename else None
            yield cast(BinaryIO, LimitedStream(cast(BinaryIO, part.stream), limit)), name
            return
    raise InvalidInput(f"The multipart body has no part named '{FILE_PART}'")


class Sessions(Resource):
    roles = {"GET": Role.USER, "POST": Role.USER}
    docs = {
        "GET": Operation("List every user's import sessions", {200: list[ImportSession]}, PAGING),
        "POST": Operation(
            "Create an import session owned by the caller",
            {201: ImportSession, 400: Text("the name belongs to another user's session")},
            body=ImportSession,
            description="Only name is read; user and counters are set by the server. The "
            "caller's existing session of that name is returned as is.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        send(resp, self.sb.imports.list(start_index=start, count=count))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: ImportSession = read_model(req, ImportSession, max_bytes=self.server.max_body_bytes)
        user = caller_of(req).user
        send(resp, self.sb.imports.create(body.name, user_id=user.id, user=user.user), status=201)


class SessionItem(Resource):
    roles = {"GET": Role.USER, "DELETE": Role.USER}
    docs = {
        "GET": Operation("Get an import session", {200: ImportSession, 404: NOT_FOUND}),
        "DELETE": Operation(
            "Delete an import session (its images stay)",
            {204: Empty("deleted (also for an unknown id)")},
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.imports.get(id))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.imports.delete(id)
        no_content(resp)


class SessionImages(Resource):
    roles = {"GET": Role.USER, "POST": Role.USER}
    docs = {
        "GET": Operation("The session's images that still exist", {200: list[Image]}),
        "POST": Operation(
            "Upload one DICOM file into the session",
            {
                201: Image,
                200: Image,
                400: Text("<filename>: Invalid DICOM data: ..."),
                404: NOT_FOUND,
            },
            body=Upload(),
            description="201 for a new instance, 200 when it replaced one. Image SOP classes "
            "only (no Secondary Capture). Counters: imported and added +1 (new), imported +1 "
            "(replacement), rejected +1 (refused; logged with subject Import). Streamed.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.imports.images(id))

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.imports.get(id)  # 404 before the body is read
        with upload_with_name(req, limit=self.server.max_upload_bytes) as (stream, filename):
            result = self.sb.imports.add(id, stream, filename=filename)
        send(resp, result.image, status=200 if result.overwrite else 201)
