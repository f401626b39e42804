from ...automation import auto, auto_sqlite

__all__ = ["auto", "auto_sqlite"]
