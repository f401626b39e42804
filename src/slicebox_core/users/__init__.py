"""Users, roles and login sessions (spec §3.1, §5.14)."""

from .service import UserService

__all__ = ["UserService"]
