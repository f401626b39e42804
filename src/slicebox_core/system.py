"""Sources, destinations and version (spec §3.2)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .config import Config
from .db.engine import Database
from .models.index import Destination, Source


def slicebox_version() -> str:
    try:
        return version("slicebox")
    except PackageNotFoundError:
        return "0.0.0+unknown"


class SystemService:
    def __init__(self, db: Database, config: Config) -> None:
        self._db = db
        self._config = config

    @property
    def version(self) -> str:
        return slicebox_version()

    def sources(self) -> list[Source]:
        """Every source images can come from (users now; boxes, SCPs, ... as they appear)."""
        raise NotImplementedError

    def destinations(self) -> list[Destination]:
        raise NotImplementedError
