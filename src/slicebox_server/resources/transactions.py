"""The box-to-box protocol, called by remote sliceboxes (spec §3.9, §5.5.4, §5.5.5).

These routes are public for the auth middleware: the ``{token}`` path segment is the
credential, checked here against the POLL boxes (unknown token: 401 "No box found for token
T"). Image bodies are zlib-deflated DICOM; they are inflated and spooled chunk by chunk on the
way in and deflated chunk by chunk on the way out, never held whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import falcon

from slicebox_core.boxes.protocol import (
    CORRUPT,
    ERROR_HEADER,
    SHA256_HEADER,
    CorruptTransfer,
    deflate_chunks,
    parse_status,
)
from slicebox_core.models.boxes import (
    Box,
    BoxTransactionStatus,
    FailedOutgoingTransactionImage,
    OutgoingTransactionImage,
)

from ..auth import PUBLIC
from ..errors import write_text_error
from ..openapi import OCTETS, Binary, Empty, Operation, Param, Text
from ..serialization import (
    body_stream,
    empty_not_found,
    int_param,
    no_content,
    read_json,
    read_model,
    required_int_param,
    send,
)
from .base import Resource

UNAUTHORIZED = Text("No box found for token T")
TRANSACTION = Param("transactionid", int, required=True, description="the sender's id")


class _TokenResource(Resource):
    def box(self, token: str) -> Box:
        """The POLL box of ``token``. Raises Unauthorized (401)."""
        return self.sb.boxes.box_for_token(token)


class PushedImage(_TokenResource):
    roles = {"POST": PUBLIC}
    docs = {
        "POST": Operation(
            "Receive one image of a transaction pushed by the remote",
            {
                204: Empty("received (also when the image was not acceptable DICOM)"),
                400: Text("damaged in transit (X-Slicebox-Error: corrupt): send it again"),
                401: UNAUTHORIZED,
            },
            (
                TRANSACTION,
                Param("sequencenumber", int, required=True, description="1..N"),
                Param("totalimagecount", int, required=True, description="N"),
            ),
            body=Binary(OCTETS, "the DICOM file, zlib-deflated"),
            description="X-Slicebox-Sha256 (optional) is the SHA-256 of the inflated file; "
            "a mismatch stores nothing and answers 400. A sequence number received before "
            "is not stored again.",
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        box = self.box(token)
        transaction_id = required_int_param(req, "transactionid")
        sequence_number = required_int_param(req, "sequencenumber")
        total = required_int_param(req, "totalimagecount")
        try:
            self.sb.boxes.receive_image(
                box,
                transaction_id,
                sequence_number,
                total,
                body_stream(req),
                sha256=req.get_header(SHA256_HEADER),
            )
        except CorruptTransfer as exc:
            write_text_error(resp, 400, str(exc))
            resp.set_header(ERROR_HEADER, CORRUPT)
            return
        no_content(resp)


class Status(_TokenResource):
    roles = {"GET": PUBLIC, "PUT": PUBLIC}
    docs = {
        "GET": Operation(
            "The status of our incoming transaction for the sender's id",
            {200: BoxTransactionStatus, 401: UNAUTHORIZED, 404: Empty("no such transaction")},
            (TRANSACTION,),
        ),
        "PUT": Operation(
            "Set the status of our incoming transaction for the sender's id",
            {
                204: Empty("set"),
                400: Text("unknown status"),
                401: UNAUTHORIZED,
                404: Empty("no such transaction"),
            },
            (TRANSACTION,),
            body=BoxTransactionStatus,
            description="FINISHED also sets the received count to the total.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        box = self.box(token)
        status = self.sb.boxes.incoming_status(box, required_int_param(req, "transactionid"))
        send(resp, BoxTransactionStatus(status))

    def on_put(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        box = self.box(token)
        transaction_id = required_int_param(req, "transactionid")
        body = read_json(req, max_bytes=self.server.max_body_bytes)
        status = parse_status(body.get("status") if isinstance(body, dict) else None)
        self.sb.boxes.set_incoming_status(box, transaction_id, status)
        no_content(resp)


class Poll(_TokenResource):
    roles = {"GET": PUBLIC}
    docs = {
        "GET": Operation(
            "Images queued for the remote (each reserved for it for a while)",
            {
                200: list[OutgoingTransactionImage],
                401: UNAUTHORIZED,
                404: Empty("nothing queued"),
            },
            (Param("n", int, default=1, description="at most this many"),),
            description="Records the poll time: the box is online while it polls.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        box = self.box(token)
        items = self.sb.boxes.poll(box, int_param(req, "n", 1, minimum=0))
        if not items:
            empty_not_found(resp)
            return
        send(resp, items)


class OutgoingImage(_TokenResource):
    roles = {"GET": PUBLIC}
    docs = {
        "GET": Operation(
            "One queued image, anonymized and zlib-deflated",
            {
                200: Binary(OCTETS, "the anonymized DICOM file, zlib-deflated"),
                401: UNAUTHORIZED,
                404: Text("not found"),
            },
            (
                TRANSACTION,
                Param("imageid", int, required=True, description="the outgoing image's id"),
            ),
            description="Anonymized (and its key recorded) on every request. "
            "X-Slicebox-Sha256 is the SHA-256 of the inflated file.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        box = self.box(token)
        transaction_id = required_int_param(req, "transactionid")
        image_id = required_int_param(req, "imageid")
        stack = ExitStack()
        prepared = stack.enter_context(self.sb.boxes.serve_outgoing(box, transaction_id, image_id))
        level = self.sb.boxes.config.compression_level

        def body() -> Iterator[bytes]:
            with stack:
                yield from deflate_chunks(prepared.file, level=level)

        resp.content_type = OCTETS
        resp.set_header(SHA256_HEADER, prepared.sha256)
        resp.stream = body()


class Done(_TokenResource):
    roles = {"POST": PUBLIC}
    docs = {
        "POST": Operation(
            "The remote stored a polled image",
            {204: Empty("recorded (also for an unknown pair)"), 401: UNAUTHORIZED},
            body=OutgoingTransactionImage,
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        box = self.box(token)
        item: OutgoingTransactionImage = read_model(
            req, OutgoingTransactionImage, max_bytes=self.server.max_body_bytes
        )
        self.sb.boxes.outgoing_done(box, item)
        no_content(resp)


class Failed(_TokenResource):
    roles = {"POST": PUBLIC}
    docs = {
        "POST": Operation(
            "The remote gave up a transaction: mark it FAILED",
            {204: Empty("recorded"), 401: UNAUTHORIZED},
            body=FailedOutgoingTransactionImage,
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        box = self.box(token)
        failed: FailedOutgoingTransactionImage = read_model(
            req, FailedOutgoingTransactionImage, max_bytes=self.server.max_body_bytes
        )
        self.sb.boxes.outgoing_failed(box, failed)
        no_content(resp)
