"""Security headers, body limits, page caps and the audit trail, over the live route table."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import falcon
import pytest
from falcon import inspect, testing
from sqlalchemy import select

from slicebox_core import Slicebox
from slicebox_core.db.tables import UserRow
from slicebox_core.models import Role
from slicebox_core.users.service import AUDIT
from slicebox_server import create_app
from slicebox_server.openapi import Upload
from slicebox_server.security import API_CSP, HSTS, UI_CSP

from ..factories import dicom_bytes
from .auth_headers import ADMIN, basic
from .fixtures import PASSWORD, SUPERUSER, open_box

BODY_LIMIT = 1024
UPLOAD_LIMIT = 4096
PAGE_CAP = 2


def concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template)


def documented(app: falcon.App) -> Iterator[tuple[str, str, object]]:
    """(method, concrete path, Operation) of every served responder."""
    for route in inspect.inspect_app(app).routes:
        path = concrete(route.path)
        resource = app._router.find(path)[0]
        for method in route.methods:
            if not method.internal:
                yield method.method, path, resource.docs.get(method.method)


@pytest.fixture
def limited(tmp_path: Path, template: Path) -> Iterator[Slicebox]:
    sb = open_box(
        tmp_path / "data",
        template=template,
        **{
            "server.max_body_bytes": BODY_LIMIT,
            "server.max_upload_bytes": UPLOAD_LIMIT,
            "server.max_page_size": PAGE_CAP,
        },
    )
    try:
        yield sb
    finally:
        sb.close()


def test_security_headers_on_every_kind_of_response(sim: testing.TestClient) -> None:
    answers = [
        sim.simulate_get("/api/system/health"),  # public 200
        sim.simulate_get("/api/metadata/patients"),  # 401
        sim.simulate_get("/api/metadata/patients", headers=ADMIN),  # 200 JSON
        sim.simulate_get("/api/nope", headers=ADMIN),  # falcon's 404
        sim.simulate_post("/api/users/login", body="{"),  # 400
    ]
    for result in answers:
        headers = result.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Content-Security-Policy"] == API_CSP
        assert headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in headers  # plain http
    ui = sim.simulate_get("/")
    assert ui.headers["Content-Security-Policy"] == UI_CSP
    tls = sim.simulate_get("/api/system/health", protocol="https")
    assert tls.headers["Strict-Transport-Security"] == HSTS


def test_bodies_over_the_limit_are_413_on_every_route(limited: Slicebox) -> None:
    sim = testing.TestClient(create_app(limited))
    over_body = b"x" * (BODY_LIMIT + 1)
    over_upload = b"x" * (UPLOAD_LIMIT + 1)
    uploads = 0
    for method, path, op in documented(sim.app):
        if not path.startswith("/api/"):
            continue
        upload = op is not None and isinstance(op.body, Upload)  # type: ignore[attr-defined]
        headers = {**ADMIN, "Content-Type": "application/octet-stream"}
        first = sim.simulate_request(method, path, headers=headers, body=over_body)
        if upload:
            uploads += 1
            assert first.status_code != 413, (method, path)  # uploads have their own limit
        else:
            assert first.status_code == 413, (method, path, first.status_code)
            assert first.text == f"Request bodies are limited to {BODY_LIMIT} bytes"
        second = sim.simulate_request(method, path, headers=headers, body=over_upload)
        assert second.status_code == 413, (method, path, second.status_code)
    assert uploads >= 1


def test_page_size_is_capped_on_every_paged_route(limited: Slicebox) -> None:
    for i in range(PAGE_CAP + 1):
        limited.images.add(dicom_bytes(patient_id=f"P{i}", patient_name=f"N^{i}"))
    for i in range(PAGE_CAP + 1):
        limited.users.add(f"user{i}", "pw")
    sim = testing.TestClient(create_app(limited))
    paged = 0
    for method, path, op in documented(sim.app):
        names = {p.name for p in getattr(op, "params", ())}
        if method != "GET" or "count" not in names:
            continue
        result = sim.simulate_get(path, params={"count": "1000000"}, headers=ADMIN)
        assert result.status_code < 500, path
        if result.status_code == 200 and isinstance(result.json, list):
            assert len(result.json) <= PAGE_CAP, path
            paged += 1
    assert paged >= 5


def test_deletions_and_exports_are_audited(app: falcon.App, box: Slicebox) -> None:
    image = box.images.add(dicom_bytes()).image
    sim = testing.TestClient(app)
    headers = {**ADMIN, "X-Forwarded-For": "198.51.100.4"}
    assert sim.simulate_post(
        "/api/images/export", json=[image.id], headers=headers
    ).status_code in (
        200,
        201,
    )
    assert sim.simulate_delete(f"/api/images/{image.id}", headers=headers).status_code == 204
    box.users.add("viewer", "viewer-pw", role=Role.USER)
    refused = sim.simulate_get(
        "/api/anonymization/keys/export/csv",
        headers={**basic("viewer", "viewer-pw"), "X-Forwarded-For": "198.51.100.9"},
    )
    messages = [e.message for e in box.log.list(subject=AUDIT, count=100)]
    who = "by user 'admin' (id 1) from 198.51.100.4"
    assert f"POST /api/images/export {who}: 200" in messages
    assert f"DELETE /api/images/{image.id} {who}: 204" in messages
    if refused.status_code == 403:  # the key export route exists: a refused export is audited
        assert any(
            m.startswith("GET /api/anonymization/keys/export/csv by user 'viewer'")
            and m.endswith(": 403")
            for m in messages
        )


def test_logs_never_contain_passwords(
    app: falcon.App, box: Slicebox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = ["new-user-secret-1", "wrong-guess-2", "typed-into-name-3", PASSWORD]
    sim = testing.TestClient(app)
    client = {"remote_addr": "127.0.0.1", "headers": {"User-Agent": "ua"}}
    sim.simulate_post(
        "/api/users",
        json={"user": "henry", "role": "USER", "password": secrets[0]},
        headers=ADMIN,
    )
    sim.simulate_post("/api/users/login", json={"user": "henry", "pass": secrets[0]}, **client)
    sim.simulate_post("/api/users/login", json={"user": "henry", "pass": secrets[1]}, **client)
    sim.simulate_post("/api/users/login", json={"user": secrets[2], "pass": "x"}, **client)
    sim.simulate_get("/api/metadata/patients", headers=basic(SUPERUSER, secrets[1]))
    sim.simulate_get("/api/metadata/patients", headers=basic(secrets[2], secrets[1]))
    with box.db.read() as session:
        hashes = list(session.scalars(select(UserRow.password)))
    assert len(hashes) == 2
    sim.simulate_delete("/api/users/2", headers=ADMIN)
    stored = "\n".join(e.message for e in box.log.list(count=1000))
    assert "logged in" in stored and "failed" in stored  # the events are there...
    for secret in [*secrets, *hashes]:  # ...the passwords and their hashes are not
        assert secret not in stored
        assert secret not in caplog.text
