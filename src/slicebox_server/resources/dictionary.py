"""The DICOM data dictionary, public (spec §3.2)."""

from __future__ import annotations

import falcon

from slicebox_core.dicom import dictionary
from slicebox_core.errors import NotFound
from slicebox_core.models import (
    DicomDictionaryKeyword,
    DicomDictionaryKeywords,
    DicomDictionaryTag,
    DicomValueRepresentation,
    Multiplicity,
)

from ..auth import PUBLIC
from ..openapi import BAD_REQUEST, NOT_FOUND, Operation, Param
from ..serialization import required_int_param, send, str_param
from .base import Resource

FILTER = Param("filter", str, description="case-insensitive substring")
TAG = Param("tag", int, required=True, description="the tag as a decimal integer")


def _keywords_doc(what: str) -> Operation:
    return Operation(f"Dictionary keywords{what}", {200: DicomDictionaryKeywords}, (FILTER,))


class Keywords(Resource):
    kind: dictionary.KeywordKind = "all"
    roles = {"GET": PUBLIC}
    docs = {"GET": _keywords_doc("")}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        words = dictionary.keywords(str_param(req, "filter"), self.kind)
        send(resp, DicomDictionaryKeywords(tuple(words)))


class SequenceKeywords(Keywords):
    kind = "sequence"
    docs = {"GET": _keywords_doc(" of sequences (VR SQ)")}


class NonSequenceKeywords(Keywords):
    kind = "nonsequence"
    docs = {"GET": _keywords_doc(" of non-sequence attributes")}


class ValueRepresentation(Resource):
    roles = {"GET": PUBLIC}
    docs = {
        "GET": Operation(
            "VR of a tag (UN when unknown)",
            {200: DicomValueRepresentation, 400: BAD_REQUEST},
            (TAG,),
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, dictionary.vr(required_int_param(req, "tag")))


class ValueMultiplicity(Resource):
    roles = {"GET": PUBLIC}
    docs = {
        "GET": Operation(
            "VM of a tag (1-n, i.e. no max, when unknown)",
            {200: Multiplicity, 400: BAD_REQUEST},
            (TAG,),
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, dictionary.vm(required_int_param(req, "tag")))


class Keyword(Resource):
    roles = {"GET": PUBLIC}
    docs = {
        "GET": Operation(
            "Keyword of a tag",
            {200: DicomDictionaryKeyword, 400: BAD_REQUEST, 404: NOT_FOUND},
            (TAG,),
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, DicomDictionaryKeyword(dictionary.keyword(required_int_param(req, "tag"))))


class Tag(Resource):
    roles = {"GET": PUBLIC}
    docs = {
        "GET": Operation(
            "Tag of a keyword",
            {200: DicomDictionaryTag, 404: NOT_FOUND},
            (Param("keyword", str, required=True, description="e.g. PatientName"),),
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        keyword = str_param(req, "keyword")
        if keyword is None:
            raise NotFound("Request is missing required query parameter 'keyword'")
        send(resp, DicomDictionaryTag(dictionary.tag(keyword)))
