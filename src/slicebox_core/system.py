"""Sources, destinations and version (spec §3.2).

Other features register *providers* of sources and destinations (boxes, SCPs, directory
watches, import sessions, SCUs) so this module needs no knowledge of them.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import select

from .config import Config
from .db.engine import Database
from .db.tables import UserRow
from .models.index import Destination, Source, SourceType


def slicebox_version() -> str:
    try:
        return version("slicebox")
    except PackageNotFoundError:
        return "0.0.0+unknown"


class SystemService:
    def __init__(self, db: Database, config: Config) -> None:
        self._db = db
        self._config = config
        self.source_providers: list[Callable[[], list[Source]]] = [self._user_sources]
        self.destination_providers: list[Callable[[], list[Destination]]] = []

    @property
    def version(self) -> str:
        return slicebox_version()

    def _user_sources(self) -> list[Source]:
        with self._db.read() as session:
            rows = session.execute(select(UserRow.id, UserRow.user).order_by(UserRow.id)).all()
        return [Source(SourceType.USER, name, user_id) for user_id, name in rows]

    def sources(self) -> list[Source]:
        """Every source images can come from: users, boxes, SCPs, directories, imports."""
        return [source for provider in self.source_providers for source in provider()]

    def destinations(self) -> list[Destination]:
        """Every destination images can be sent to: boxes and SCUs."""
        return [d for provider in self.destination_providers for d in provider()]

    def health(self) -> bool:
        """True when the index answers."""
        from sqlalchemy import text

        with self._db.read() as session:
            session.execute(text("SELECT 1"))
        return True
