"""The system log (spec §3.16)."""

from __future__ import annotations

import falcon

from slicebox_core.errors import InvalidInput
from slicebox_core.models import LogEntry, LogEntryType, Role

from ..openapi import PAGING, Empty, Operation, Param
from ..serialization import no_content, paging, send, str_param
from .base import Resource


class Log(Resource):
    roles = {"GET": Role.USER, "DELETE": Role.ADMINISTRATOR}
    docs = {
        "GET": Operation(
            "List log entries, newest first",
            {200: list[LogEntry]},
            (
                *PAGING,
                Param("subject", str, description="exact subject, e.g. Directory or Import"),
                Param("type", str, description="DEFAULT, INFO, WARN or ERROR"),
            ),
        ),
        "DELETE": Operation(
            "Clear the whole log",
            {204: Empty("cleared")},
            description="Needs ADMINISTRATOR: the original let any user erase the audit trail.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, count = paging(req, self.server)
        raw_type = str_param(req, "type")
        entry_type = None
        if raw_type is not None:
            try:
                entry_type = LogEntryType(raw_type.upper())
            except ValueError:
                allowed = ", ".join(t.value for t in LogEntryType)
                raise InvalidInput(
                    f"Query parameter 'type' must be one of {allowed}, got {raw_type!r}"
                ) from None
        entries = self.sb.log.list(
            start_index=start,
            count=count,
            subject=str_param(req, "subject"),
            entry_type=entry_type,
        )
        send(resp, entries)

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.sb.log.clear()
        no_content(resp)


class LogItem(Resource):
    roles = {"DELETE": Role.USER}
    docs = {"DELETE": Operation("Delete one log entry", {204: Empty("deleted (also unknown)")})}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        self.sb.log.delete(id)
        no_content(resp)
