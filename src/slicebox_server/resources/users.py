"""Users, login, logout and the current session's user (spec §3.1, §5.14).

Passwords and their hashes never appear in a response: ``ApiUser`` is ``{id, user, role}``
(the original also sent ``hashedPassword``).
"""

from __future__ import annotations

import attrs
import falcon

from slicebox_core.errors import Unauthorized
from slicebox_core.models import ApiUser, ClearTextUser, Role, UserInfo

from ..auth import PUBLIC, SESSION_COOKIE, caller_of, client_ip, session_token, user_agent
from ..openapi import PAGING, Empty, Operation, Text
from ..security import is_tls
from ..serialization import empty_not_found, list_query, no_content, read_model, send
from .base import Resource

COOKIE_PATH = "/api"


@attrs.frozen
class UserPass:
    """The login body ``{user, pass}``."""

    user: str
    password: str = attrs.field(metadata={"wire": "pass"}, repr=False)


RATE_LIMITED = Text(
    "Too many failed password checks for this user name or client; Retry-After says how "
    "many seconds to wait"
)


class Login(Resource):
    roles = {"POST": PUBLIC}
    docs = {
        "POST": Operation(
            "Log in; the session cookie authenticates later requests",
            {
                204: Empty("logged in; Set-Cookie: slicebox-session=<token>; Path=/api"),
                401: Text("Invalid username or password"),
                429: RATE_LIMITED,
            },
            body=UserPass,
            description="The session is bound to the client IP and User-Agent and ends after "
            "the configured idle time (default one hour). The cookie is HttpOnly, "
            "SameSite=Strict, Path=/api, and Secure over https. Every login issues a new "
            "token: slicebox stores only token digests, so the original's reuse of one token "
            "per user, IP and User-Agent is not possible. The original Swagger document said "
            "201; the code answers 204. The answer takes as long whether or not the user "
            "exists; failures are rate-limited per user name and per client (429) and logged.",
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: UserPass = read_model(req, UserPass, max_bytes=self.server.max_body_bytes)
        try:
            token = self.sb.users.login(
                body.user, body.password, ip=client_ip(req), user_agent=user_agent(req)
            )
        except Unauthorized:
            raise Unauthorized("Invalid username or password") from None
        resp.set_cookie(
            SESSION_COOKIE,
            token,
            path=COOKIE_PATH,
            http_only=True,
            secure=is_tls(req),
            same_site="Strict",
        )
        no_content(resp)


class Logout(Resource):
    roles = {"POST": Role.USER}
    docs = {
        "POST": Operation(
            "Log out: end the session and clear the cookie",
            {204: Empty("logged out")},
            description="Ends every session of the authenticated user from this client IP "
            "and User-Agent.",
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller = caller_of(req)
        self.sb.users.logout(caller.user.id, ip=client_ip(req), user_agent=user_agent(req))
        resp.unset_cookie(SESSION_COOKIE, path=COOKIE_PATH, same_site="Strict")
        no_content(resp)


class CurrentUser(Resource):
    roles = {"GET": PUBLIC}
    docs = {
        "GET": Operation(
            "The user of the session cookie",
            {200: UserInfo, 404: Empty("no valid session")},
            description="Only the cookie is consulted (not Basic credentials). Refreshes the "
            "session's last use.",
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        token = session_token(req)
        if token is None:
            empty_not_found(resp)
            return
        try:
            user = self.sb.users.session_user(token, ip=client_ip(req), user_agent=user_agent(req))
        except Unauthorized:
            empty_not_found(resp)
            return
        send(resp, user)


class Users(Resource):
    roles = {"GET": Role.USER, "POST": Role.ADMINISTRATOR}
    audited = frozenset({"POST"})
    docs = {
        "GET": Operation(
            "Users, in id order",
            {200: list[ApiUser]},
            params=PAGING,
            description="The original also listed each user's bcrypt hash (hashedPassword); "
            "slicebox never returns password hashes.",
        ),
        "POST": Operation(
            "Add a user",
            {201: ApiUser, 400: Text("role SUPERUSER, or an invalid name or password")},
            body=ClearTextUser,
            description="If a user of that name exists it is returned unchanged (201; its "
            "password and role are not updated). Superusers come only from the "
            "configuration. Unlike the original, the answer holds no password hash.",
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query = list_query(req, self.server, ordering=False, filters=False)
        send(resp, self.sb.users.list(start_index=query.start_index, count=query.count))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: ClearTextUser = read_model(req, ClearTextUser, max_bytes=self.server.max_body_bytes)
        user = self.sb.users.add(body.user, body.password, role=body.role)
        req.context.audit = f"user {user.user!r} (id {user.id}, {user.role.value})"
        send(resp, user, status=201)


class UserItem(Resource):
    roles = {"DELETE": Role.ADMINISTRATOR}
    docs = {
        "DELETE": Operation(
            "Delete a user and its sessions",
            {204: Empty("deleted, or there was no such user"), 400: Text("the superuser")},
            description="The user's password and sessions stop working at once.",
        )
    }

    def on_delete(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        deleted = self.sb.users.delete(id)
        if deleted is not None:
            req.context.audit = f"deleted user {deleted.user!r} ({deleted.role.value})"
        no_content(resp)
