"""Authentication and role checks: one middleware, default deny (spec §2.2, §5.14).

Every resource class declares ``roles``, a map from HTTP method to the least
:class:`~slicebox_core.models.Role` allowed, or :data:`PUBLIC`. A responder whose method is
missing from ``roles`` answers 403 to everyone: forgetting to declare a role fails closed.

Credentials: HTTP Basic (realm ``slicebox``) checked on every request, or the session cookie
``slicebox-session`` from login. A Basic header, when present, is the only thing looked at:
a valid one wins over a bad cookie and an invalid one fails even with a good cookie. 401
answers never carry ``WWW-Authenticate`` (so browsers do not pop up a dialog).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any, Final

import attrs
import falcon

from slicebox_core.errors import Forbidden, Unauthorized
from slicebox_core.models import Role, UserInfo

SESSION_COOKIE: Final = "slicebox-session"

NOT_SUPPLIED = "The resource requires authentication, which was not supplied with the request"
INVALID = "The supplied authentication is invalid"


class Public:
    """Marker for responders anyone may call (``roles = {"GET": PUBLIC}``)."""

    def __repr__(self) -> str:
        return "PUBLIC"


PUBLIC: Final = Public()

Access = Role | Public


@attrs.frozen
class Caller:
    """Who is calling: the user and, for cookie authentication, the session token."""

    user: UserInfo
    session_token: str | None = None


DEFAULT_TRUSTED_PROXIES: Final = ("127.0.0.1", "::1")


def find_client_ip(req: falcon.Request, trusted_proxies: Iterable[str]) -> str:
    """First ``X-Forwarded-For`` address, else the socket's address, else ``X-Real-Ip``.

    Unlike the original (spec §5.14), ``X-Forwarded-For`` counts only when the socket's peer
    is a trusted proxy (or unknown): anyone else could claim any address and so escape the
    per-client login limit or a session's IP binding.
    """
    remote = str(req.env.get("REMOTE_ADDR") or "")
    forwarded = req.get_header("X-Forwarded-For")
    if forwarded and (not remote or remote in trusted_proxies):
        first = forwarded.split(",")[0].strip()
        if first:
            return first[:64]
    if remote:
        return remote
    return (req.get_header("X-Real-Ip") or "")[:64]


def client_ip(req: falcon.Request) -> str:
    """The client address of a request (found once by :class:`AuthMiddleware`)."""
    found: str | None = getattr(req.context, "client_ip", None)
    if found is None:
        found = find_client_ip(req, DEFAULT_TRUSTED_PROXIES)
    return found


def user_agent(req: falcon.Request) -> str:
    """The User-Agent header, or an empty string."""
    return req.user_agent or ""


def basic_credentials(header: str) -> tuple[str, str]:
    """Decode an ``Authorization: Basic ...`` header.

    Raises:
        Unauthorized: another scheme, bad base64 or no colon.
    """
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise Unauthorized(INVALID)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized(INVALID) from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise Unauthorized(INVALID)
    return user, password


def required_access(resource: object, method: str) -> Access | None:
    """The access a resource declares for ``method``; None when it declares nothing."""
    roles: dict[str, Access] = getattr(resource, "roles", None) or {}
    return roles.get(method.upper())


def has_responder(resource: object, method: str) -> bool:
    """True when ``resource`` itself implements ``method`` (not falcon's default 405)."""
    return callable(getattr(resource, f"on_{method.lower()}", None))


class AuthMiddleware:
    """Checks credentials and roles before any responder runs.

    The declared role is the minimum: SUPERUSER passes every check, ADMINISTRATOR passes
    ADMINISTRATOR and USER checks, USER passes USER checks (spec §5.14).

    Args:
        users: the core user service (``authenticate`` and ``session_user``).
        trusted_proxies: peers whose ``X-Forwarded-For`` is believed.
    """

    def __init__(
        self, users: Any, trusted_proxies: Iterable[str] = DEFAULT_TRUSTED_PROXIES
    ) -> None:
        self._users = users
        self._trusted = frozenset(trusted_proxies)

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Find the client address once, for every later step."""
        req.context.client_ip = find_client_ip(req, self._trusted)

    def process_resource(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        """Authenticate and authorize; the caller lands in ``req.context.caller``.

        Raises:
            Unauthorized: no or invalid credentials on a protected responder.
            Forbidden: a role below the declared one, or no role declared at all.
        """
        req.context.caller = None
        if resource is None or not has_responder(resource, req.method):
            return  # falcon answers 404/405 itself; nothing runs
        required = required_access(resource, req.method)
        if required is None:
            raise Forbidden(f"{req.method} {req.path} declares no role")
        if isinstance(required, Public):
            return
        caller = self.authenticate(req)
        if caller is None:
            raise Unauthorized(NOT_SUPPLIED)
        req.context.caller = caller  # also for the audit log of a refused call
        if not caller.user.role.includes(required):
            raise Forbidden(f"This action requires the role {required.value}")

    def authenticate(self, req: falcon.Request) -> Caller | None:
        """The caller from Basic credentials, else the session cookie, else None.

        Raises:
            Unauthorized: invalid Basic credentials, or a cookie that names no live session.
            TooManyRequests: too many failed password checks for the user name or client.
        """
        header = req.get_header("Authorization")
        if header is not None:
            name, password = basic_credentials(header)
            try:
                return Caller(self._users.authenticate(name, password, ip=client_ip(req)))
            except Unauthorized:
                raise Unauthorized(INVALID) from None
        token = session_token(req)
        if token is None:
            return None
        try:
            user = self._users.session_user(token, ip=client_ip(req), user_agent=user_agent(req))
        except Unauthorized:
            raise Unauthorized(INVALID) from None
        return Caller(user, token)


def session_token(req: falcon.Request) -> str | None:
    """The value of the session cookie, if sent."""
    values = req.get_cookie_values(SESSION_COOKIE)
    return values[0] if values else None


def caller_of(req: falcon.Request) -> Caller:
    """The authenticated caller of a protected responder.

    Raises:
        Unauthorized: the responder is public, so nobody was authenticated.
    """
    caller: Caller | None = getattr(req.context, "caller", None)
    if caller is None:
        raise Unauthorized(NOT_SUPPLIED)
    return caller
