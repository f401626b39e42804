"""Superuser from configuration, Basic authentication and login sessions."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from slicebox_core import Slicebox, Unauthorized, load_config
from slicebox_core.db.tables import ApiSessionRow, UserRow
from slicebox_core.models import Role


def make(db_url: str, tmp_path: Path, **overrides: object) -> Slicebox:
    values = {"data_dir": str(tmp_path / "data"), "database.url": db_url, **overrides}
    return Slicebox(load_config(None, {}, overrides=values))


def test_generated_password_is_printed_once_and_only_hashed(db_url: str, tmp_path: Path) -> None:
    sb = make(db_url, tmp_path)
    password = sb.users.ensure_superuser()
    assert password and len(password) >= 16
    assert sb.users.ensure_superuser() is None  # second start: nothing new
    with sb.db.read() as session:
        stored = session.scalars(select(UserRow.password)).one()
    assert password not in stored and stored.startswith("$2")
    info = sb.users.authenticate("admin", password)
    assert info.role == Role.SUPERUSER
    with pytest.raises(Unauthorized):
        sb.users.authenticate("admin", "admin")  # there is no built-in admin/admin
    sb.close()


def test_configured_superuser_replaces_old_one(db_url: str, tmp_path: Path) -> None:
    sb = make(db_url, tmp_path, **{"superuser.password": "first"})
    assert sb.users.ensure_superuser() is None
    sb.close()
    sb = make(db_url, tmp_path, **{"superuser.user": "root", "superuser.password": "second"})
    sb.users.ensure_superuser()
    with pytest.raises(Unauthorized):
        sb.users.authenticate("admin", "first")
    assert sb.users.authenticate("root", "second").user == "root"
    with sb.db.read() as session:
        assert session.scalars(select(UserRow.user)).all() == ["root"]
    sb.close()


def test_sessions_bound_to_ip_and_agent_and_expire(db_url: str, tmp_path: Path) -> None:
    sb = make(db_url, tmp_path, **{"superuser.password": "pw"})
    sb.users.ensure_superuser()
    with pytest.raises(Unauthorized, match="Invalid username or password"):
        sb.users.login("admin", "wrong", ip="1.2.3.4", user_agent="ua")
    with pytest.raises(Unauthorized):
        sb.users.login("nobody", "pw", ip="1.2.3.4", user_agent="ua")
    token = sb.users.login("admin", "pw", ip="1.2.3.4", user_agent="ua")
    assert sb.users.session_user(token, ip="1.2.3.4", user_agent="ua").user == "admin"
    for ip, ua in (("5.6.7.8", "ua"), ("1.2.3.4", "other"), ("", "ua"), ("1.2.3.4", "")):
        with pytest.raises(Unauthorized):
            sb.users.session_user(token, ip=ip, user_agent=ua)
    with pytest.raises(Unauthorized):
        sb.users.session_user("forged", ip="1.2.3.4", user_agent="ua")
    with sb.db.read() as session:
        assert token not in session.scalars(select(ApiSessionRow.token)).all()
    with sb.db.write() as session:
        session.execute(update(ApiSessionRow).values(updated=0))
    with pytest.raises(Unauthorized):
        sb.users.session_user(token, ip="1.2.3.4", user_agent="ua")
    token = sb.users.login("admin", "pw", ip="1.2.3.4", user_agent="ua")
    other = sb.users.login("admin", "pw", ip="9.9.9.9", user_agent="ua")
    admin_id = sb.users.session_user(token, ip="1.2.3.4", user_agent="ua").id
    sb.users.logout(admin_id, ip="1.2.3.4", user_agent="ua")  # spec: (user, IP, UA)
    with pytest.raises(Unauthorized):
        sb.users.session_user(token, ip="1.2.3.4", user_agent="ua")
    assert sb.users.session_user(other, ip="9.9.9.9", user_agent="ua").user == "admin"
    sb.close()
