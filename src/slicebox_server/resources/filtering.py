"""Tag filters, their tag paths and source associations (spec §3.14)."""

from __future__ import annotations

import falcon

from slicebox_core.models import Role, Source
from slicebox_core.models.filters import SourceTagFilter, TagFilter, TagFilterTagPath

from ..openapi import NOT_FOUND, PAGING, Empty, Operation, Text
from ..serialization import no_content, paging, read_model, send
from .base import Resource


class Filters(Resource):
    roles = {"GET": Role.USER, "POST": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation("List tag filters", {200: list[TagFilter]}, PAGING),
        "POST": Operation(
            "Create a tag filter",
            {201: TagFilter},
            body=TagFilter,
            description="Always inserts: names need not be unique (as in the original). The "
            "id in the body is ignored.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        send(resp, self.sb.tag_filters.list(start_index=start, count=count))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: TagFilter = read_model(req, TagFilter, max_bytes=self.server.max_body_bytes)
        send(resp, self.sb.tag_filters.create(body.name, body.tag_filter_type), status=201)


class FilterItem(Resource):
    roles = {"GET": Role.USER, "DELETE": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation("Get a tag filter", {200: TagFilter, 404: NOT_FOUND}),
        "DELETE": Operation(
            "Delete a tag filter with its tag paths and source associations",
            {204: Empty("deleted (also for an unknown id)")},
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.tag_filters.get(id))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.tag_filters.delete(id)
        no_content(resp)


class TagPaths(Resource):
    roles = {"GET": Role.USER, "POST": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation("List the tag trees of a filter", {200: list[TagFilterTagPath]}, PAGING),
        "POST": Operation(
            "Add a tag tree to a filter",
            {
                201: TagFilterTagPath,
                400: Text("unknown keyword without tag, bad item, ..."),
                404: NOT_FOUND,
            },
            body=TagFilterTagPath,
            description="The filter is the one named by the path (the original used "
            "tagFilterId from the body). Steps may give only a keyword; item may be '*' (any "
            "item) and the last step may be an item. Duplicates are allowed.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        start, count = paging(req, self.server)
        send(resp, self.sb.tag_filters.tag_paths(id, start_index=start, count=count))

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        body: TagFilterTagPath = read_model(
            req, TagFilterTagPath, max_bytes=self.server.max_body_bytes
        )
        send(resp, self.sb.tag_filters.add_tag_path(id, body.tag_path), status=201)


class TagPathItem(Resource):
    roles = {"DELETE": Role.ADMINISTRATOR}
    docs = {
        "DELETE": Operation(
            "Remove a tag tree from a filter", {204: Empty("deleted (also for unknown ids)")}
        )
    }

    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, id: int, tag_path_id: int
    ) -> None:
        self.sb.tag_filters.delete_tag_path(id, tag_path_id)
        no_content(resp)


class Associations(Resource):
    roles = {"GET": Role.USER, "POST": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation("List source-filter associations", {200: list[SourceTagFilter]}, PAGING),
        "POST": Operation(
            "Apply a filter to a source's future images",
            {201: SourceTagFilter, 404: NOT_FOUND},
            body=SourceTagFilter,
            description="Always inserts; a source may have several filters. tagFilterName is "
            "set from the filter (the body's is ignored).",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        send(resp, self.sb.tag_filters.associations(start_index=start, count=count))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: SourceTagFilter = read_model(
            req, SourceTagFilter, max_bytes=self.server.max_body_bytes
        )
        source = Source(body.source_type, body.source_name, body.source_id)
        send(resp, self.sb.tag_filters.associate(source, body.tag_filter_id), status=201)


class AssociationItem(Resource):
    roles = {"DELETE": Role.ADMINISTRATOR}
    docs = {
        "DELETE": Operation(
            "Remove a source-filter association", {204: Empty("deleted (also unknown id)")}
        )
    }

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.tag_filters.delete_association(id)
        no_content(resp)
