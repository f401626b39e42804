"""Ready-made Authorization headers for falcon's simulator."""

from __future__ import annotations

import base64

from .fixtures import PASSWORD, SUPERUSER


def basic(user: str, password: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ADMIN = basic(SUPERUSER, PASSWORD)
