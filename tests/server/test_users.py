"""/api/users over HTTP (spec §3.1): list, add, delete, through the typed client and raw."""

from __future__ import annotations

import json
from pathlib import Path

import falcon
import httpx
import pytest

from slicebox_client import SliceboxClient
from slicebox_core import Slicebox
from slicebox_core.errors import Forbidden, InvalidInput, Unauthorized
from slicebox_core.models import ApiUser, Role
from slicebox_core.users.service import AUDIT
from slicebox_server import create_app

from .fixtures import PASSWORD, SUPERUSER, client_for, open_box


def test_add_list_and_delete(client: SliceboxClient, app: falcon.App) -> None:
    bob = client.add_user("bob", "bob-password")
    assert bob == ApiUser(bob.id, "bob", Role.USER)
    admin2 = client.add_user("ann", "ann-password", role=Role.ADMINISTRATOR)
    assert admin2.role is Role.ADMINISTRATOR
    assert [u.user for u in client.users()] == [SUPERUSER, "bob", "ann"]
    assert [u.user for u in client.users(start_index=1, count=1)] == ["bob"]
    # the same name again: the existing user, unchanged (201)
    assert client.add_user("bob", "another", role=Role.ADMINISTRATOR) == bob
    with client_for(app, "bob", "bob-password") as as_bob:
        assert [u.user for u in as_bob.users()] == [SUPERUSER, "bob", "ann"]  # USER may list
        with pytest.raises(Forbidden):
            as_bob.add_user("mallory", "pw")
        with pytest.raises(Forbidden):
            as_bob.delete_user(admin2.id)
    with client_for(app, "ann", "ann-password") as as_ann:  # ADMINISTRATOR may change users
        as_ann.delete_user(bob.id)
    with client_for(app, "bob", "bob-password") as as_bob, pytest.raises(Unauthorized):
        as_bob.users()
    client.delete_user(bob.id)  # unknown id: 204
    client.delete_user(987654)
    assert [u.user for u in client.users()] == [SUPERUSER, "ann"]


def test_superuser_rules(client: SliceboxClient, http: httpx.Client) -> None:
    with pytest.raises(InvalidInput, match="Superusers may not be added"):
        client.add_user("root", "pw", role=Role.SUPERUSER)
    superuser = client.users()[0]
    with pytest.raises(InvalidInput, match="Superuser may not be deleted"):
        client.delete_user(superuser.id)
    result = http.delete(f"/api/users/{superuser.id}")
    assert result.status_code == 400 and result.text == "Superuser may not be deleted"


def test_responses_never_hold_a_password_or_hash(http: httpx.Client) -> None:
    created = http.post("/api/users", json={"user": "carl", "role": "USER", "password": "pw-c"})
    assert created.status_code == 201
    assert set(created.json()) == {"id", "user", "role"}
    listed = http.get("/api/users")
    for user in listed.json():
        assert set(user) == {"id", "user", "role"}
    text = created.text + listed.text
    assert "$2" not in text and "pw-c" not in text and "hashedPassword" not in text


@pytest.mark.parametrize(
    "body",
    [
        {"user": "x", "role": "USER"},  # strict: every field (spec §2.1)
        {"user": "x", "role": "KING", "password": "p"},
        {"user": "", "role": "USER", "password": "p"},
        {"user": "x", "role": "USER", "password": ""},
        {"user": 5, "role": "USER", "password": "p"},
    ],
)
def test_bad_bodies_are_400(http: httpx.Client, body: dict[str, object]) -> None:
    assert http.post("/api/users", json=body).status_code == 400


def test_paging_is_capped(tmp_path: Path, template: Path) -> None:
    sb = open_box(tmp_path / "data", template=template, **{"server.max_page_size": 2})
    try:
        sb.users.add("u1", "p1")
        sb.users.add("u2", "p2")
        with client_for(create_app(sb)) as c:
            assert len(c.users(count=1000)) == 2
            assert len(c.users(start_index=2, count=1000)) == 1
    finally:
        sb.close()


def test_user_changes_are_audited_with_user_and_address(
    app: falcon.App, box: Slicebox, http: httpx.Client
) -> None:
    headers = {"X-Forwarded-For": "203.0.113.5"}
    body = {"user": "dora", "role": "USER", "password": "dora-password-1"}
    created = http.post("/api/users", json=body, headers=headers).json()
    http.delete(f"/api/users/{created['id']}", headers=headers)
    http.delete("/api/users/1", headers=headers)  # refused: audited as a failure
    messages = [e.message for e in box.log.list(subject=AUDIT, count=100)]
    assert (
        f"POST /api/users by user 'admin' (id 1) from 203.0.113.5: 201; "
        f"user 'dora' (id {created['id']}, USER)"
    ) in messages
    assert (
        f"DELETE /api/users/{created['id']} by user 'admin' (id 1) from 203.0.113.5: 204; "
        "deleted user 'dora' (USER)"
    ) in messages
    assert "DELETE /api/users/1 by user 'admin' (id 1) from 203.0.113.5: 400" in messages
    everything = json.dumps([e.message for e in box.log.list(count=1000)])
    assert "dora-password-1" not in everything and PASSWORD not in everything
