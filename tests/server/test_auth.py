"""Authentication and roles (spec §2.2, §3.1, §5.14), walking the real route table."""

from __future__ import annotations

import base64
import re

import falcon
import httpx
import pytest
from falcon import inspect, testing

from slicebox_client import SliceboxClient
from slicebox_core import Slicebox
from slicebox_core.errors import Unauthorized
from slicebox_core.models import Role
from slicebox_server.auth import PUBLIC, Public, basic_credentials
from slicebox_server.resources.base import Resource
from slicebox_server.routes import ROUTES

from .fixtures import PASSWORD, SUPERUSER, client_for

# spec §2.2: everything else under /api needs credentials
PUBLIC_ROUTES = {
    ("POST", "/api/users/login"),
    ("GET", "/api/users/current"),
    ("GET", "/api/system/health"),
    ("GET", "/api/system/information"),
    ("GET", "/api/openapi.json"),  # new: describes the API, holds no data
}
PUBLIC_PREFIXES = ("/api/dicom/dictionary/", "/api/transactions/")  # box protocol: token


def served(app: falcon.App) -> list[tuple[str, str]]:
    """(method, template) of every responder the app implements (not falcon's defaults)."""
    out = []
    for route in inspect.inspect_app(app).routes:
        for method in route.methods:
            if not method.internal:
                out.append((method.method, route.path))
    return out


def concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template)


def is_public(method: str, template: str) -> bool:
    return (method, template) in PUBLIC_ROUTES or template.startswith(PUBLIC_PREFIXES)


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_route_table_has_protected_and_public_routes(app: falcon.App) -> None:
    routes = served(app)
    assert len(routes) > 40
    assert {r for r in routes if is_public(*r)} >= PUBLIC_ROUTES


def test_every_protected_route_answers_401_without_credentials(sim: testing.TestClient) -> None:
    for method, template in served(sim.app):
        if is_public(method, template):
            continue
        result = sim.simulate_request(method, concrete(template))
        assert result.status_code == 401, (method, template, result.status_code)
        assert "WWW-Authenticate" not in result.headers
        assert result.headers["content-type"].startswith("text/plain")
        assert "requires authentication" in result.text


def test_every_protected_route_answers_401_for_wrong_password(sim: testing.TestClient) -> None:
    for method, template in served(sim.app):
        if is_public(method, template):
            continue
        result = sim.simulate_request(method, concrete(template), headers=basic(SUPERUSER, "wrong"))
        assert result.status_code == 401, (method, template)
        assert result.text == "The supplied authentication is invalid"
        assert "WWW-Authenticate" not in result.headers


def test_public_routes_need_no_credentials(sim: testing.TestClient) -> None:
    assert sim.simulate_get("/api/system/health").text == "OK"
    assert sim.simulate_get("/api/system/information").json["version"]
    assert sim.simulate_get("/api/dicom/dictionary/keywords").status_code == 200
    assert sim.simulate_get("/api/openapi.json").status_code == 200
    # a bad Basic header does not break a public route
    assert sim.simulate_get("/api/system/health", headers=basic("x", "y")).status_code == 200


def test_every_responder_declares_a_role() -> None:
    for template, cls in ROUTES:
        methods = {m[3:].upper() for m in dir(cls) if m.startswith("on_")}
        assert methods == set(cls.roles), (template, methods, cls.roles)
        for access in cls.roles.values():
            assert isinstance(access, Role | Public)


def test_undeclared_role_fails_closed(box: Slicebox) -> None:
    class Undeclared(Resource):
        roles = {"GET": Role.USER}  # POST is missing

        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.text = "ok"

        def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.text = "should never run"

    from slicebox_server import create_app

    app = create_app(box)
    app.add_route("/api/test/undeclared", Undeclared(box))
    sim = testing.TestClient(app)
    auth = basic(SUPERUSER, PASSWORD)
    assert sim.simulate_get("/api/test/undeclared", headers=auth).text == "ok"
    result = sim.simulate_post("/api/test/undeclared", headers=auth)
    assert result.status_code == 403
    # no role declared at all: 403 even without credentials (nothing to authenticate for)
    assert sim.simulate_post("/api/test/undeclared").status_code == 403


def test_role_below_requirement_is_403(box: Slicebox) -> None:
    class SuperOnly(Resource):
        roles = {"GET": Role.SUPERUSER, "POST": PUBLIC}

        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.text = "ok"

        def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.text = "public"

    from slicebox_server import create_app

    app = create_app(box)
    app.add_route("/api/test/super", SuperOnly(box))
    sim = testing.TestClient(app)
    assert sim.simulate_get("/api/test/super", headers=basic(SUPERUSER, PASSWORD)).text == "ok"
    assert sim.simulate_post("/api/test/super").text == "public"


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
    secure = sim.simulate_post(
        "/api/users/login",
        json={"user": SUPERUSER, "pass": PASSWORD},
        headers={"User-Agent": "test", "X-Forwarded-Proto": "https"},
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


def test_basic_wins_over_cookie(app: falcon.App) -> None:
    with client_for(app, None, None) as c:
        c.login(SUPERUSER, PASSWORD)
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
