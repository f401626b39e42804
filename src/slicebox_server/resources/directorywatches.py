"""Directory watches (spec §3.12)."""

from __future__ import annotations

import falcon

from slicebox_core.models import Role
from slicebox_core.models.watch import WatchedDirectory

from ..openapi import PAGING, Empty, Operation, Text
from ..serialization import no_content, paging, read_model, send
from .base import Resource


class DirectoryWatches(Resource):
    roles = {"GET": Role.USER, "POST": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation("List watched directories", {200: list[WatchedDirectory]}, PAGING),
        "POST": Operation(
            "Watch a server-local directory",
            {
                201: WatchedDirectory,
                400: Text(
                    "not a directory, relative, the root, intersecting another watch or "
                    "slicebox's data, or watched under another name"
                ),
            },
            body=WatchedDirectory,
            description="Files present now and added later (also in sub-folders) are imported "
            "once they stop changing, with source type directory; rejected files stay in place "
            "and are logged. The same path and name returns the existing watch. The stored "
            "path is absolute and resolved. The worker process starts watching within "
            "seconds.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        send(resp, self.sb.watches.list(start_index=start, count=count))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: WatchedDirectory = read_model(
            req, WatchedDirectory, max_bytes=self.server.max_body_bytes
        )
        send(resp, self.sb.watches.create(body.name, body.path), status=201)


class DirectoryWatchItem(Resource):
    roles = {"DELETE": Role.ADMINISTRATOR}
    docs = {
        "DELETE": Operation(
            "Stop watching a directory (its files are untouched)",
            {204: Empty("deleted (also for an unknown id)")},
        )
    }

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.watches.delete(id)
        no_content(resp)
