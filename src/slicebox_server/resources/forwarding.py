"""Forwarding rules (spec §3.13)."""

from __future__ import annotations

import falcon

from slicebox_core.models import Role
from slicebox_core.models.forwarding import ForwardingRule

from ..openapi import PAGING, Empty, Operation, Text
from ..serialization import no_content, paging, read_model, send
from .base import Resource


class ForwardingRules(Resource):
    roles = {"GET": Role.USER, "POST": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation("List forwarding rules", {200: list[ForwardingRule]}, PAGING),
        "POST": Operation(
            "Forward every image of a source to a box or an SCU",
            {
                201: ForwardingRule,
                400: Text(
                    "a source type images do not come from, a destination type other than box "
                    "or scu, or a source or destination that does not exist"
                ),
            },
            body=ForwardingRule,
            description="A rule for the same source (type, id) and destination (type, id) is "
            "returned unchanged, even when keepImages differs. The id in the body is ignored; "
            "source and destination names are taken from the current source and destination "
            "(the original stored them unchecked). Images are sent in batches: a batch goes "
            "once no image of its source arrived for forwarding.batch_idle_s (30 s), to a box "
            "with the box's default anonymization profile, to an SCU as stored. keepImages "
            "false deletes the images once every rule of the source delivered them.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        send(resp, self.sb.forwarding.list(start_index=start, count=count))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: ForwardingRule = read_model(req, ForwardingRule, max_bytes=self.server.max_body_bytes)
        send(resp, self.sb.forwarding.create(body), status=201)


class ForwardingRuleItem(Resource):
    roles = {"DELETE": Role.ADMINISTRATOR}
    docs = {
        "DELETE": Operation(
            "Delete a forwarding rule and its pending batches (the images stay)",
            {204: Empty("deleted (also for an unknown id)")},
        )
    }

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.forwarding.delete(id)
        no_content(resp)
