"""slicebox_core: store, index, query, anonymize and share DICOM — as a library.

    >>> from slicebox_core import Slicebox
    >>> sb = Slicebox.open("slicebox-data")

``Slicebox`` is loaded lazily so that importing the models (as the client does) pulls in
neither SQLAlchemy nor pynetdicom.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from . import models
from .config import Config, load_config
from .errors import (
    Conflict,
    Forbidden,
    InsufficientStorage,
    InvalidDicom,
    InvalidInput,
    NotFound,
    NotRenderable,
    PayloadTooLarge,
    PeerUnavailable,
    SliceboxError,
    TooManyRequests,
    Unauthorized,
)

if _TYPE_CHECKING:
    from .app import Slicebox

__all__ = [
    "Config",
    "Conflict",
    "Forbidden",
    "InsufficientStorage",
    "InvalidDicom",
    "InvalidInput",
    "NotFound",
    "NotRenderable",
    "PayloadTooLarge",
    "PeerUnavailable",
    "Slicebox",
    "SliceboxError",
    "TooManyRequests",
    "Unauthorized",
    "load_config",
    "models",
]


def __getattr__(name: str) -> _Any:
    if name == "Slicebox":
        from .app import Slicebox

        return Slicebox
    raise AttributeError(f"module 'slicebox_core' has no attribute {name!r}")
