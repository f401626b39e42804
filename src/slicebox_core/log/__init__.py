"""The system log (spec §4.10, §5.15)."""

from .service import LogService

__all__ = ["LogService"]
