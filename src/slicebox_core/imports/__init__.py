"""Import sessions (spec §3.15, §5.10)."""

from .service import ImportService

__all__ = ["ImportService"]
