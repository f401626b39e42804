"""The audit trail of operations: who did what, from where, with what outcome.

Every ``DELETE`` and every responder a resource lists in ``audited`` (exports, user changes,
bulk deletions, key exports) writes one log entry (spec §4.10 shape; subject ``Audit``) once
the response is known, also when it failed (a refused deletion is worth knowing about).
Authentication events (logins, failed password checks) are written by the core's user
service, which knows whether a user name exists.

An entry names the user (name and id), the client address, the method, the path with its
id parameters, the status and, when the responder set ``req.context.audit``, a detail such as
"added user 'bob' (id 3, USER)". It never holds query strings or bodies (patient data,
passwords) nor path segments that are not ids (box tokens).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import falcon

from slicebox_core.log.service import LogService
from slicebox_core.models import LogEntryType
from slicebox_core.users.service import AUDIT

from .auth import Caller, client_ip, has_responder

log = logging.getLogger("slicebox.server")

_FIELD = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def is_audited(resource: object, method: str) -> bool:
    """True when successful or failed calls of ``method`` are written to the audit log."""
    return method.upper() == "DELETE" or method.upper() in getattr(resource, "audited", ())


def audited_path(req: falcon.Request, params: dict[str, Any] | None) -> str:
    """The route with integer parameters filled in and anything else left as ``{name}``."""
    template = req.uri_template or req.path
    values = params or {}

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return str(value) if isinstance(value, int) else "{" + match.group(1) + "}"

    return _FIELD.sub(fill, template)


class AuditMiddleware:
    """Writes audited operations to the log.

    Args:
        log: the core log service.
    """

    def __init__(self, log: LogService) -> None:
        self._log = log

    def process_resource(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        """Remember the route parameters for the entry (falcon does not keep them)."""
        req.context.audit_params = params

    def process_response(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        """Write the entry of an audited responder once its status is known."""
        if resource is None or not has_responder(resource, req.method):
            return
        if not is_audited(resource, req.method):
            return
        caller: Caller | None = getattr(req.context, "caller", None)
        status = resp.status_code
        if caller is None:
            return  # not authenticated: nothing ran; failed password checks are logged by core
        path = audited_path(req, getattr(req.context, "audit_params", None))
        message = (
            f"{req.method} {path} by user {caller.user.user!r} (id {caller.user.id}) "
            f"from {client_ip(req) or 'an unknown address'}: {status}"
        )
        detail = getattr(req.context, "audit", None)
        if detail:
            message += f"; {detail}"
        entry_type = LogEntryType.INFO if status < 400 else LogEntryType.WARN
        try:
            self._log.add(entry_type, AUDIT, message)
        except Exception:  # the response is decided; a failed audit write must not undo it
            log.exception("could not write the audit entry of %s %s", req.method, path)
