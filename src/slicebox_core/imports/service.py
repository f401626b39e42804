"""Import sessions: named uploads with counters (spec §3.15, §5.10).

The counters and the session-image link are written by :meth:`ImportService.record`, an
``ImageService.in_transaction`` hook, inside the ingest's own transaction: an image and its
being counted commit together. Rejections are counted in a transaction of their own.
"""

from __future__ import annotations

import builtins
import copy
import logging
import time

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.tables import ImageRow, ImportSessionImageRow, ImportSessionRow
from ..db.upsert import insert_ignore
from ..errors import InvalidInput, NotFound, SliceboxError
from ..events import EventBus, SourceAdded, SourceDeleted
from ..images.service import DicomInput, ImageService
from ..index.query import check_paging
from ..index.rows import image_from_row
from ..log.service import LogService
from ..models.imports import ImportSession
from ..models.index import Image, IngestResult, Source, SourceType

log = logging.getLogger(__name__)

NAME_MAX = 180
SUBJECT = "Import"


def now_ms() -> int:
    return int(time.time() * 1000)


def _session(row: ImportSessionRow) -> ImportSession:
    return ImportSession(
        id=row.id,
        name=row.name,
        user_id=row.userid,
        user=row.user,
        files_imported=row.filesimported,
        files_added=row.filesadded,
        files_rejected=row.filesrejected,
        created=row.created,
        last_updated=row.lastupdated,
    )


def _prefixed(exc: SliceboxError, prefix: str) -> SliceboxError:
    """The same exception with ``prefix: `` before its message (spec §3.15 error body)."""
    new = copy.copy(exc)
    new.message = f"{prefix}: {exc.message}"
    new.args = (new.message,)
    return new


