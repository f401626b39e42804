"""DICOM data: upload, download, delete, attributes, PNG, modify, JPEG, zip export (§3.3)."""

from __future__ import annotations

import itertools

import falcon

from slicebox_core.models import (
    ExportSetId,
    Image,
    ImageAttribute,
    ImageInformation,
    Role,
    Source,
    SourceType,
    TagMapping,
)

from ..auth import caller_of
from ..openapi import (
    NOT_FOUND,
    Binary,
    Empty,
    Operation,
    Param,
    Text,
    Upload,
)
from ..serialization import int_param, no_content, read_model, required_int_param, send, str_param
from ..uploads import upload_stream
from .base import Resource

OCTETS = "application/octet-stream"
EXPORT_FILENAME = "slicebox-export.zip"


def user_source(req: falcon.Request) -> Source:
    """The calling user as an image source (spec §3.3: source ``user``)."""
    user = caller_of(req).user
    return Source(SourceType.USER, user.user, user.id)


class Images(Resource):
    roles = {"POST": Role.USER}
    docs = {
        "POST": Operation(
            "Upload one DICOM instance",
            {
                201: Image,
                200: Image,
                400: Text("Invalid DICOM data: ..."),
                507: Text("storage full; nothing stored"),
            },
            body=Upload(),
            description="201 when the instance is new, 200 when it replaced an instance with "
            "the same identifiers. The body is streamed to storage, never held in memory. "
            "Secondary Capture is accepted besides the image SOP classes.",
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        with upload_stream(req, limit=self.server.max_upload_bytes) as stream:
            result = self.sb.images.add(stream, source=user_source(req), secondary_capture=True)
        send(resp, result.image, status=200 if result.overwrite else 201)


class ImageItem(Resource):
    roles = {"GET": Role.USER, "DELETE": Role.USER}
    docs = {
        "GET": Operation(
            "Download the stored file, unmodified",
            {200: Binary(OCTETS, "the DICOM file"), 404: NOT_FOUND},
        ),
        "DELETE": Operation(
            "Delete an image (and series, study, patient left empty)",
            {204: Empty("deleted"), 404: NOT_FOUND},
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        size = self.sb.images.size(id)
        resp.content_type = OCTETS
        resp.content_length = size
        resp.stream = self.sb.images.open(id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.images.delete(id)
        no_content(resp)


class BulkDelete(Resource):
    roles = {"POST": Role.USER}
    audited = frozenset({"POST"})
    docs = {
        "POST": Operation(
            "Delete images by id; unknown ids are ignored",
            {204: Empty("deleted")},
            body=list[int],
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ids: list[int] = read_model(req, list[int], max_bytes=self.server.max_body_bytes)
        self.sb.images.delete_many(ids)
        no_content(resp)


class Attributes(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "All attributes before Pixel Data, sequences flattened",
            {200: list[ImageAttribute], 404: NOT_FOUND},
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.images.attributes(id))


class Information(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "Frames, frame index and pixel value range",
            {200: ImageInformation, 404: NOT_FOUND},
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.images.information(id))


class Png(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "Render one frame as PNG",
            {
                200: Binary("image/png", "the rendered frame"),
                404: NOT_FOUND,
                501: Text("the pixel data cannot be rendered"),
            },
            (
                Param("framenumber", int, description="1-based frame", default=1),
                Param("windowmin", int, description="window lower bound", default=0),
                Param("windowmax", int, description="window upper bound", default=0),
                Param("imageheight", int, description="0 = native height", default=0),
            ),
            description="A window is applied only when windowmin < windowmax; its center is "
            "(min+max)/2. The original used (max-min)/2, a bug.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        png = self.sb.images.png(
            id,
            frame=int_param(req, "framenumber", 1, minimum=1),
            window_min=int_param(req, "windowmin", 0),
            window_max=int_param(req, "windowmax", 0),
            height=int_param(req, "imageheight", 0, minimum=0),
        )
        resp.content_type = "image/png"
        resp.data = png


class Modify(Resource):
    roles = {"PUT": Role.USER}
    docs = {
        "PUT": Operation(
            "Insert or replace attributes; the result is a new image",
            {201: Image, 404: NOT_FOUND},
            body=list[TagMapping],
            description="The old image is deleted; series source and series tags carry over "
            "to the new image's series.",
        )
    }

    def on_put(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        mappings: list[TagMapping] = read_model(
            req, list[TagMapping], max_bytes=self.server.max_body_bytes
        )
        send(resp, self.sb.images.modify(id, mappings), status=201)


class Jpeg(Resource):
    roles = {"POST": Role.USER}
    docs = {
        "POST": Operation(
            "Wrap a JPEG as Secondary Capture in a new series of a study",
            {201: Image, 400: Text("not a JPEG"), 404: NOT_FOUND},
            (
                Param("studyid", int, required=True, description="the study to add to"),
                Param("description", str, description="SeriesDescription of the new series"),
            ),
            body=Binary("image/jpeg", "the JPEG bytes"),
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        study_id = required_int_param(req, "studyid")
        description = str_param(req, "description")
        # a JPEG is wrapped in memory, so it gets the ordinary body limit
        with upload_stream(req, limit=self.server.max_body_bytes, what="JPEG") as stream:
            image = self.sb.images.add_jpeg(
                stream, study_id=study_id, description=description, source=user_source(req)
            )
        send(resp, image, status=201)


class Export(Resource):
    roles = {"POST": Role.USER, "GET": Role.USER}
    audited = frozenset({"POST", "GET"})
    docs = {
        "POST": Operation(
            "Create a zip export set of images (kept 6 hours)",
            {200: ExportSetId, 204: Empty("the list was empty")},
            body=list[int],
        ),
        "GET": Operation(
            "Download an export set as a zip (streamed)",
            {200: Binary(OCTETS, "zip, Content-Disposition: attachment"), 404: NOT_FOUND},
            (Param("id", int, required=True, description="export set id"),),
            description="Entries are named <patientId>_<PatientName>-<PatientID>/"
            "<studyId>_<StudyDate>/<seriesId>_<SeriesDate>_<Modality>/<imageId>.dcm. A missing "
            "image aborts the stream.",
        ),
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ids: list[int] = read_model(req, list[int], max_bytes=self.server.max_body_bytes)
        export_id = self.sb.exports.create(ids)
        if export_id is None:
            no_content(resp)
        else:
            send(resp, ExportSetId(export_id))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        chunks = self.sb.exports.iter_zip(required_int_param(req, "id"))
        # The generator raises NotFound at its first step: take it here, before any byte of
        # the response is committed, so an unknown set is a clean 404.
        first = next(chunks, b"")
        resp.content_type = OCTETS
        # exactly as the original, unquoted (spec §3.3)
        resp.set_header("Content-Disposition", f"attachment; filename={EXPORT_FILENAME}")
        resp.stream = itertools.chain((first,), chunks)
