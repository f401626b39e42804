"""Directory watches: the registry (any process) and its runner (the worker process).

The API only writes ``DirectoryWatchData`` rows. The :class:`~.runner.WatchRunner` in the
automation worker claims the rows with a renewable lease (so two workers on one PostgreSQL
index never watch the same folder), starts and stops watchers as rows come and go, and
imports the files (spec §5.11).
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.tables import DirectoryWatchRow
from ..errors import InvalidInput, NotFound
from ..events import EventBus, SourceAdded, SourceDeleted
from ..images.service import ImageService
from ..index.query import check_paging
from ..log.service import LogService
from ..models.index import Source, SourceType
from ..models.watch import WatchedDirectory
from . import paths

if TYPE_CHECKING:
    from .runner import WatchRunner

NAME_MAX = 180
SUBJECT = "Directory"


@attrs.frozen
class WatchOptions:
    """How watched folders are handled.

    Attributes:
        delete_on_import: delete a file once it is stored (spec §5.20
            ``directory-watch.delete-on-import``). Rejected files always stay.
        settle_s: a file is imported once its size and mtime were unchanged this long.
        rescan_s: every so often each folder is walked again, for events the OS dropped.
        lease_s: how long a worker's claim on a watch lasts without renewal.
        polling: poll the folders instead of OS events (network file systems).
        threads: files imported at the same time.
    """

    delete_on_import: bool = False
    settle_s: float = 1.0
    rescan_s: float = 60.0
    lease_s: float = 30.0
    polling: bool = False
    threads: int = 2


def now_ms() -> int:
    return int(time.time() * 1000)


def _watch(row: DirectoryWatchRow) -> WatchedDirectory:
    return WatchedDirectory(row.id, row.name, row.path)


class DirectoryWatchService:
    """Register and remove watched folders.

    Args:
        db: the index.
        images: the ingest pipeline (used by the runner).
        log: the system log (subject ``Directory``).
        events: ``SourceAdded``/``SourceDeleted`` are published on it.
        options: see :class:`WatchOptions`.
        protected: folders a watch may not intersect (slicebox's data and storage).
    """

    def __init__(
        self,
        db: Database,
        images: ImageService,
        log: LogService,
        events: EventBus,
        *,
        options: WatchOptions = WatchOptions(),
        protected: Iterable[str | Path] = (),
    ) -> None:
        self._db = db
        self.images = images
        self.log = log
        self._events = events
        self.options = options
        self._protected = [Path(p).resolve() for p in protected]

    def list(self, *, start_index: int = 0, count: int = 20) -> builtins.list[WatchedDirectory]:
        """Watches by id, paged. Raises InvalidInput for negative paging."""
        check_paging(start_index, count)
        stmt = (
            select(DirectoryWatchRow)
            .order_by(DirectoryWatchRow.id)
            .offset(start_index)
            .limit(count)
        )
        with self._db.read() as session:
            return [_watch(row) for row in session.scalars(stmt)]

    def get(self, watch_id: int) -> WatchedDirectory:
        """Raises NotFound."""
        with self._db.read() as session:
            row = session.get(DirectoryWatchRow, watch_id)
        if row is None:
            raise NotFound(f"Directory watch not found: {watch_id}")
        return _watch(row)

    def create(self, name: str, path: str) -> WatchedDirectory:
        """Watch a server-local folder; the worker starts importing within a second or two.

        The same path under the same name returns the existing watch. The stored path is
        the absolute, resolved one.

        Raises:
            InvalidInput: an empty name; a path that is relative, not a directory, the root,
                equal to / inside / containing another watch's (or slicebox's own data), or
                already watched under another name.
        """
        name = name.strip() if isinstance(name, str) else ""
        if not name or len(name) > NAME_MAX:
            raise InvalidInput(f"A directory watch needs a name of 1..{NAME_MAX} characters")
        resolved = paths.normalize(path)
        with self._db.read() as session:
            rows = builtins.list(session.scalars(select(DirectoryWatchRow)))
        for row in rows:
            if Path(row.path) == resolved:
                if row.name == name:
                    return _watch(row)
                raise InvalidInput(
                    f"Directory {resolved} is already watched under the name {row.name}"
                )
        paths.check_new_watch(
            resolved,
            is_dir=resolved.is_dir(),
            others=[(row.name, Path(row.path)) for row in rows],
            protected=self._protected,
        )
        try:
            with self._db.write() as session:
                added = DirectoryWatchRow(name=name, path=str(resolved))
                session.add(added)
                session.flush()
                watch = _watch(added)
        except IntegrityError:  # created concurrently
            return self.create(name, path)
        self.log.info(SUBJECT, f"Directory watch {watch.name} (id {watch.id}) added: {watch.path}")
        self._events.publish(SourceAdded(self.source(watch)))
        return watch

    def delete(self, watch_id: int) -> None:
        """Stop watching (within a second or two); files are untouched. Unknown id: no-op."""
        with self._db.write() as session:
            result = session.execute(
                delete(DirectoryWatchRow).where(DirectoryWatchRow.id == watch_id)
            )
            deleted = bool(result.rowcount)  # type: ignore[attr-defined]
        if deleted:
            self.log.info(SUBJECT, f"Directory watch {watch_id} removed")
            self._events.publish(SourceDeleted(SourceType.DIRECTORY, watch_id))

    @staticmethod
    def source(watch: WatchedDirectory) -> Source:
        return Source(SourceType.DIRECTORY, watch.name, watch.id)

    def sources(self) -> builtins.list[Source]:
        """Every watch as an image source (a ``SystemService.source_providers`` entry)."""
        return [self.source(w) for w in self.list(count=2**31)]

    # leases (used by the runner) -----------------------------------------------------------
    def leases(self) -> builtins.list[tuple[int, str | None, int | None]]:
        """(id, claimed_by, lease_until) of every watch (a cheap read, every tick)."""
        with self._db.read() as session:
            return [
                (i, c, u)
                for i, c, u in session.execute(
                    select(
                        DirectoryWatchRow.id,
                        DirectoryWatchRow.claimed_by,
                        DirectoryWatchRow.lease_until,
                    )
                )
            ]

    def claim(self, owner: str, lease_s: float) -> builtins.list[WatchedDirectory]:
        """Renew ``owner``'s watches and take free or expired ones; returns all it holds."""
        now = now_ms()
        t: Table = DirectoryWatchRow.__table__  # type: ignore[assignment]
        stmt = (
            update(t)
            .where(or_(t.c.claimed_by == owner, t.c.claimed_by.is_(None), t.c.lease_until < now))
            .values(claimed_by=owner, lease_until=now + int(lease_s * 1000))
            .returning(t.c.id, t.c.name, t.c.path)
        )

        def write(session: Session) -> builtins.list[WatchedDirectory]:
            return [WatchedDirectory(i, n, p) for i, n, p in session.execute(stmt)]

        result: builtins.list[WatchedDirectory] = self._db.run_write(write)
        return sorted(result, key=lambda w: w.id)

    def release(self, owner: str) -> None:
        """Give up ``owner``'s watches (on stop) so another worker takes them at once."""
        with self._db.write() as session:
            session.execute(
                update(DirectoryWatchRow)
                .where(DirectoryWatchRow.claimed_by == owner)
                .values(claimed_by=None, lease_until=None)
            )

    def runner(self, *, owner: str) -> WatchRunner:
        """The listener that runs the watches in the worker process."""
        from .runner import WatchRunner

        return WatchRunner(self, owner=owner, options=self.options)
