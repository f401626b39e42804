"""slicebox_server: the REST API over :class:`slicebox_core.Slicebox` (falcon, WSGI).

``create_app`` is loaded lazily: the ``slicebox`` command and the gunicorn master import this
package without loading the core (SQLAlchemy, pydicom), which only the workers need.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> _Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'slicebox_server' has no attribute {name!r}")
