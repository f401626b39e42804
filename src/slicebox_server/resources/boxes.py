"""Boxes and their transactions, user-facing (spec §3.8)."""

from __future__ import annotations

import falcon

from slicebox_core.boxes.protocol import api_base
from slicebox_core.models import Image, Role
from slicebox_core.models.anonymization import BulkAnonymizationData
from slicebox_core.models.boxes import (
    Box,
    IncomingTransaction,
    OutgoingTransaction,
    RemoteBox,
    RemoteBoxConnectionData,
)

from ..openapi import BAD_REQUEST, NOT_FOUND, PAGING, Empty, Operation, Text
from ..serialization import no_content, paging, read_model, send
from .base import Resource


class Boxes(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "List boxes, with their tokens and online status",
            {200: list[Box]},
            PAGING,
            description="A POLL box is online while its remote polled within the last 15 s; "
            "a PUSH box while its last poll of the remote succeeded.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        send(resp, self.sb.boxes.list(start_index=start, count=count))


class CreateConnection(Resource):
    roles = {"POST": Role.ADMINISTRATOR}
    docs = {
        "POST": Operation(
            "Create a POLL box: the remote polls us and pushes to us with its token",
            {201: Box, 400: Text("no name, or a PUSH box has the name")},
            body=RemoteBoxConnectionData,
            description="The box's baseUrl is <public api base>/transactions/<token>, the "
            "public base being server.public_url or else the URL of this request. A POLL box "
            "of the same name is returned as it is.",
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        data: RemoteBoxConnectionData = read_model(
            req, RemoteBoxConnectionData, max_bytes=self.server.max_body_bytes
        )
        base = api_base(self.server.public_url, req.prefix)
        box = self.sb.boxes.create_connection(data.name, data.default_profile, api_base=base)
        send(resp, box, status=201)


class Connect(Resource):
    roles = {"POST": Role.ADMINISTRATOR}
    docs = {
        "POST": Operation(
            "Create a PUSH box from the URL a remote's createconnection gave",
            {
                201: Box,
                400: Text("Malformed box base url, or the name is taken by another connection"),
            },
            body=RemoteBox,
            description="The token is the URL's last path segment (a UUID). The same name and "
            "URL again return the existing box.",
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        remote: RemoteBox = read_model(req, RemoteBox, max_bytes=self.server.max_body_bytes)
        send(resp, self.sb.boxes.connect(remote), status=201)


class BoxItem(Resource):
    roles = {"DELETE": Role.ADMINISTRATOR}
    docs = {
        "DELETE": Operation(
            "Delete a box (also an unknown id); its transactions are kept",
            {204: Empty("deleted")},
        )
    }

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.boxes.delete(id)
        no_content(resp)


class Send(Resource):
    roles = {"POST": Role.USER}
    docs = {
        "POST": Operation(
            "Queue images for a box as one outgoing transaction",
            {204: Empty("queued"), 400: BAD_REQUEST, 404: Text("No box found for id N")},
            body=BulkAnonymizationData,
            description="Images are anonymized with the profile (plus the Basic Profile) and "
            "their tag values when they are transferred, not now. Image ids are not checked; "
            "an empty list makes an empty transaction.",
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        data: BulkAnonymizationData = read_model(
            req, BulkAnonymizationData, max_bytes=self.server.max_body_bytes
        )
        self.sb.boxes.send(id, data)
        no_content(resp)


class Incoming(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "List incoming transactions, most recently updated first",
            {200: list[IncomingTransaction]},
            PAGING,
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        send(resp, self.sb.boxes.incoming(start_index=start, count=count))


class IncomingItem(Resource):
    roles = {"DELETE": Role.USER}
    docs = {
        "DELETE": Operation(
            "Delete an incoming transaction (its images stay)",
            {204: Empty("deleted")},
            description="If the transfer goes on, its next image starts a new transaction.",
        )
    }

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.boxes.delete_incoming(id)
        no_content(resp)


class IncomingImages(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "The images of an incoming transaction that still exist", {200: list[Image]}
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.boxes.incoming_images(id))


class Outgoing(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "List outgoing transactions, most recently updated first",
            {200: list[OutgoingTransaction]},
            PAGING,
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        send(resp, self.sb.boxes.outgoing(start_index=start, count=count))


class OutgoingItem(Resource):
    roles = {"DELETE": Role.USER}
    docs = {
        "DELETE": Operation(
            "Delete an outgoing transaction: its remaining images are not sent",
            {204: Empty("deleted")},
        )
    }

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.boxes.delete_outgoing(id)
        no_content(resp)


class OutgoingImages(Resource):
    roles = {"GET": Role.USER}
    docs = {
        "GET": Operation(
            "The images of an outgoing transaction that still exist",
            {200: list[Image], 404: NOT_FOUND},
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        send(resp, self.sb.boxes.outgoing_images(id))
