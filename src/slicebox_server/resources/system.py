"""System routes: health, version, sources, destinations (spec §3.2)."""

from __future__ import annotations

import falcon

from slicebox_core.models import Destination, Role, Source, SystemInformation

from ..auth import PUBLIC
from ..openapi import Operation, Text
from ..serialization import send
from .base import Resource


class Health(Resource):
    roles = {"GET": PUBLIC}
    docs = {
        "GET": Operation(
            "Liveness check",
            {200: Text("OK")},
            description="Answers without touching the index, so it is a liveness probe only.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "text/plain; charset=utf-8"
        resp.text = "OK"


class Information(Resource):
    roles = {"GET": PUBLIC}
    docs = {"GET": Operation("Version of this slicebox", {200: SystemInformation})}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, SystemInformation(self.sb.system.version))


class Sources(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "Every source images can come from",
            {200: list[Source]},
            description="Users, boxes, SCPs, watched directories and import sessions; "
            "not paged.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, self.sb.system.sources())


class Destinations(Resource):
    roles = {"GET": Role.USER}
    docs = {"GET": Operation("Every destination images can be sent to", {200: list[Destination]})}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, self.sb.system.destinations())
