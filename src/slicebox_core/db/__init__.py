"""The SQL index: tables, engine and migrations."""

from .engine import Database

__all__ = ["Database"]
