"""System routes: health, version, sources, destinations (spec §3.2)."""

from __future__ import annotations

import logging

import falcon

from slicebox_core.models import Destination, Role, Source, SystemInformation

from ..auth import PUBLIC
from ..openapi import Operation, Text
from ..serialization import send
from .base import Resource

log = logging.getLogger("slicebox.server")


class Health(Resource):
    roles = {"GET": PUBLIC}
    docs = {
        "GET": Operation(
            "Health check",
            {200: Text("OK"), 503: Text("the index does not answer")},
            description="Runs a trivial query on the index.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "text/plain; charset=utf-8"
        try:
            self.sb.system.health()
        except Exception:  # any failure of the index means "unhealthy", not a 500
            log.warning("health check failed", exc_info=True)
            resp.status = 503
            resp.text = "Unavailable"
            return
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
            description="Users, boxes, SCPs, watched directories and import sessions; not paged.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, self.sb.system.sources())


class Destinations(Resource):
    roles = {"GET": Role.USER}
    docs = {"GET": Operation("Every destination images can be sent to", {200: list[Destination]})}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, self.sb.system.destinations())