class ImportService:
    """Create import sessions and upload into them.

    Args:
        db: the index.
        images: the ingest pipeline.
        log: where rejections are logged (subject ``Import``).
        events: ``SourceAdded``/``SourceDeleted`` are published on it.
    """

    def __init__(
        self, db: Database, images: ImageService, log: LogService, events: EventBus
    ) -> None:
        self._db = db
        self._images = images
        self._log = log
        self._events = events

    # sessions -----------------------------------------------------------------------------------
    def list(self, *, start_index: int = 0, count: int = 20) -> builtins.list[ImportSession]:
        """Every user's sessions by id, paged. Raises InvalidInput for negative paging."""
        check_paging(start_index, count)
        stmt = (
            select(ImportSessionRow).order_by(ImportSessionRow.id).offset(start_index).limit(count)
        )
        with self._db.read() as session:
            return [_session(row) for row in session.scalars(stmt)]

    def get(self, session_id: int) -> ImportSession:
        """Raises NotFound."""
        with self._db.read() as session:
            row = session.get(ImportSessionRow, session_id)
        if row is None:
            raise NotFound(f"Import session not found: {session_id}")
        return _session(row)

    def create(self, name: str, *, user_id: int, user: str) -> ImportSession:
        """Create a session owned by ``user`` (counters zero, created = last updated = now).

        The same name owned by the same user returns the existing session.

        Raises:
            InvalidInput: an empty or too long name, or the name belongs to another user.
        """
        name = name.strip() if isinstance(name, str) else ""
        if not name or len(name) > NAME_MAX:
            raise InvalidInput(f"An import session needs a name of 1..{NAME_MAX} characters")
        now = now_ms()
        with self._db.write() as session:
            new_id = insert_ignore(
                session,
                ImportSessionRow.__table__,  # type: ignore[arg-type]
                {
                    "name": name,
                    "userid": user_id,
                    "user": user,
                    "filesimported": 0,
                    "filesadded": 0,
                    "filesrejected": 0,
                    "created": now,
                    "lastupdated": now,
                },
                ["name"],
            )
            row = session.scalars(
                select(ImportSessionRow).where(ImportSessionRow.name == name)
            ).one()
            created = _session(row)
        if new_id is None:
            if created.user_id != user_id:
                raise InvalidInput(f"An import session named {name!r} belongs to another user")
            return created
        self._log.info(SUBJECT, f"Import session {created.id} created by user {user_id}")
        self._events.publish(SourceAdded(self._source(created)))
        return created

    def delete(self, session_id: int) -> None:
        """Delete a session; its images stay. An unknown id does nothing."""
        with self._db.write() as session:
            result = session.execute(
                delete(ImportSessionRow).where(ImportSessionRow.id == session_id)
            )
            deleted = bool(result.rowcount)  # type: ignore[attr-defined]
        if deleted:
            self._log.info(SUBJECT, f"Import session {session_id} deleted")
            self._events.publish(SourceDeleted(SourceType.IMPORT, session_id))

    def sources(self) -> builtins.list[Source]:
        """Every session as an image source (a ``SystemService.source_providers`` entry)."""
        with self._db.read() as session:
            rows = session.execute(
                select(ImportSessionRow.id, ImportSessionRow.name).order_by(ImportSessionRow.id)
            ).all()
        return [Source(SourceType.IMPORT, name, sid) for sid, name in rows]

    @staticmethod
    def _source(s: ImportSession) -> Source:
        return Source(SourceType.IMPORT, s.name, s.id)

    # uploading ---------------------------------------------------------------------------------
    def add(
        self, session_id: int, data: DicomInput, *, filename: str | None = None
    ) -> IngestResult:
        """Ingest one file into a session (image-data SOP classes only; spec §5.10).

        New image: imported and added +1; an existing one (overwrite): imported +1. The
        session-image link is created if missing. A rejection counts as rejected +1 and is
        logged (subject ``Import``).

        Args:
            session_id: the session.
            data: bytes, a path or a binary stream.
            filename: the uploaded file's name, for the log and error messages.

        Raises:
            NotFound: unknown session.
            InvalidDicom: not DICOM, Secondary Capture, ... (the message starts with
                ``filename:`` when one was given).
        """
        target = self.get(session_id)
        try:
            return self._images.add(data, source=self._source(target), secondary_capture=False)
        except Exception as exc:
            self._count_rejection(session_id)
            reason = exc.message if isinstance(exc, SliceboxError) else type(exc).__name__
            what = filename or "upload"
            self._log.error(SUBJECT, f"Import session {session_id}: {what}: {reason}")
            if isinstance(exc, SliceboxError) and filename:
                raise _prefixed(exc, filename) from exc
            raise

    def _count_rejection(self, session_id: int) -> None:
        def write(session: Session) -> None:
            session.execute(
                update(ImportSessionRow)
                .where(ImportSessionRow.id == session_id)
                .values(filesrejected=ImportSessionRow.filesrejected + 1, lastupdated=now_ms())
            )

        self._db.run_write(write)

    def record(self, session: Session, result: IngestResult, source: Source) -> None:
        """``ImageService.in_transaction`` hook: count an image ingested from a session."""
        if source.source_type != SourceType.IMPORT:
            return
        updated = session.execute(
            update(ImportSessionRow)
            .where(ImportSessionRow.id == source.source_id)
            .values(
                filesimported=ImportSessionRow.filesimported + 1,
                filesadded=ImportSessionRow.filesadded + (0 if result.overwrite else 1),
                lastupdated=now_ms(),
            )
        )
        if updated.rowcount:  # type: ignore[attr-defined]
            insert_ignore(
                session,
                ImportSessionImageRow.__table__,  # type: ignore[arg-type]
                {"importsessionid": source.source_id, "imageid": result.image.id},
                ["importsessionid", "imageid"],
                returning=False,
            )

    def images(self, session_id: int) -> builtins.list[Image]:
        """The session's images that still exist, by id ([] for an unknown session)."""
        stmt = (
            select(ImageRow)
            .join(ImportSessionImageRow, ImportSessionImageRow.imageid == ImageRow.id)
            .where(ImportSessionImageRow.importsessionid == session_id)
            .order_by(ImageRow.id)
        )
        with self._db.read() as session:
            return [image_from_row(row) for row in session.scalars(stmt)]
