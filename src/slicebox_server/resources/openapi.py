"""The OpenAPI 3.1 document of the routes this server serves."""

from __future__ import annotations

from typing import Any

import falcon

from slicebox_core.system import slicebox_version

from ..auth import PUBLIC
from ..openapi import Operation, build_document
from .base import Resource


class OpenApiDocument(Resource):
    roles = {"GET": PUBLIC}
    docs = {
        "GET": Operation(
            "This document",
            {200: dict[str, Any]},
            description="Public: it describes the API every slicebox serves and holds no "
            "data of this one.",
        )
    }

    _document: dict[str, Any] | None = None

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self._document is None:
            from ..routes import ROUTES  # the table imports this module

            self._document = build_document(ROUTES, version=slicebox_version())
        resp.media = self._document
