"""Users and sessions."""

from __future__ import annotations

from ..config import Config
from ..db.engine import Database
from ..models.system import UserInfo


class UserService:
    def __init__(self, db: Database, config: Config) -> None:
        self._db = db
        self._config = config

    def ensure_superuser(self) -> str | None:
        """Create or update the configured superuser.

        Returns the generated password when none was configured and no superuser existed
        yet (to be printed once); else None. Only the hash is stored.
        """
        raise NotImplementedError

    def authenticate(self, user: str, password: str) -> UserInfo:
        """Check a user name and password (HTTP Basic). Raises Unauthorized."""
        raise NotImplementedError

    def login(self, user: str, password: str, *, ip: str, user_agent: str) -> str:
        """Create or refresh a session; returns its token. Raises Unauthorized."""
        raise NotImplementedError

    def session_user(self, token: str, *, ip: str, user_agent: str) -> UserInfo:
        """The user of a live session (slides its expiry). Raises Unauthorized."""
        raise NotImplementedError

    def logout(self, token: str, *, ip: str, user_agent: str) -> None:
        raise NotImplementedError
