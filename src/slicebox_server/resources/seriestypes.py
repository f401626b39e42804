"""Series types, their rules and rule attributes (spec §3.6)."""

from __future__ import annotations

import falcon

from slicebox_core.models import Role, SeriesType
from slicebox_core.models.seriestypes import (
    IdsQuery,
    SeriesIdSeriesTypesResult,
    SeriesTypeRule,
    SeriesTypeRuleAttribute,
    UpdateSeriesTypesRunningStatus,
)

from ..openapi import NOT_FOUND, PAGING, Empty, Operation, Param, Text
from ..serialization import no_content, paging, read_model, required_int_param, send
from .base import Resource

REEVALUATES = "Every series is re-evaluated in the background (see .../rules/updatestatus)."


class SeriesTypes(Resource):
    roles = {"GET": Role.USER, "POST": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation("List series types", {200: list[SeriesType]}, PAGING),
        "POST": Operation(
            "Create a series type",
            {201: SeriesType, 400: Text("empty name, or a type with this name exists")},
            body=SeriesType,
            description="The id in the body is ignored. No evaluation runs (no rules yet).",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        send(resp, self.sb.series_types.list(start_index=start, count=count))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: SeriesType = read_model(req, SeriesType, max_bytes=self.server.max_body_bytes)
        send(resp, self.sb.series_types.create(body.name), status=201)


class SeriesTypeItem(Resource):
    roles = {"GET": Role.USER, "PUT": Role.ADMINISTRATOR, "DELETE": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation("Get a series type", {200: SeriesType, 404: NOT_FOUND}),
        "PUT": Operation(
            "Rename a series type",
            {204: Empty("renamed"), 400: Text("a type with this name exists"), 404: NOT_FOUND},
            body=SeriesType,
            description="The type is the one named by the path (the original used the id in "
            "the body). No re-evaluation.",
        ),
        "DELETE": Operation(
            "Delete a series type with its rules and assignments",
            {204: Empty("deleted (also for an unknown id)")},
            description=REEVALUATES,
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.series_types.get(id))

    def on_put(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        body: SeriesType = read_model(req, SeriesType, max_bytes=self.server.max_body_bytes)
        self.sb.series_types.rename(id, body.name)
        no_content(resp)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.series_types.delete(id)
        no_content(resp)


class Rules(Resource):
    roles = {"GET": Role.USER, "POST": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation(
            "List the rules of a series type",
            {200: list[SeriesTypeRule]},
            (Param("seriestypeid", int, required=True, description="the series type"),),
        ),
        "POST": Operation(
            "Add an (empty) rule to a series type",
            {201: SeriesTypeRule, 404: NOT_FOUND},
            body=SeriesTypeRule,
            description="The id in the body is ignored. No evaluation runs: a rule without "
            "attributes matches every series at the next evaluation.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, self.sb.series_types.rules(required_int_param(req, "seriestypeid")))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: SeriesTypeRule = read_model(req, SeriesTypeRule, max_bytes=self.server.max_body_bytes)
        send(resp, self.sb.series_types.add_rule(body.series_type_id), status=201)


class RuleItem(Resource):
    roles = {"DELETE": Role.ADMINISTRATOR}
    docs = {
        "DELETE": Operation(
            "Delete a rule with its attributes",
            {204: Empty("deleted (also for an unknown id)")},
            description=REEVALUATES,
        )
    }

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.series_types.delete_rule(id)
        no_content(resp)


class UpdateStatus(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "Whether series are waiting for (re-)evaluation",
            {200: UpdateSeriesTypesRunningStatus},
            description="running is true while any series waits, in any process. The "
            "original accepted any method here; only GET is served.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, UpdateSeriesTypesRunningStatus(self.sb.series_types.update_running()))


class RuleAttributes(Resource):
    roles = {"GET": Role.USER, "POST": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation("List the attributes of a rule", {200: list[SeriesTypeRuleAttribute]}),
        "POST": Operation(
            "Add an attribute (a condition) to a rule",
            {
                201: SeriesTypeRuleAttribute,
                400: Text("tag, name or tagPath invalid; the message says which"),
                404: NOT_FOUND,
            },
            body=SeriesTypeRuleAttribute,
            description="The rule is the one named by the path (the original used "
            "seriesTypeRuleId from the body). An empty name is filled with the keyword of "
            "tag; a name that is another tag's keyword is refused. tagPath holds decimal tag "
            "numbers of enclosing sequences, comma-separated. " + REEVALUATES,
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.series_types.attributes(id))

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        body: SeriesTypeRuleAttribute = read_model(
            req, SeriesTypeRuleAttribute, max_bytes=self.server.max_body_bytes
        )
        added = self.sb.series_types.add_attribute(
            id,
            tag=body.tag,
            values=body.values,
            name=body.name,
            tag_path=body.tag_path,
            name_path=body.name_path,
        )
        send(resp, added, status=201)


class RuleAttributeItem(Resource):
    roles = {"DELETE": Role.ADMINISTRATOR}
    docs = {
        "DELETE": Operation(
            "Delete an attribute of a rule",
            {204: Empty("deleted (also for unknown ids)")},
            description=REEVALUATES,
        )
    }

    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, id: int, attribute_id: int
    ) -> None:
        self.sb.series_types.delete_attribute(id, attribute_id)
        no_content(resp)


class SeriesQuery(Resource):
    roles = {"POST": Role.USER}
    docs = {
        "POST": Operation(
            "Series types of many series",
            {200: SeriesIdSeriesTypesResult},
            body=IdsQuery,
            description="Unknown series ids are simply absent from the result.",
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: IdsQuery = read_model(req, IdsQuery, max_bytes=self.server.max_body_bytes)
        found = self.sb.series_types.series_types_for(body.ids)
        send(resp, SeriesIdSeriesTypesResult(tuple(found)))
