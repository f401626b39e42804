"""Anonymization: in place, as a download, options and keys (spec §3.3, §3.7, §5.18.7).

In-place anonymizations and key exports are audited in the log (subject ``Anonymization``)
with the user's name and database ids only, never patient data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import falcon

from slicebox_core.anonymize.images import BurnedInAnnotation
from slicebox_core.errors import InvalidInput, NotFound
from slicebox_core.models import Image, Role
from slicebox_core.models.anonymization import (
    AnonymizationData,
    AnonymizationKey,
    AnonymizationKeyQuery,
    AnonymizationKeyValue,
    BulkAnonymizationData,
    ConfidentialityOption,
)

from ..auth import caller_of
from ..openapi import (
    EMPTY_NOT_FOUND,
    ORDERING,
    PAGING,
    Binary,
    Empty,
    Operation,
    Param,
    Text,
)
from ..serialization import empty_not_found, list_query, no_content, read_model, send
from .base import Resource

if TYPE_CHECKING:
    from slicebox_core import Slicebox

OCTETS = "application/octet-stream"
CSV = "text/csv; charset=UTF-8"
CSV_FILENAME = "slicebox-anonymization-info.csv"
SUBJECT = "Anonymization"
_CSV_CHUNK = 64 * 1024

BURNED_IN = (
    'Images that may show identifying text in their pixels (BurnedInAnnotation "YES", or any '
    "Secondary Capture) are refused with 400 unless the body says "
    '"allowBurnedInAnnotations": true; slicebox never cleans pixel data. The field is an '
    "addition to the original's body; clients that do not send it get the refusal."
)


def refused(exc: BurnedInAnnotation) -> InvalidInput:
    """The 400 of a burned-in refusal, telling a REST client how to override it."""
    return InvalidInput(
        f"Image {exc.image_id} was not anonymized: its pixels may show identifying text "
        "(BurnedInAnnotation YES, or a Secondary Capture), which slicebox cannot clean. "
        'Send "allowBurnedInAnnotations": true in the body to anonymize it anyway.'
    )


def user_name(req: falcon.Request) -> str:
    return caller_of(req).user.user


class _AnonymizerResource(Resource):
    def __init__(self, sb: Slicebox) -> None:
        super().__init__(sb)
        self.anonymizer = sb.image_anonymizer


# images (spec §3.3) ------------------------------------------------------------------------
class ImageAnonymize(_AnonymizerResource):
    roles = {"PUT": Role.USER}
    docs = {
        "PUT": Operation(
            "Anonymize an image in place; the result is a new image",
            {
                200: Image,
                400: Text("unsupported profile, bad tag value, or burned-in annotation"),
                404: Text("No image meta data found for image id N"),
            },
            body=AnonymizationData,
            description="The stored image is anonymized (even if already flagged anonymous), "
            "stored with the series' source and tags and without reverse anonymization, and "
            "the original is deleted. The profile is used as given; the Basic Profile is "
            "always applied. A key is recorded for the original image id, and purged with the "
            "original when anonymization.purge_empty_keys is on (the default). " + BURNED_IN,
        )
    }

    def on_put(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        data: AnonymizationData = read_model(
            req, AnonymizationData, max_bytes=self.server.max_body_bytes
        )
        try:
            image = self.anonymizer.anonymize_image(id, data)
        except BurnedInAnnotation as exc:
            raise refused(exc) from None
        self.sb.log.info(
            SUBJECT, f"User {user_name(req)} anonymized image {id} in place as image {image.id}"
        )
        send(resp, image)


class ImageAnonymized(_AnonymizerResource):
    roles = {"POST": Role.USER}
    docs = {
        "POST": Operation(
            "Download an image anonymized; storage is not changed",
            {
                200: Binary(OCTETS, "the anonymized DICOM file"),
                400: Text("unsupported profile, bad tag value, or burned-in annotation"),
                404: Text("No image meta data found for image id N"),
            },
            body=AnonymizationData,
            description="A key is recorded for the image, so the file is restored to the real "
            "identities if it is uploaded again. Data already flagged anonymous is returned "
            "unchanged (and no key is recorded). The profile is used as given; the Basic "
            "Profile is always applied. " + BURNED_IN,
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        data: AnonymizationData = read_model(
            req, AnonymizationData, max_bytes=self.server.max_body_bytes
        )
        try:
            anonymized = self.anonymizer.anonymized_bytes(id, data)
        except BurnedInAnnotation as exc:
            raise refused(exc) from None
        resp.content_type = OCTETS
        resp.data = anonymized


# anonymization (spec §3.7) -----------------------------------------------------------------
class BulkAnonymize(_AnonymizerResource):
    roles = {"POST": Role.USER}
    docs = {
        "POST": Operation(
            "Anonymize many images in place",
            {
                200: list[Image],
                400: Text("unsupported profile, bad tag value, or burned-in annotation"),
            },
            body=BulkAnonymizationData,
            description="The new images, in no particular order; unknown image ids are "
            "skipped. The Basic Profile is added to the profile. Up to 4 images are anonymized "
            "at once (the original: 8). Every image is checked for burned-in annotation before "
            "any is changed. " + BURNED_IN,
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        data: BulkAnonymizationData = read_model(
            req, BulkAnonymizationData, max_bytes=self.server.max_body_bytes
        )
        try:
            images = self.anonymizer.anonymize_images(data)
        except BurnedInAnnotation as exc:
            raise refused(exc) from None
        self.sb.log.info(
            SUBJECT,
            f"User {user_name(req)} anonymized {len(images)} of "
            f"{len(data.image_tag_values_set)} images in place",
        )
        send(resp, images)


class Options(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "The supported confidentiality options besides the Basic Profile",
            {200: list[ConfidentialityOption]},
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, self.sb.anonymization.options())


class Keys(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "List anonymization keys",
            {200: list[AnonymizationKey], 400: Text("bad paging, or orderby not a key column")},
            (
                *PAGING,
                Param("orderby", str, description="a column of the key table, e.g. created"),
                ORDERING[1],
                Param(
                    "filter",
                    str,
                    description="case-insensitive prefix of any real or anonymous patient "
                    "name, patient ID or study/series/SOP instance UID",
                ),
            ),
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query = list_query(req, self.server, filters=False)
        send(resp, self.sb.anonymization.keys.list(query))


class KeyQuery(Resource):
    roles = {"POST": Role.USER}
    docs = {
        "POST": Operation(
            "Query anonymization keys",
            {200: list[AnonymizationKey], 400: Text("a property or order not a key column")},
            body=AnonymizationKeyQuery,
            description="Properties are AND-ed; '=' is equality, 'like' a substring match.",
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        query: AnonymizationKeyQuery = read_model(
            req, AnonymizationKeyQuery, max_bytes=self.server.max_body_bytes
        )
        send(resp, self.sb.anonymization.keys.query(query))


class KeyItem(Resource):
    roles = {"GET": Role.USER, "DELETE": Role.USER}
    docs = {
        "GET": Operation("Get an anonymization key", {200: AnonymizationKey, 404: EMPTY_NOT_FOUND}),
        "DELETE": Operation(
            "Delete an anonymization key and its key values",
            {204: Empty("deleted (also for an unknown id)")},
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        try:
            send(resp, self.sb.anonymization.keys.get(id))
        except NotFound:
            empty_not_found(resp)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.anonymization.keys.delete(id)
        no_content(resp)


class KeyValues(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "The extra key values of a key ([] for an unknown key)",
            {200: list[AnonymizationKeyValue]},
            description="The five identifiers live in the key itself.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.anonymization.keys.values(id))


class KeysCsv(Resource):
    roles = {"GET": Role.ADMINISTRATOR}
    audited = frozenset({"GET"})
    docs = {
        "GET": Operation(
            "Export every key and key value as CSV (streamed)",
            {200: Binary(CSV, f"semicolon-separated; attachment {CSV_FILENAME}")},
            description="Header row, then one row per (key, key value); a key without values "
            "gives one row with the tag path of tag 0 and empty values. Needs ADMINISTRATOR; "
            "each export is logged.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.sb.log.info(SUBJECT, f"User {user_name(req)} exported the anonymization keys as CSV")
        resp.content_type = CSV
        # unquoted, as the original (spec §3.7)
        resp.set_header("Content-Disposition", f"attachment; filename={CSV_FILENAME}")
        resp.stream = _chunks(self.sb.anonymization.keys.export_csv())


def _chunks(lines: Iterable[str]) -> Iterator[bytes]:
    """UTF-8 lines gathered into chunks of about 64 KiB (one write per chunk, not per line)."""
    buffer: list[str] = []
    size = 0
    for line in lines:
        buffer.append(line)
        size += len(line)
        if size >= _CSV_CHUNK:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8")
