"""Authentication and roles (spec §2.2, §3.1, §5.14), walking the app's live route table.

Every responder the app serves is found through falcon's own router, so a route added
anywhere is checked here without editing this file. For every protected /api responder:
401 without credentials, with a wrong password, with a forged or an expired cookie; 403 for
a role below its declared minimum; success (neither 401 nor 403, no 5xx) for that minimum.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import falcon
import httpx
import pytest
from falcon import inspect, testing
from sqlalchemy import update

from slicebox_client import SliceboxClient
from slicebox_core import Slicebox
from slicebox_core.db.tables import ApiSessionRow
from slicebox_core.errors import TooManyRequests, Unauthorized
from slicebox_core.models import Role
from slicebox_server import create_app
from slicebox_server.auth import PUBLIC, Access, Public, basic_credentials, required_access
from slicebox_server.resources.base import Resource

from .fixtures import PASSWORD, SUPERUSER, client_for, open_box

# spec §2.2: everything else under /api needs credentials
PUBLIC_ROUTES = {
    ("POST", "/api/users/login"),
    ("GET", "/api/users/current"),
    ("GET", "/api/system/health"),
    ("GET", "/api/system/information"),
    ("GET", "/api/openapi.json"),  # new: describes the API, holds no data
}
PUBLIC_PREFIXES = ("/api/dicom/dictionary/", "/api/transactions/")  # box protocol: token

# Responders whose success would end the test run; their 401/403 answers are still checked.
DESTRUCTIVE = {("POST", "/api/system/stop")}

USER = ("plain-user", "plain-user-password")
ADMINISTRATOR = ("second-admin", "second-admin-password")
CREDENTIALS = {
    Role.USER: USER,
    Role.ADMINISTRATOR: ADMINISTRATOR,
    Role.SUPERUSER: (SUPERUSER, PASSWORD),
}
BELOW = {Role.USER: None, Role.ADMINISTRATOR: Role.USER, Role.SUPERUSER: Role.ADMINISTRATOR}
CLIENT = {"remote_addr": "127.0.0.1", "headers": {"User-Agent": "route-walker"}}


@attrs.frozen
class Responder:
    """One served (method, route) and what its resource declares."""

    method: str
    template: str
    path: str  # the template with every field set to 1
    access: Access | None

    @property
    def public(self) -> bool:
        return isinstance(self.access, Public)


def concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template)


def responders(app: falcon.App) -> list[Responder]:
    """Every responder the app implements (not falcon's defaults), from its own router."""
    out = []
    for route in inspect.inspect_app(app).routes:
        path = concrete(route.path)
        found = app._router.find(path)
        assert found is not None and found[3] == route.path, route.path
        resource = found[0]
        for method in route.methods:
            if not method.internal:
                access = required_access(resource, method.method)
                out.append(Responder(method.method, route.path, path, access))
    return out


def protected(app: falcon.App) -> list[Responder]:
    return [r for r in responders(app) if r.template.startswith("/api/") and not r.public]


def spec_public(method: str, template: str) -> bool:
    return (method, template) in PUBLIC_ROUTES or template.startswith(PUBLIC_PREFIXES)


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def as_role(role: Role) -> dict[str, str]:
    return {**CLIENT["headers"], **basic(*CREDENTIALS[role])}  # type: ignore[dict-item]


@pytest.fixture
def guarded(tmp_path: Path, template: Path) -> Iterator[Slicebox]:
    """A slicebox with a USER and an ADMINISTRATOR besides the superuser; the login limits
    are out of the way (they have their own tests)."""
    sb = open_box(
        tmp_path / "data",
        template=template,
        **{"sessions.max_failures_per_user": 0, "sessions.max_failures_per_client": 0},
    )
    sb.users.add(*USER, role=Role.USER)
    sb.users.add(*ADMINISTRATOR, role=Role.ADMINISTRATOR)
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture
def walker(guarded: Slicebox) -> testing.TestClient:
    return testing.TestClient(create_app(guarded))


# declarations ------------------------------------------------------------------------------
def test_route_table_has_protected_and_public_routes(walker: testing.TestClient) -> None:
    routes = responders(walker.app)
    assert len(routes) > 40
    assert {(r.method, r.template) for r in routes if r.public} >= PUBLIC_ROUTES


def test_every_responder_declares_its_minimum_role(walker: testing.TestClient) -> None:
    for r in responders(walker.app):
        assert isinstance(r.access, Role | Public), f"{r.method} {r.template} declares no role"
        if r.public:  # only what the spec makes public may be public
            assert spec_public(r.method, r.template), f"{r.method} {r.template} is public"


def test_a_new_route_without_a_role_is_caught(guarded: Slicebox) -> None:
    class Forgotten(Resource):
        roles = {"GET": Role.USER}  # POST is missing

        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.text = "ok"

        def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.text = "should never run"

    app = create_app(guarded)
    app.add_route("/api/test/forgotten", Forgotten(guarded))
    undeclared = [r for r in responders(app) if r.access is None]
    assert [(r.method, r.template) for r in undeclared] == [("POST", "/api/test/forgotten")]
    sim = testing.TestClient(app)
    assert sim.simulate_get("/api/test/forgotten", headers=as_role(Role.USER)).text == "ok"
    # fails closed: 403 for everyone, even the superuser and callers without credentials
    assert sim.simulate_post("/api/test/forgotten", headers=as_role(Role.SUPERUSER)).status == (
        falcon.HTTP_403
    )
    assert sim.simulate_post("/api/test/forgotten").status_code == 403


# the matrix ------------------------------------------------------------------------------
def test_every_protected_route_answers_401_without_credentials(
    walker: testing.TestClient,
) -> None:
    for r in protected(walker.app):
        result = walker.simulate_request(r.method, r.path, **CLIENT)  # type: ignore[arg-type]
        assert result.status_code == 401, (r, result.status_code)
        assert "WWW-Authenticate" not in result.headers
        assert result.headers["content-type"].startswith("text/plain")
        assert "requires authentication" in result.text


def test_every_protected_route_answers_401_for_wrong_password(walker: testing.TestClient) -> None:
    for r in protected(walker.app):
        for name in (SUPERUSER, "no-such-user"):
            result = walker.simulate_request(
                r.method, r.path, headers=basic(name, "wrong"), remote_addr="127.0.0.1"
            )
            assert result.status_code == 401, (r, name)
            assert result.text == "The supplied authentication is invalid"
            assert "WWW-Authenticate" not in result.headers


def test_every_protected_route_answers_401_for_forged_or_expired_cookies(
    walker: testing.TestClient, guarded: Slicebox
) -> None:
    for r in protected(walker.app):
        forged = {**CLIENT["headers"], "Cookie": f"slicebox-session={uuid.uuid4()}"}  # type: ignore[dict-item]
        result = walker.simulate_request(r.method, r.path, headers=forged, remote_addr="127.0.0.1")
        assert result.status_code == 401, (r, "forged")
        token = guarded.users.login(SUPERUSER, PASSWORD, ip="127.0.0.1", user_agent="route-walker")
        with guarded.db.write() as session:  # idle for longer than the session timeout
            session.execute(update(ApiSessionRow).values(updated=0))
        expired = {**CLIENT["headers"], "Cookie": f"slicebox-session={token}"}  # type: ignore[dict-item]
        result = walker.simulate_request(r.method, r.path, headers=expired, remote_addr="127.0.0.1")
        assert result.status_code == 401, (r, "expired")
        assert result.text == "The supplied authentication is invalid"


def test_every_role_below_the_minimum_gets_403(walker: testing.TestClient) -> None:
    checked = 0
    for r in protected(walker.app):
        assert isinstance(r.access, Role)
        below = BELOW[r.access]
        if below is None:
            continue
        result = walker.simulate_request(
            r.method, r.path, headers=as_role(below), remote_addr="127.0.0.1"
        )
        assert result.status_code == 403, (r, below, result.status_code)
        assert result.text == f"This action requires the role {r.access.value}"
        checked += 1
    assert checked >= 5  # spec §5.14: the ADMINISTRATOR routes


def test_the_minimum_role_gets_through(walker: testing.TestClient) -> None:
    for r in protected(walker.app):
        if (r.method, r.template) in DESTRUCTIVE:
            continue
        assert isinstance(r.access, Role)
        result = walker.simulate_request(
            r.method, r.path, headers=as_role(r.access), remote_addr="127.0.0.1"
        )
        # the responder ran: whatever it answers (404 for id 1, 400 without a body), it is
        # not an authentication or role refusal and not a server error
        assert result.status_code not in (401, 403), (r, result.status_code, result.text)
        assert result.status_code < 500, (r, result.status_code, result.text)
        assert "$2b$" not in result.text, r  # no route ever returns a password hash


def test_cookie_of_the_minimum_role_gets_through(
    walker: testing.TestClient, guarded: Slicebox
) -> None:
    tokens = {
        role: guarded.users.login(name, pw, ip="127.0.0.1", user_agent="route-walker")
        for role, (name, pw) in CREDENTIALS.items()
    }
    for r in protected(walker.app):
        if (r.method, r.template) in DESTRUCTIVE or r.method == "DELETE":
            continue  # (deleting id 1 as the superuser could end its own session)
        if r.template == "/api/users/logout":
            continue  # would end the session the next responders use
        assert isinstance(r.access, Role)
        headers = {**CLIENT["headers"], "Cookie": f"slicebox-session={tokens[r.access]}"}  # type: ignore[dict-item]
        result = walker.simulate_request(r.method, r.path, headers=headers, remote_addr="127.0.0.1")
        assert result.status_code not in (401, 403), (r, result.status_code, result.text)


# public routes ------------------------------------------------------------------------
def test_public_routes_need_no_credentials(sim: testing.TestClient) -> None:
    assert sim.simulate_get("/api/system/health").text == "OK"
    assert sim.simulate_get("/api/system/information").json["version"]
    assert sim.simulate_get("/api/dicom/dictionary/keywords").status_code == 200
    assert sim.simulate_get("/api/openapi.json").status_code == 200
    # a bad Basic header does not break a public route
    assert sim.simulate_get("/api/system/health", headers=basic("x", "y")).status_code == 200


def test_role_below_requirement_is_403(box: Slicebox) -> None:
    class SuperOnly(Resource):
        roles = {"GET": Role.SUPERUSER, "POST": PUBLIC}

        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.text = "ok"

        def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.text = "public"

    box.users.add(*ADMINISTRATOR, role=Role.ADMINISTRATOR)
    app = create_app(box)
    app.add_route("/api/test/super", SuperOnly(box))
    sim = testing.TestClient(app)
    assert sim.simulate_get("/api/test/super", headers=basic(SUPERUSER, PASSWORD)).text == "ok"
    refused = sim.simulate_get("/api/test/super", headers=basic(*ADMINISTRATOR))
    assert refused.status_code == 403
    assert sim.simulate_post("/api/test/super").text == "public"


# login, sessions, cookies ------------------------------------------------------------------
def test_login_sets_the_session_cookie(sim: testing.TestClient) -> None:
    result = sim.simulate_post(
        "/api/users/login",
        json={"user": SUPERUSER, "pass": PASSWORD},
        headers={"User-Agent": "test"},
        remote_addr="127.0.0.1",
    )
    assert result.status_code == 204
    header = result.headers["set-cookie"]
    assert header.startswith("slicebox-session=")
    assert "Path=/api" in header and "HttpOnly" in header and "SameSite=Strict" in header
    assert "Secure" not in header
    assert "Max-Age" not in header and "Expires" not in header  # a browser-session cookie
    secure = sim.simulate_post(
        "/api/users/login",
        json={"user": SUPERUSER, "pass": PASSWORD},
        headers={"User-Agent": "test"},
        protocol="https",
        remote_addr="127.0.0.1",
    )
    assert "Secure" in secure.headers["set-cookie"]


def test_login_without_client_ip_fails(sim: testing.TestClient) -> None:
    # spec §3.1: with IP/UA binding on, an unknown client IP cannot log in
    result = sim.simulate_post(
        "/api/users/login", json={"user": SUPERUSER, "pass": PASSWORD}, headers={"User-Agent": "t"}
    )
    assert result.status_code == 401


def test_login_failures(sim: testing.TestClient) -> None:
    bad = sim.simulate_post("/api/users/login", json={"user": SUPERUSER, "pass": "nope"})
    assert bad.status_code == 401
    assert bad.text == "Invalid username or password"
    assert "WWW-Authenticate" not in bad.headers
    assert sim.simulate_post("/api/users/login", json={"user": SUPERUSER}).status_code == 400
    assert sim.simulate_post("/api/users/login", body="{").status_code == 400


def test_login_is_rate_limited_with_retry_after(tmp_path: Path, template: Path) -> None:
    sb = open_box(tmp_path / "data", template=template, **{"sessions.max_failures_per_user": 3})
    try:
        sim = testing.TestClient(create_app(sb))
        for i in range(3):
            result = sim.simulate_post(
                "/api/users/login",
                json={"user": SUPERUSER, "pass": f"guess-{i}"},
                remote_addr=f"10.1.1.{i}",
                headers={"User-Agent": "attacker"},
            )
            assert result.status_code == 401
        limited = sim.simulate_post(
            "/api/users/login",
            json={"user": SUPERUSER, "pass": PASSWORD},
            remote_addr="10.1.1.9",
            headers={"User-Agent": "attacker"},
        )
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 900
        assert limited.headers["content-type"].startswith("text/plain")
        # the typed client raises TooManyRequests with the delay
        with client_for(sim.app, None, None) as anon, pytest.raises(TooManyRequests) as info:
            anon.login(SUPERUSER, PASSWORD)
        assert info.value.retry_after >= 1
        # HTTP Basic is limited too (it checks the same password)
        basic_try = sim.simulate_get(
            "/api/metadata/patients", headers=basic(SUPERUSER, "guess-x"), remote_addr="10.1.1.7"
        )
        assert basic_try.status_code == 429
    finally:
        sb.close()


def test_basic_failures_from_one_client_are_rate_limited(tmp_path: Path, template: Path) -> None:
    sb = open_box(tmp_path / "data", template=template, **{"sessions.max_failures_per_client": 4})
    try:
        sim = testing.TestClient(create_app(sb))
        statuses = [
            sim.simulate_get(
                "/api/metadata/patients", headers=basic(f"user{i}", "pw"), remote_addr="10.2.2.2"
            ).status_code
            for i in range(6)
        ]
        assert statuses == [401, 401, 401, 401, 429, 429]
        # X-Forwarded-For from an untrusted peer does not give a fresh address
        spoofed = sim.simulate_get(
            "/api/metadata/patients",
            headers={**basic("user9", "pw"), "X-Forwarded-For": "1.2.3.4"},
            remote_addr="10.2.2.2",
        )
        assert spoofed.status_code == 429
        other = sim.simulate_get(
            "/api/metadata/patients", headers=basic(SUPERUSER, PASSWORD), remote_addr="10.3.3.3"
        )
        assert other.status_code == 200
    finally:
        sb.close()


def test_cookie_session_round_trip(app: falcon.App) -> None:
    with client_for(app, None, None) as anon:
        assert anon.current_user() is None
        anon.login(SUPERUSER, PASSWORD)
        user = anon.current_user()
        assert user is not None and user.user == SUPERUSER and user.role is Role.SUPERUSER
        assert anon.patients() == []  # the cookie authenticates protected routes
        anon.logout()
        assert anon.current_user() is None
        with pytest.raises(Unauthorized):
            anon.patients()


def test_logout_ends_the_sessions_of_that_client_only(app: falcon.App) -> None:
    with client_for(app, None, None) as first, client_for(app, None, None) as second:
        first.login(SUPERUSER, PASSWORD)
        # same user, another User-Agent: another client whose session survives
        second._http.headers["User-Agent"] = "another-client"
        second.login(SUPERUSER, PASSWORD)
        first.logout()
        assert first.current_user() is None
        assert second.current_user() is not None


def test_deleted_user_is_locked_out_at_once(app: falcon.App, box: Slicebox) -> None:
    user = box.users.add("temporary", "temporary-pw")
    with (
        client_for(app, "temporary", "temporary-pw") as basic_client,
        client_for(app, None, None) as cookie_client,
    ):
        cookie_client.login("temporary", "temporary-pw")
        assert basic_client.patients() == [] and cookie_client.patients() == []
        box.users.delete(user.id)
        with pytest.raises(Unauthorized):
            basic_client.patients()
        with pytest.raises(Unauthorized):
            cookie_client.patients()


def test_session_is_bound_to_ip_and_user_agent(app: falcon.App) -> None:
    http = httpx.Client(base_url="http://testserver", transport=httpx.WSGITransport(app=app))
    with http:
        login = http.post(
            "/api/users/login",
            json={"user": SUPERUSER, "pass": PASSWORD},
            headers={"User-Agent": "ua-1", "X-Forwarded-For": "10.0.0.1, 10.0.0.2"},
        )
        assert login.status_code == 204
        token = login.cookies["slicebox-session"]
        cookie = {"Cookie": f"slicebox-session={token}"}
        ok = {"User-Agent": "ua-1", "X-Forwarded-For": "10.0.0.1", **cookie}
        http.cookies.clear()
        assert http.get("/api/metadata/patients", headers=ok).status_code == 200
        other_ua = {**ok, "User-Agent": "ua-2"}
        assert http.get("/api/metadata/patients", headers=other_ua).status_code == 401
        other_ip = {**ok, "X-Forwarded-For": "10.9.9.9"}
        assert http.get("/api/metadata/patients", headers=other_ip).status_code == 401


def test_forwarded_for_is_believed_only_from_trusted_proxies(app: falcon.App) -> None:
    sim = testing.TestClient(app)
    login = sim.simulate_post(
        "/api/users/login",
        json={"user": SUPERUSER, "pass": PASSWORD},
        headers={"User-Agent": "ua", "X-Forwarded-For": "10.0.0.1"},
        remote_addr="192.0.2.7",  # not a trusted proxy: its claim is ignored
    )
    token = login.cookies["slicebox-session"].value
    cookie = {"User-Agent": "ua", "Cookie": f"slicebox-session={token}"}
    direct = sim.simulate_get("/api/metadata/patients", headers=cookie, remote_addr="192.0.2.7")
    assert direct.status_code == 200
    via_proxy = sim.simulate_get(
        "/api/metadata/patients",
        headers={**cookie, "X-Forwarded-For": "192.0.2.7"},
        remote_addr="127.0.0.1",
    )
    assert via_proxy.status_code == 200  # the proxy vouches for the same client
    claimed = sim.simulate_get(
        "/api/metadata/patients",
        headers={**cookie, "X-Forwarded-For": "10.0.0.1"},
        remote_addr="127.0.0.1",
    )
    assert claimed.status_code == 401


def test_basic_wins_over_cookie(app: falcon.App) -> None:
    http = httpx.Client(base_url="http://testserver", transport=httpx.WSGITransport(app=app))
    with http:
        login = http.post("/api/users/login", json={"user": SUPERUSER, "pass": PASSWORD})
        token = login.cookies["slicebox-session"]
        http.cookies.clear()
        cookie = {"Cookie": f"slicebox-session={token}"}
        assert http.get("/api/metadata/patients", headers=cookie).status_code == 200
        bad_basic = {**cookie, **basic(SUPERUSER, "wrong")}
        assert http.get("/api/metadata/patients", headers=bad_basic).status_code == 401
        good_basic_bad_cookie = {
            "Cookie": "slicebox-session=forged",
            **basic(SUPERUSER, PASSWORD),
        }
        assert http.get("/api/metadata/patients", headers=good_basic_bad_cookie).status_code == 200
        assert (
            http.get(
                "/api/metadata/patients", headers={"Cookie": "slicebox-session=forged"}
            ).status_code
            == 401
        )


@pytest.mark.parametrize(
    "header",
    ["Bearer abc", "Basic", "Basic !!!notbase64", "Basic " + base64.b64encode(b"nocolon").decode()],
)
def test_malformed_authorization_is_401(sim: testing.TestClient, header: str) -> None:
    result = sim.simulate_get("/api/metadata/patients", headers={"Authorization": header})
    assert result.status_code == 401
    assert "WWW-Authenticate" not in result.headers


def test_basic_credentials_parsing() -> None:
    assert basic_credentials(basic("a", "b:c")["Authorization"]) == ("a", "b:c")
    with pytest.raises(Unauthorized):
        basic_credentials("Digest x")


def test_client_with_wrong_password_raises_unauthorized(app: falcon.App) -> None:
    with client_for(app, SUPERUSER, "bad") as c, pytest.raises(Unauthorized) as info:
        c.patients()
    assert info.value.status == 401  # type: ignore[attr-defined]


def test_unknown_route_is_404(client: SliceboxClient, sim: testing.TestClient) -> None:
    assert sim.simulate_get("/api/nope", headers=basic(SUPERUSER, PASSWORD)).status_code == 404
    assert sim.simulate_get("/api/images/notanint").status_code == 404
