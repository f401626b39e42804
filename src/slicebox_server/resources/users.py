"""Login, logout and the current session's user (spec §3.1, §5.14)."""

from __future__ import annotations

import attrs
import falcon

from slicebox_core.errors import Unauthorized
from slicebox_core.models import Role, UserInfo

from ..auth import PUBLIC, SESSION_COOKIE, caller_of, client_ip, session_token, user_agent
from ..openapi import Empty, Operation, Text
from ..serialization import empty_not_found, no_content, read_model, send
from .base import Resource

COOKIE_PATH = "/api"


@attrs.frozen
class UserPass:
    """The login body ``{user, pass}``."""

    user: str
    password: str = attrs.field(metadata={"wire": "pass"})


def _secure(req: falcon.Request) -> bool:
    # The cookie is marked Secure whenever the client talks https, also behind a proxy.
    return req.forwarded_scheme == "https"


class Login(Resource):
    roles = {"POST": PUBLIC}
    docs = {
        "POST": Operation(
            "Log in; the session cookie authenticates later requests",
            {
                204: Empty("logged in; Set-Cookie: slicebox-session=<token>; Path=/api"),
                401: Text("Invalid username or password"),
            },
            body=UserPass,
            description="The session is bound to the client IP and User-Agent. Logging in "
            "again from the same IP and User-Agent returns the same token. The original "
            "Swagger document said 201; the code answers 204.",
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
            secure=_secure(req),
            same_site="Strict",
        )
        no_content(resp)


class Logout(Resource):
    roles = {"POST": Role.USER}
    docs = {
        "POST": Operation(
            "Log out: end the session and clear the cookie",
            {204: Empty("logged out")},
        )
    }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller = caller_of(req)
        token = caller.session_token or session_token(req)
        if token is not None:
            self.sb.users.logout(token, ip=client_ip(req), user_agent=user_agent(req))
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
