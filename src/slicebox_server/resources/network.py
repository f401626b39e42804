"""SCPs and SCUs (spec §3.10, §3.11) and query/retrieve through an SCU (not in the original)."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import falcon

from slicebox_core import wire
from slicebox_core.errors import SliceboxError
from slicebox_core.models import Role
from slicebox_core.models.network import (
    RemoteQuery,
    RetrieveRequest,
    RetrieveResult,
    ScpData,
    ScuData,
)

from ..openapi import BAD_REQUEST, NOT_FOUND, PAGING, Empty, Operation, Text
from ..serialization import no_content, paging, read_json, read_model, send
from .base import Resource

NDJSON = "application/x-ndjson"
BAD_PEER = Text("the DICOM node is unreachable, refuses the association, or fails the request")


class Scps(Resource):
    roles = {"GET": Role.USER, "POST": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation("List the SCPs (DICOM listeners)", {200: list[ScpData]}, PAGING),
        "POST": Operation(
            "Create an SCP and start its listener",
            {201: ScpData, 400: BAD_REQUEST},
            body=ScpData,
            description="The id in the body is ignored. An SCP with the same name is returned "
            "as it is. The trimmed AE title must have 1 to 16 characters (no backslash or "
            "control characters); the port must be 0-65535 and not used by another SCP. The "
            "listener runs in the worker process, which picks the new SCP up within seconds.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        send(resp, self.sb.network.scps(start_index=start, count=count))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        scp: ScpData = read_model(req, ScpData, max_bytes=self.server.max_body_bytes)
        send(resp, self.sb.network.create_scp(scp.name, scp.ae_title, scp.port), status=201)


class ScpItem(Resource):
    roles = {"DELETE": Role.ADMINISTRATOR}
    docs = {"DELETE": Operation("Delete an SCP and stop its listener", {204: Empty("deleted")})}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.network.delete_scp(id)
        no_content(resp)


class Scus(Resource):
    roles = {"GET": Role.USER, "POST": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation("List the SCUs (remote DICOM nodes)", {200: list[ScuData]}, PAGING),
        "POST": Operation(
            "Create an SCU",
            {201: ScuData, 400: BAD_REQUEST},
            body=ScuData,
            description="The id in the body is ignored. An SCU with the same name is returned "
            "as it is. AE title rules as for SCPs; port 0-65535; (host, port) unique.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        send(resp, self.sb.network.scus(start_index=start, count=count))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        scu: ScuData = read_model(req, ScuData, max_bytes=self.server.max_body_bytes)
        created = self.sb.network.create_scu(scu.name, scu.ae_title, scu.host, scu.port)
        send(resp, created, status=201)


class ScuItem(Resource):
    roles = {"DELETE": Role.ADMINISTRATOR}
    docs = {"DELETE": Operation("Delete an SCU", {204: Empty("deleted")})}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.network.delete_scu(id)
        no_content(resp)


class ScuSend(Resource):
    roles = {"POST": Role.USER}
    audited = frozenset({"POST"})
    docs = {
        "POST": Operation(
            "Send images to the node by C-STORE, as stored",
            {204: Empty("all images sent"), 404: NOT_FOUND, 502: BAD_PEER},
            body=list[int],
            description="Synchronous (spec §5.13). Unknown image ids are skipped. 502 when the "
            "node is unreachable, rejects the association, accepts no presentation context "
            "for an image, or answers a C-STORE with a failure status.",
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        image_ids: list[int] = wire.structure(
            read_json(req, max_bytes=self.server.max_body_bytes), list[int]
        )
        self.sb.network.send(id, image_ids)
        no_content(resp)


class ScuEcho(Resource):
    roles = {"POST": Role.USER}
    docs = {
        "POST": Operation(
            "Verify the node with a C-ECHO",
            {204: Empty("the node answered Success"), 404: NOT_FOUND, 502: BAD_PEER},
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.network.echo(id)
        no_content(resp)


class ScuFind(Resource):
    roles = {"POST": Role.USER}
    docs = {
        "POST": Operation(
            "Query the node (C-FIND)",
            {200: list[dict], 400: BAD_REQUEST, 404: NOT_FOUND, 502: BAD_PEER},
            body=RemoteQuery,
            description="Answers one object per match, DICOM keyword -> value (multiple values "
            'joined by a backslash). Example body: {"level": "STUDY", "attributes": '
            '{"PatientID": "P1*", "StudyDate": "20200101-", "StudyInstanceUID": ""}}. '
            "Empty values are return keys. At most ``limit`` matches (default 1000).",
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        query: RemoteQuery = read_model(req, RemoteQuery, max_bytes=self.server.max_body_bytes)
        resp.media = self.sb.network.find(id, query)


class ScuRetrieve(Resource):
    roles = {"POST": Role.USER}
    docs = {
        "POST": Operation(
            "Retrieve studies/series from the node into this slicebox (C-MOVE or C-GET)",
            {200: RetrieveResult, 400: BAD_REQUEST, 404: NOT_FOUND, 502: BAD_PEER},
            body=RetrieveRequest,
            description="C-MOVE asks the node to send to destinationAeTitle (default: the AE "
            "title of this slicebox's first SCP, which the node must know). With "
            f"``Accept: {NDJSON}`` the answer is streamed: one JSON object per line, "
            '{"progress": RetrieveProgress} while it runs, then {"result": RetrieveResult} '
            'or {"error": {"status": 502, "message": ...}}.',
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        request: RetrieveRequest = read_model(
            req, RetrieveRequest, max_bytes=self.server.max_body_bytes
        )
        if NDJSON not in (req.accept or ""):
            send(resp, self.sb.network.retrieve(id, request))
            return
        resp.content_type = NDJSON
        resp.stream = self._streamed(id, request)

    def _streamed(self, scu_id: int, request: RetrieveRequest) -> Iterator[bytes]:
        """Run the retrieve in a thread; return its progress lines.

        Errors before the retrieve starts (unknown SCU, bad request, unreachable node) are
        raised here, so they get their HTTP status; later ones become an ``error`` line.
        """
        events: queue.Queue[tuple[str, Any]] = queue.Queue()

        def run() -> None:
            try:
                result = self.sb.network.retrieve(
                    scu_id, request, progress=lambda p: events.put(("progress", p))
                )
            except BaseException as exc:
                events.put(("error", exc))
            else:
                events.put(("result", result))

        threading.Thread(target=run, name="slicebox-retrieve", daemon=True).start()
        kind, value = events.get()
        if kind == "error":
            raise value
        return self._lines(events, (kind, value))

    @staticmethod
    def _lines(events: queue.Queue[tuple[str, Any]], first: tuple[str, Any]) -> Iterator[bytes]:
        item = first
        while True:
            kind, value = item
            if kind == "error":
                status = 502 if isinstance(value, SliceboxError) else 500
                message = str(value) if isinstance(value, SliceboxError) else "internal error"
                body: dict[str, Any] = {"error": {"status": status, "message": message}}
            else:
                body = {kind: wire.unstructure(value)}
            yield (json.dumps(body) + "\n").encode()
            if kind != "progress":
                return
            item = events.get()
