"""Users and login sessions (spec §3.1, §4.9, §5.14).

Passwords are stored as bcrypt hashes and never leave this module: no method returns a hash.

Session tokens are random UUIDs handed to the client; the database keeps only their SHA-256,
so a copy of the database does not give live sessions. A session is bound to the client IP
and a hash of its User-Agent (configurable) and expires after ``sessions.timeout_s`` idle.

Password checks (login and HTTP Basic) are rate-limited per user name and per client address
through the index (:mod:`.ratelimit`), so the limit holds across gunicorn workers. Logins and
failed checks are written to the log (subject ``Audit``) with the client address; a user name
is logged only when such a user exists, since a "user name" may be a mistyped password.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid

import attrs
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..config import Config
from ..db.engine import Database
from ..db.tables import ApiSessionRow, UserRow
from ..errors import InvalidInput, Unauthorized
from ..events import EventBus, SourceAdded, SourceDeleted
from ..log.service import LogService
from ..models.index import Source, SourceType
from ..models.system import ApiUser, LogEntryType, Role, UserInfo
from .passwords import CredentialCache, generate_password, hash_password, verify_password
from .ratelimit import Limits, LoginLimiter

AUDIT = "Audit"
"""Log subject of security-relevant events (logins, user changes, deletions, exports)."""

REFRESH_AFTER_MS = 60_000  # slide a session's expiry at most once a minute (fewer writes)
MAX_NAME = 180  # spec §4.9: user str(180)
MAX_PASSWORD = 1024
INVALID_LOGIN = "Invalid username or password"
INVALID = "The supplied authentication is invalid"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _info(row: UserRow) -> UserInfo:
    return UserInfo(row.id, row.user, Role(row.role))


def _api_user(row: UserRow) -> ApiUser:
    return ApiUser(row.id, row.user, Role(row.role))


@attrs.frozen
class _Verdict:
    """A remembered password check: valid while the user row still has this id and hash."""

    ok: bool
    user_id: int | None
    hashed: str | None

    def holds_for(self, row: UserRow | None) -> bool:
        if row is None:
            return self.user_id is None
        return row.id == self.user_id and row.password == self.hashed


@attrs.frozen
class _Check:
    """The outcome of a password check."""

    user: UserInfo | None
    known_name: bool  # a user of that name exists (decides whether the name is logged)


class UserService:
    """Users, authentication and login sessions.

    Args:
        db: the index.
        config: the whole configuration (superuser, sessions).
        events: receives ``SourceAdded``/``SourceDeleted`` for added and deleted users.
        log: receives the audit entries; None = no audit log (tests of other features).
    """

    def __init__(
        self,
        db: Database,
        config: Config,
        *,
        events: EventBus | None = None,
        log: LogService | None = None,
    ) -> None:
        self._db = db
        self._config = config
        self._events = events
        self._log = log
        self._cache = CredentialCache()
        self.limiter = LoginLimiter(db, Limits.of(config.sessions))

    # superuser ----------------------------------------------------------------------------------
    def ensure_superuser(self) -> str | None:
        """Create or update the configured superuser.

        With a configured password, the superuser is (re)created whenever its name or password
        differs from the configuration. Without one, an existing superuser of that name is
        kept; otherwise a random password is generated.

        Returns:
            The generated password, to be shown once; None when nothing was generated.
        """
        name = self._config.superuser.user
        password = self._config.superuser.password
        with self._db.write() as session:
            supers = session.scalars(
                select(UserRow).where(UserRow.role == Role.SUPERUSER.value)
            ).all()
            current = next((u for u in supers if u.user == name), None)
            if current is not None and (
                not password or verify_password(password, current.password)
            ):
                return None
            generated = None if password else generate_password()
            hashed = hash_password(password or generated or "")
            for row in supers:
                session.delete(row)
            session.flush()
            existing = session.scalars(select(UserRow).where(UserRow.user == name)).first()
            if existing is not None:  # an ordinary user with that name becomes the superuser
                existing.role = Role.SUPERUSER.value
                existing.password = hashed
            else:
                session.add(UserRow(user=name, role=Role.SUPERUSER.value, password=hashed))
        self._cache.clear()
        return generated

    # users (spec §3.1) ----------------------------------------------------------------------
    def list(self, *, start_index: int = 0, count: int = 20) -> list[ApiUser]:
        """Users in id order, one page."""
        with self._db.read() as session:
            rows = session.scalars(
                select(UserRow).order_by(UserRow.id).offset(start_index).limit(count)
            ).all()
        return [_api_user(r) for r in rows]

    def get(self, user_id: int) -> ApiUser | None:
        """The user with this id, or None."""
        with self._db.read() as session:
            row = session.get(UserRow, user_id)
        return _api_user(row) if row is not None else None

    def add(self, user: str, password: str, *, role: Role = Role.USER) -> ApiUser:
        """Add a user; an existing user of that name is returned unchanged (spec §3.1).

        Publishes ``SourceAdded`` when a user was created.

        Raises:
            InvalidInput: role SUPERUSER, an empty or overlong name or password, or a name
                with control characters.
        """
        if role is Role.SUPERUSER:
            raise InvalidInput("Superusers may not be added")
        if not user.strip() or len(user) > MAX_NAME or _CONTROL.search(user):
            raise InvalidInput(
                f"A user name must be 1 to {MAX_NAME} characters without control characters"
            )
        if not password or len(password) > MAX_PASSWORD:
            raise InvalidInput(f"A password must be 1 to {MAX_PASSWORD} characters")
        existing = self._by_name(user)
        if existing is not None:
            return existing
        hashed = hash_password(password)  # slow: outside the write transaction
        try:
            with self._db.write() as session:
                row = UserRow(user=user, role=role.value, password=hashed)
                session.add(row)
                session.flush()
                added = _api_user(row)
        except IntegrityError:  # added concurrently by another request
            existing = self._by_name(user)
            if existing is None:
                raise
            return existing
        if self._events is not None:
            self._events.publish(SourceAdded(Source(SourceType.USER, added.user, added.id)))
        return added

    def _by_name(self, user: str) -> ApiUser | None:
        with self._db.read() as session:
            row = session.scalars(select(UserRow).where(UserRow.user == user)).first()
        return _api_user(row) if row is not None else None

    def delete(self, user_id: int) -> ApiUser | None:
        """Delete a user and its sessions; an unknown id is not an error (spec §3.1).

        Its credentials stop working at once, in every process: cached checks are only
        trusted while the user row still exists unchanged. Publishes ``SourceDeleted``.

        Returns:
            The deleted user, or None when there was none.

        Raises:
            InvalidInput: the user is the superuser.
        """
        with self._db.write() as session:
            row = session.get(UserRow, user_id)
            if row is None:
                return None
            if row.role == Role.SUPERUSER.value:
                raise InvalidInput("Superuser may not be deleted")
            deleted = _api_user(row)
            session.execute(delete(ApiSessionRow).where(ApiSessionRow.userid == user_id))
            session.delete(row)
        self._cache.clear()
        if self._events is not None:
            self._events.publish(SourceDeleted(SourceType.USER.value, user_id))
        return deleted

    # authentication ------------------------------------------------------------------------
    def authenticate(self, user: str, password: str, *, ip: str = "") -> UserInfo:
        """Check a user name and password (HTTP Basic, every request).

        Args:
            user: the user name.
            password: the password.
            ip: the client address, for rate limiting and the audit log.

        Raises:
            Unauthorized: no such user or a wrong password.
            TooManyRequests: too many failures for this user name or client recently.
        """
        check = self._check(user, password, ip)
        if check.user is None:
            raise Unauthorized(INVALID)
        return check.user

    def _check(self, user: str, password: str, ip: str, *, audit: str = "") -> _Check:
        """Verify a password: from the cache when a recent check still holds, else bcrypt.

        The path is the same whether or not the user exists (a dummy hash stands in for a
        missing one), so the answer's timing does not tell which user names exist.
        """
        with self._db.read() as session:
            row = session.scalars(select(UserRow).where(UserRow.user == user)).first()
        cached = self._cache.get(user, password)
        if isinstance(cached, _Verdict) and cached.holds_for(row):
            # a repeated identical check: no bcrypt, and a repeated failure is not counted
            return _Check(_info(row) if cached.ok and row is not None else None, row is not None)
        self.limiter.check(user, ip)
        ok = verify_password(password, row.password if row is not None else None)
        ok = ok and row is not None
        self._cache.put(
            user,
            password,
            _Verdict(ok, row.id if row else None, row.password if row else None),
        )
        if not ok or row is None:
            self.limiter.record_failure(user, ip)
            who = f"user {user!r}" if row is not None else "an unknown user name"
            self._audit(LogEntryType.WARN, f"{audit or 'Authentication'} failed for {who}", ip)
            return _Check(None, row is not None)
        self.limiter.reset_user(user)
        return _Check(_info(row), True)

    def _audit(self, entry_type: LogEntryType, message: str, ip: str) -> None:
        if self._log is not None:
            self._log.add(entry_type, AUDIT, f"{message} from {ip or 'an unknown address'}")

    def _binding(self, ip: str, user_agent: str) -> tuple[str, str]:
        if not self._config.sessions.bind_ip_and_user_agent:
            return "", ""
        if not ip or not user_agent:
            raise Unauthorized(INVALID)
        return ip[:64], _digest(user_agent)

    def login(self, user: str, password: str, *, ip: str, user_agent: str) -> str:
        """Create a session and return its token.

        Every login issues a new token: the index keeps only token digests, so the
        original's "same token again for the same user, IP and User-Agent" cannot be had.

        Raises:
            Unauthorized: wrong credentials, or an unknown client IP or User-Agent while
                sessions are bound to them.
            TooManyRequests: too many failures for this user name or client recently.
        """
        try:
            bound_ip, ua = self._binding(ip, user_agent)
        except Unauthorized:
            raise Unauthorized(INVALID_LOGIN) from None
        check = self._check(user, password, ip, audit="Login")
        if check.user is None:
            raise Unauthorized(INVALID_LOGIN)
        info = check.user
        token = str(uuid.uuid4())
        with self._db.write() as session:
            session.add(
                ApiSessionRow(
                    userid=info.id,
                    token=_digest(token),
                    ip=bound_ip,
                    useragent=ua,
                    updated=_now_ms(),
                )
            )
        self._audit(LogEntryType.INFO, f"User {info.user!r} (id {info.id}) logged in", ip)
        return token

    def session_user(self, token: str, *, ip: str, user_agent: str) -> UserInfo:
        """The user of a live session (slides its expiry). Raises Unauthorized."""
        bound_ip, ua = self._binding(ip, user_agent)
        now = _now_ms()
        timeout_ms = self._config.sessions.timeout_s * 1000
        with self._db.read() as session:
            found = session.execute(
                select(ApiSessionRow, UserRow)
                .join(UserRow, UserRow.id == ApiSessionRow.userid)
                .where(
                    ApiSessionRow.token == _digest(token),
                    ApiSessionRow.ip == bound_ip,
                    ApiSessionRow.useragent == ua,
                )
            ).first()
        if found is None:
            raise Unauthorized(INVALID)
        api_session, user_row = found
        if now - api_session.updated > timeout_ms:
            with self._db.write() as session:
                session.execute(delete(ApiSessionRow).where(ApiSessionRow.id == api_session.id))
            raise Unauthorized(INVALID)
        if now - api_session.updated > REFRESH_AFTER_MS:
            with self._db.write() as session:
                session.execute(
                    update(ApiSessionRow)
                    .where(ApiSessionRow.id == api_session.id)
                    .values(updated=now)
                )
        return _info(user_row)

    def logout(self, user_id: int, *, ip: str, user_agent: str) -> None:
        """End the sessions of a user from this client IP and User-Agent (spec §5.14).

        No error when there are none, or when the IP or User-Agent is unknown.
        """
        try:
            bound_ip, ua = self._binding(ip, user_agent)
        except Unauthorized:
            return
        with self._db.write() as session:
            session.execute(
                delete(ApiSessionRow).where(
                    ApiSessionRow.userid == user_id,
                    ApiSessionRow.ip == bound_ip,
                    ApiSessionRow.useragent == ua,
                )
            )

    def purge_expired_sessions(self) -> int:
        """Delete sessions idle longer than the timeout, and expired login failures.

        Returns:
            The number of sessions deleted.
        """
        cutoff = _now_ms() - self._config.sessions.timeout_s * 1000
        with self._db.write() as session:
            result = session.execute(delete(ApiSessionRow).where(ApiSessionRow.updated < cutoff))
        self.limiter.purge()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
