"""Users and login sessions (spec §3.1, §5.14).

Session tokens are random UUIDs handed to the client; the database keeps only their SHA-256,
so a copy of the database does not give live sessions. A session is bound to the client IP
and a hash of its User-Agent (configurable) and expires after ``sessions.timeout_s`` idle.
"""

from __future__ import annotations

import hashlib
import time
import uuid

from sqlalchemy import delete, select, update

from ..config import Config
from ..db.engine import Database
from ..db.tables import ApiSessionRow, UserRow
from ..errors import Unauthorized
from ..models.system import Role, UserInfo
from .passwords import CredentialCache, generate_password, hash_password, verify_password

REFRESH_AFTER_MS = 60_000  # slide a session's expiry at most once a minute (fewer writes)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _info(row: UserRow) -> UserInfo:
    return UserInfo(row.id, row.user, Role(row.role))


class UserService:
    """Authentication and (for now) the configured superuser."""

    def __init__(self, db: Database, config: Config) -> None:
        self._db = db
        self._config = config
        self._cache = CredentialCache()

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
            if current is not None and (not password or verify_password(password, current.password)):
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

    # authentication ------------------------------------------------------------------------
    def authenticate(self, user: str, password: str) -> UserInfo:
        """Check a user name and password (HTTP Basic). Raises Unauthorized."""
        cached = self._cache.get(user, password)
        if isinstance(cached, UserInfo):
            return cached
        with self._db.read() as session:
            row = session.scalars(select(UserRow).where(UserRow.user == user)).first()
        if not verify_password(password, row.password if row else None) or row is None:
            raise Unauthorized("The supplied authentication is invalid")
        info = _info(row)
        self._cache.put(user, password, info)
        return info

    def _binding(self, ip: str, user_agent: str) -> tuple[str, str]:
        if not self._config.sessions.bind_ip_and_user_agent:
            return "", ""
        if not ip or not user_agent:
            raise Unauthorized("The supplied authentication is invalid")
        return ip[:64], _digest(user_agent)

    def login(self, user: str, password: str, *, ip: str, user_agent: str) -> str:
        """Create a session and return its token. Raises Unauthorized."""
        try:
            info = self.authenticate(user, password)
        except Unauthorized:
            raise Unauthorized("Invalid username or password") from None
        bound_ip, ua = self._binding(ip, user_agent)
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
            raise Unauthorized("The supplied authentication is invalid")
        api_session, user_row = found
        if now - api_session.updated > timeout_ms:
            with self._db.write() as session:
                session.execute(delete(ApiSessionRow).where(ApiSessionRow.id == api_session.id))
            raise Unauthorized("The supplied authentication is invalid")
        if now - api_session.updated > REFRESH_AFTER_MS:
            with self._db.write() as session:
                session.execute(
                    update(ApiSessionRow)
                    .where(ApiSessionRow.id == api_session.id)
                    .values(updated=now)
                )
        return _info(user_row)

    def logout(self, token: str, *, ip: str, user_agent: str) -> None:
        """End the session of ``token`` (no error if it is already gone)."""
        with self._db.write() as session:
            session.execute(delete(ApiSessionRow).where(ApiSessionRow.token == _digest(token)))

    def purge_expired_sessions(self) -> int:
        cutoff = _now_ms() - self._config.sessions.timeout_s * 1000
        with self._db.write() as session:
            result = session.execute(delete(ApiSessionRow).where(ApiSessionRow.updated < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
