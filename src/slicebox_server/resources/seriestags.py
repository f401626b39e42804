"""The global series-tag vocabulary (spec §3.5)."""

from __future__ import annotations

import falcon

from slicebox_core.models import Role, SeriesTag

from ..openapi import NOT_FOUND, PAGING, Empty, Operation, Param, Text
from ..serialization import bool_param, no_content, paging, read_model, send, str_param
from .base import Resource


class SeriesTags(Resource):
    roles = {"GET": Role.USER, "POST": Role.USER}
    docs = {
        "GET": Operation(
            "List all series tags, used or not",
            {200: list[SeriesTag]},
            (
                *PAGING,
                Param("orderby", str, description="id or name; other values are ignored"),
                Param("orderascending", bool, default=True),
                Param("filter", str, description="case-insensitive substring of the name"),
            ),
        ),
        "POST": Operation(
            "Create a series tag",
            {201: SeriesTag, 400: Text("empty name, or a tag with this name exists")},
            body=SeriesTag,
            description="The id in the body is ignored.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        tags = self.sb.series_tags.list(
            start_index=start,
            count=count,
            order_by=str_param(req, "orderby"),
            order_ascending=bool_param(req, "orderascending", True),
            filter=str_param(req, "filter"),
        )
        send(resp, tags)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        tag: SeriesTag = read_model(req, SeriesTag, max_bytes=self.server.max_body_bytes)
        send(resp, self.sb.series_tags.create(tag.name), status=201)


class SeriesTagItem(Resource):
    roles = {"GET": Role.USER, "PUT": Role.USER, "DELETE": Role.USER}
    docs = {
        "GET": Operation(
            "Get a series tag",
            {200: SeriesTag, 404: NOT_FOUND},
            description="The original answered 500 for an unknown id (a flaw); this is 404.",
        ),
        "PUT": Operation(
            "Rename a series tag",
            {200: SeriesTag, 400: Text("a tag with this name exists"), 404: NOT_FOUND},
            body=SeriesTag,
            description="The tag is the one named by the path. The original used the id "
            "inside the body and ignored the path (a flaw).",
        ),
        "DELETE": Operation(
            "Delete a series tag and all its links to series", {204: Empty("deleted")}
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.series_tags.get(id))

    def on_put(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        tag: SeriesTag = read_model(req, SeriesTag, max_bytes=self.server.max_body_bytes)
        send(resp, self.sb.series_tags.rename(id, tag.name))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.series_tags.delete(id)
        no_content(resp)
