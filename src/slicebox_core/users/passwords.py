"""Password hashing (bcrypt) and a short-lived cache of successful checks.

bcrypt is slow on purpose (~0.2 s at cost 12); HTTP Basic sends the password with every
request, so successful checks are remembered for a short time under a keyed digest of the
credentials (never the password itself).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

import bcrypt

ROUNDS = 12
# checked against when a user does not exist, so that the answer takes as long either way
_DUMMY_HASH = bcrypt.hashpw(b"slicebox-dummy-password", bcrypt.gensalt(ROUNDS))


def hash_password(password: str) -> str:
    """A bcrypt hash of ``password`` with a random salt."""
    # bcrypt reads at most 72 bytes; pre-hash longer passwords so every byte counts
    return bcrypt.hashpw(_prepare(password), bcrypt.gensalt(ROUNDS)).decode("ascii")


def _prepare(password: str) -> bytes:
    raw = password.encode("utf-8")
    if len(raw) > 72:
        raw = hashlib.sha256(raw).hexdigest().encode("ascii")
    return raw


def verify_password(password: str, hashed: str | None) -> bool:
    """True when ``password`` matches ``hashed``.

    A missing hash (no such user) is checked against a dummy hash of the same cost, so the
    answer takes as long whether or not the user exists.
    """
    try:
        target = hashed.encode("ascii") if hashed else _DUMMY_HASH
        ok = bcrypt.checkpw(_prepare(password), target)
    except ValueError:
        return False
    return ok and hashed is not None


def generate_password() -> str:
    """A random password of 20 URL-safe characters."""
    return secrets.token_urlsafe(15)


class CredentialCache:
    """Remembers the outcome of (user, password) checks for ``ttl`` seconds.

    Entries are keyed by an HMAC of the credentials under a per-process random key, so the
    cache never holds a password. The caller stores whatever lets it tell whether a remembered
    verdict still holds (the user's id and password hash), and re-checks that on every hit.
    """

    def __init__(self, ttl: float = 30.0) -> None:
        self._ttl = ttl
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def _digest(self, user: str, password: str) -> bytes:
        message = user.encode("utf-8") + b"\0" + password.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def get(self, user: str, password: str) -> object | None:
        digest = self._digest(user, password)
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._entries[digest]
                return None
            return entry[1]

    def put(self, user: str, password: str, value: object) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[self._digest(user, password)] = (time.monotonic() + self._ttl, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
