"""Browsing and querying the index, series sources, types and tags on series (spec §3.4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import falcon

from slicebox_core.errors import NotFound
from slicebox_core.models import (
    FlatSeries,
    Image,
    Patient,
    Query,
    Role,
    Series,
    SeriesTag,
    SeriesType,
    Source,
    Study,
)

from ..openapi import (
    EMPTY_NOT_FOUND,
    FILTERS,
    NOT_FOUND,
    ORDERING,
    PAGING,
    Empty,
    Operation,
    Param,
)
from ..serialization import (
    empty_not_found,
    list_query,
    no_content,
    query_filters,
    read_model,
    required_int_param,
    send,
)
from .base import Resource


# listings ---------------------------------------------------------------------------------
class Patients(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "List patients",
            {200: list[Patient]},
            PAGING + ORDERING + FILTERS,
            description="filter matches patientName, patientID, patientBirthDate, patientSex.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, self.sb.index.patients(list_query(req, self.server)))


class Studies(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "List the studies of a patient",
            {200: list[Study]},
            (Param("patientid", int, required=True), *PAGING, *FILTERS),
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        patient_id = required_int_param(req, "patientid")
        query = list_query(req, self.server, ordering=False)
        send(resp, self.sb.index.studies(patient_id, query))


class SeriesCollection(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "List the series of a study",
            {200: list[Series]},
            (Param("studyid", int, required=True), *PAGING, *FILTERS),
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        study_id = required_int_param(req, "studyid")
        query = list_query(req, self.server, ordering=False)
        send(resp, self.sb.index.series(study_id, query))


class Images(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "List the images of a series",
            {200: list[Image]},
            (Param("seriesid", int, required=True), *PAGING, *ORDERING),
            description="filter matches sopInstanceUID, imageType, instanceNumber.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        series_id = required_int_param(req, "seriesid")
        query = list_query(req, self.server, filters=False)
        send(resp, self.sb.index.images(series_id, query))


class FlatSeriesCollection(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "List series with their study and patient",
            {200: list[FlatSeries]},
            PAGING + ORDERING + FILTERS,
            description="orderby: id (series id), patientID, studyID or a column of "
            "Patients, Studies or Series.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, self.sb.index.flat_series(list_query(req, self.server)))


# queries ------------------------------------------------------------------------------------
def _query_doc(what: str, model: type) -> dict[str, Operation]:
    return {
        "POST": Operation(
            f"Query {what}",
            {200: list[model]},  # type: ignore[valid-type]
            body=Query,
            description="queryProperties are AND-ed; operator = is equality, like is a "
            "substring match (%value%). propertyName must be a column of the tables involved.",
        )
    }


class QueryResource(Resource):
    """``POST .../query``: structure a :class:`Query`, call the named index method."""

    roles = {"POST": Role.USER}
    method: ClassVar[str]

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        query: Query = read_model(req, Query, max_bytes=self.server.max_body_bytes)
        send(resp, getattr(self.sb.index, self.method)(query))


class PatientQuery(QueryResource):
    method = "query_patients"
    docs = _query_doc("patients", Patient)


class StudyQuery(QueryResource):
    method = "query_studies"
    docs = _query_doc("studies", Study)


class SeriesQuery(QueryResource):
    method = "query_series"
    docs = _query_doc("series", Series)


class ImageQuery(QueryResource):
    method = "query_images"
    docs = _query_doc("images", Image)


class FlatSeriesQuery(QueryResource):
    method = "query_flat_series"
    docs = _query_doc("flat series", FlatSeries)


# by id: 404 with an empty body (spec §2.3) -----------------------------------------------
def _item_doc(what: str, model: type) -> dict[str, Operation]:
    return {"GET": Operation(f"Get {what} by id", {200: model, 404: EMPTY_NOT_FOUND})}


class ItemResource(Resource):
    """``GET .../{id}``: the named index method, or 404 with an empty body."""

    roles = {"GET": Role.USER}
    method: ClassVar[str]

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        getter: Callable[[int], Any] = getattr(self.sb.index, self.method)
        try:
            send(resp, getter(id))
        except NotFound:
            empty_not_found(resp)


class PatientItem(ItemResource):
    method = "get_patient"
    docs = _item_doc("a patient", Patient)


class StudyItem(ItemResource):
    method = "get_study"
    docs = _item_doc("a study", Study)


class SeriesItem(ItemResource):
    method = "get_series"
    docs = _item_doc("a series", Series)


class ImageItem(ItemResource):
    method = "get_image"
    docs = _item_doc("an image", Image)


class FlatSeriesItem(ItemResource):
    method = "get_flat_series"
    docs = _item_doc("a flat series (id = series id)", FlatSeries)


class SeriesSource(ItemResource):
    method = "series_source"
    docs = {
        "GET": Operation(
            "The source that most recently added to a series",
            {200: Source, 404: EMPTY_NOT_FOUND},
        )
    }


# images of a patient or study ---------------------------------------------------------
class PatientImages(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "All images of a patient's matching series (unknown patient: [])",
            {200: list[Image]},
            FILTERS,
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.index.patient_images(id, query_filters(req)))


class StudyImages(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "All images of a study's matching series (unknown study: [])",
            {200: list[Image]},
            FILTERS,
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.index.study_images(id, query_filters(req)))


# series types of a series --------------------------------------------------------------
class SeriesTypesOfSeries(Resource):
    roles = {"GET": Role.USER, "DELETE": Role.USER}
    docs = {
        "GET": Operation("Series types assigned to a series", {200: list[SeriesType]}),
        "DELETE": Operation(
            "Remove all series type assignments of a series (also for unknown series)",
            {204: Empty("removed")},
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.index.series_types_of(id))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.index.remove_series_types(id)
        no_content(resp)


class SeriesTypeOfSeries(Resource):
    roles = {"PUT": Role.USER, "DELETE": Role.USER}
    docs = {
        "PUT": Operation(
            "Assign a series type to a series (idempotent)",
            {204: Empty("assigned"), 404: NOT_FOUND},
        ),
        "DELETE": Operation("Remove a series type from a series", {204: Empty("removed")}),
    }

    def on_put(self, req: falcon.Request, resp: falcon.Response, id: int, type_id: int) -> None:
        self.sb.index.add_series_type(id, type_id)
        no_content(resp)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int, type_id: int) -> None:
        self.sb.index.remove_series_type(id, type_id)
        no_content(resp)


# series tags of a series ------------------------------------------------------------------
class SeriesTagsOfSeries(Resource):
    roles = {"GET": Role.USER, "POST": Role.USER}
    docs = {
        "GET": Operation("Tags of a series", {200: list[SeriesTag]}),
        "POST": Operation(
            "Tag a series by tag name, creating the tag if needed (idempotent)",
            {201: SeriesTag, 404: NOT_FOUND},
            body=SeriesTag,
            description="The tag is looked up by name; the id in the body is ignored.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.series_tags.of_series(id))

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        tag: SeriesTag = read_model(req, SeriesTag, max_bytes=self.server.max_body_bytes)
        send(resp, self.sb.series_tags.tag_series(id, tag.name), status=201)


class SeriesTagOfSeries(Resource):
    roles = {"DELETE": Role.USER}
    docs = {
        "DELETE": Operation("Untag a series (the tag itself survives)", {204: Empty("removed")})
    }

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int, tag_id: int) -> None:
        self.sb.series_tags.untag_series(id, tag_id)
        no_content(resp)
