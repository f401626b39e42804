"""Adding, listing and deleting users; rate limits; the audit trail; timing of failures."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from sqlalchemy import func, select, update

from slicebox_core import Slicebox, load_config
from slicebox_core.db.tables import ApiSessionRow, LoginAttemptRow, UserRow
from slicebox_core.errors import InvalidInput, TooManyRequests, Unauthorized
from slicebox_core.events import SourceAdded, SourceDeleted
from slicebox_core.models import ApiUser, LogEntryType, Role, Source, SourceType
from slicebox_core.users.service import AUDIT

PASSWORD = "su-password"


def make(db_url: str, tmp_path: Path, **overrides: object) -> Slicebox:
    values = {
        "data_dir": str(tmp_path / "data"),
        "database.url": db_url,
        "superuser.password": PASSWORD,
        **overrides,
    }
    sb = Slicebox(load_config(None, {}, overrides=values))
    sb.users.ensure_superuser()
    return sb


@pytest.fixture
def box(db_url: str, tmp_path: Path) -> Iterator[Slicebox]:
    sb = make(db_url, tmp_path)
    yield sb
    sb.close()


def test_add_list_delete(box: Slicebox) -> None:
    added: list[object] = []
    box.events.subscribe(SourceAdded, added.append)
    box.events.subscribe(SourceDeleted, added.append)
    bob = box.users.add("bob", "bob-pw")
    assert bob == ApiUser(bob.id, "bob", Role.USER)
    assert added == [SourceAdded(Source(SourceType.USER, "bob", bob.id))]
    # same name again: the existing user unchanged (spec §3.1), no event
    again = box.users.add("bob", "other", role=Role.ADMINISTRATOR)
    assert again == bob
    assert box.users.authenticate("bob", "bob-pw").role is Role.USER
    with pytest.raises(Unauthorized):
        box.users.authenticate("bob", "other")
    carol = box.users.add("carol", "carol-pw", role=Role.ADMINISTRATOR)
    names = [u.user for u in box.users.list()]
    assert names == ["admin", "bob", "carol"]
    assert [u.user for u in box.users.list(start_index=1, count=1)] == ["bob"]
    assert box.users.get(carol.id) == carol
    assert box.users.delete(carol.id) == carol
    assert added[-1] == SourceDeleted("user", carol.id)
    assert box.users.get(carol.id) is None
    assert box.users.delete(carol.id) is None  # unknown id: no error
    assert box.users.delete(10_000) is None


def test_superuser_may_not_be_added_or_deleted(box: Slicebox) -> None:
    with pytest.raises(InvalidInput, match="Superusers may not be added"):
        box.users.add("root2", "pw", role=Role.SUPERUSER)
    admin = box.users.list()[0]
    assert admin.role is Role.SUPERUSER
    with pytest.raises(InvalidInput, match="Superuser may not be deleted"):
        box.users.delete(admin.id)
    assert box.users.get(admin.id) == admin


@pytest.mark.parametrize(
    ("name", "password"),
    [("", "pw"), ("  ", "pw"), ("x" * 181, "pw"), ("a\nb", "pw"), ("ok", ""), ("ok", "p" * 1025)],
)
def test_invalid_new_users(box: Slicebox, name: str, password: str) -> None:
    with pytest.raises(InvalidInput):
        box.users.add(name, password)


def test_hashes_are_never_returned_and_passwords_never_stored(box: Slicebox) -> None:
    box.users.add("dave", "dave-secret-pw")
    for user in box.users.list():
        assert set(attrs.asdict(user)) == {"id", "user", "role"}
    with box.db.read() as session:
        stored = session.scalars(select(UserRow.password).where(UserRow.user == "dave")).one()
    assert stored.startswith("$2") and "dave-secret-pw" not in stored


def test_deleted_user_stops_working_at_once_in_every_process(
    db_url: str, tmp_path: Path, box: Slicebox
) -> None:
    other = make(db_url, tmp_path)  # a second "gunicorn worker" on the same index
    try:
        user = box.users.add("erin", "erin-pw")
        token = box.users.login("erin", "erin-pw", ip="1.1.1.1", user_agent="ua")
        for sb in (box, other):  # both processes cache the good credentials
            assert sb.users.authenticate("erin", "erin-pw").id == user.id
        box.users.delete(user.id)
        for sb in (box, other):
            with pytest.raises(Unauthorized):
                sb.users.authenticate("erin", "erin-pw")
            with pytest.raises(Unauthorized):
                sb.users.session_user(token, ip="1.1.1.1", user_agent="ua")
        with box.db.read() as session:
            assert session.scalar(select(func.count()).select_from(ApiSessionRow)) == 0
        # a new user of the same name does not inherit the old password
        box.users.add("erin", "new-pw")
        with pytest.raises(Unauthorized):
            other.users.authenticate("erin", "erin-pw")
    finally:
        other.close()


def test_login_rate_limited_per_user_name(db_url: str, tmp_path: Path) -> None:
    sb = make(db_url, tmp_path, **{"sessions.max_failures_per_user": 3})
    try:
        for i in range(3):  # different clients: only the per-name limit applies
            with pytest.raises(Unauthorized):
                sb.users.login("admin", f"wrong{i}", ip=f"10.0.0.{i}", user_agent="ua")
        with pytest.raises(TooManyRequests) as info:
            sb.users.login("admin", PASSWORD, ip="10.0.0.9", user_agent="ua")
        assert 1 <= info.value.retry_after <= 900
        with pytest.raises(TooManyRequests):  # Basic authentication too
            sb.users.authenticate("admin", PASSWORD, ip="10.0.0.10")
        # another name is not limited
        with pytest.raises(Unauthorized):
            sb.users.login("someone", "x", ip="10.0.0.11", user_agent="ua")
        # once the failures leave the window, the right password works and resets the count
        with sb.db.write() as session:
            session.execute(update(LoginAttemptRow).values(created=0))
        assert sb.users.login("admin", PASSWORD, ip="10.0.0.9", user_agent="ua")
        assert sb.users.purge_expired_sessions() == 0
        with sb.db.read() as session:  # the purge removed the expired failures
            assert session.scalar(select(func.count()).select_from(LoginAttemptRow)) == 0
    finally:
        sb.close()


def test_login_rate_limited_per_client_across_processes(db_url: str, tmp_path: Path) -> None:
    overrides = {"sessions.max_failures_per_client": 4, "sessions.failure_window_s": 60}
    first = make(db_url, tmp_path, **overrides)
    second = make(db_url, tmp_path, **overrides)
    try:
        for i in range(4):  # alternate processes and user names: the client's count is shared
            sb = (first, second)[i % 2]
            with pytest.raises(Unauthorized):
                sb.users.login(f"name{i}", "pw", ip="6.6.6.6", user_agent="ua")
        for sb in (first, second):
            with pytest.raises(TooManyRequests) as info:
                sb.users.login("admin", PASSWORD, ip="6.6.6.6", user_agent="ua")
            assert 1 <= info.value.retry_after <= 60
        # another client is not affected
        assert first.users.login("admin", PASSWORD, ip="7.7.7.7", user_agent="ua")
    finally:
        first.close()
        second.close()


def test_recently_verified_credentials_pass_during_an_attack(db_url: str, tmp_path: Path) -> None:
    sb = make(db_url, tmp_path, **{"sessions.max_failures_per_user": 2})
    try:
        assert sb.users.authenticate("admin", PASSWORD, ip="1.1.1.1").user == "admin"
        for i in range(3):
            with pytest.raises((Unauthorized, TooManyRequests)):
                sb.users.authenticate("admin", f"guess{i}", ip="6.6.6.6")
        # the legitimate client's check is cached in this process: it is not locked out
        assert sb.users.authenticate("admin", PASSWORD, ip="1.1.1.1").user == "admin"
    finally:
        sb.close()


def test_logins_and_failures_are_audited_without_passwords(box: Slicebox) -> None:
    box.users.add("frank", "frank-pw-123")
    box.users.login("frank", "frank-pw-123", ip="2.2.2.2", user_agent="ua")
    with pytest.raises(Unauthorized):
        box.users.login("frank", "bad-pw-456", ip="3.3.3.3", user_agent="ua")
    with pytest.raises(Unauthorized):  # a password typed into the name field is not logged
        box.users.login("typed-password-789", "x", ip="4.4.4.4", user_agent="ua")
    with pytest.raises(Unauthorized):
        box.users.authenticate("frank", "basic-bad-000", ip="5.5.5.5")
    entries = box.log.list(subject=AUDIT, count=100)
    messages = [e.message for e in entries]
    assert "User 'frank' (id 2) logged in from 2.2.2.2" in messages
    assert "Login failed for user 'frank' from 3.3.3.3" in messages
    assert "Login failed for an unknown user name from 4.4.4.4" in messages
    assert "Authentication failed for user 'frank' from 5.5.5.5" in messages
    assert {e.entry_type for e in entries if "failed" in e.message} == {LogEntryType.WARN}
    text = "\n".join(messages)
    for secret in ("frank-pw-123", "bad-pw-456", "typed-password-789", "basic-bad-000"):
        assert secret not in text


def test_failures_take_as_long_whether_or_not_the_user_exists(db_url: str, tmp_path: Path) -> None:
    sb = make(db_url, tmp_path, **{"sessions.failure_window_s": 0})  # no rate limit here
    try:
        sb.users.add("grace", "grace-pw")

        def timed(name: str, i: int) -> float:
            start = time.perf_counter()
            with pytest.raises(Unauthorized):
                sb.users.login(name, f"wrong-{i}", ip="8.8.8.8", user_agent="ua")
            return time.perf_counter() - start

        known, unknown = [], []
        for i in range(6):  # interleaved, fresh passwords (no cache hits)
            known.append(timed("grace", i))
            unknown.append(timed("nobody-here", i))
        # the minimum is the intrinsic cost; noise from other processes only adds to it
        ratio = min(known) / min(unknown)
        print(
            f"failed login: known user min {min(known) * 1000:.0f} ms "
            f"(median {statistics.median(known) * 1000:.0f}), unknown user min "
            f"{min(unknown) * 1000:.0f} ms (median {statistics.median(unknown) * 1000:.0f}), "
            f"ratio {ratio:.2f}"
        )
        assert 0.8 < ratio < 1.25
    finally:
        sb.close()
