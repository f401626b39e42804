"""Zip export sets (spec §3.3, §5.18.4).

Sets live in the index (not in process memory as in the original) so that any server
process can stream a set another one created; they expire after six hours.
"""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterable, Iterator

from sqlalchemy import delete, select

from ..db.engine import Database
from ..db.tables import ExportSetRow, ImageRow, PatientRow, SeriesRow, StudyRow
from ..errors import NotFound
from ..index.rows import patient_from_row, series_from_row, study_from_row
from ..index.service import IndexService
from ..storage.base import Storage

TTL_MS = 6 * 3600 * 1000
CHUNK = 1 << 20


class _Sink:
    """A write-only, unseekable file that hands what was written to a generator."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


class ExportService:
    def __init__(self, db: Database, storage: Storage, index: IndexService) -> None:
        self._db = db
        self._storage = storage
        self._index = index

    def create(self, image_ids: Iterable[int]) -> int | None:
        """Register an export set; None for an empty list. Kept 6 hours."""
        ids = list(dict.fromkeys(int(i) for i in image_ids))
        if not ids:
            return None
        now = int(time.time() * 1000)
        with self._db.write() as session:
            session.execute(delete(ExportSetRow).where(ExportSetRow.created < now - TTL_MS))
            row = ExportSetRow(created=now, imageids=json.dumps(ids))
            session.add(row)
            session.flush()
            return row.id

    def image_ids(self, export_id: int) -> list[int]:
        """Raises NotFound for an unknown or expired set."""
        cutoff = int(time.time() * 1000) - TTL_MS
        with self._db.read() as session:
            row = session.get(ExportSetRow, export_id)
        if row is None or row.created < cutoff:
            raise NotFound(f"Export set not found: {export_id}")
        return [int(i) for i in json.loads(row.imageids)]

    def iter_zip(self, export_id: int) -> Iterator[bytes]:
        """Stream the zip, one image at a time (entry names of spec §5.18.4).

        Raises NotFound for an unknown set before the first chunk. Images deleted since the
        set was made are left out (the original aborted the stream).
        """
        ids = self.image_ids(export_id)
        return self._zip(ids)

    def _entries(self, ids: list[int]) -> Iterator[tuple[str, str]]:
        from ..dicom.export import zip_entry_name

        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            with self._db.read() as session:
                rows = session.execute(
                    select(ImageRow.id, ImageRow.storageKey, SeriesRow, StudyRow, PatientRow)
                    .join(SeriesRow, SeriesRow.id == ImageRow.seriesId)
                    .join(StudyRow, StudyRow.id == SeriesRow.studyId)
                    .join(PatientRow, PatientRow.id == StudyRow.patientId)
                    .where(ImageRow.id.in_(batch))
                ).all()
            by_id = {r[0]: r for r in rows}
            for image_id in batch:
                row = by_id.get(image_id)
                if row is None:
                    continue
                name = zip_entry_name(
                    patient_from_row(row[4]),
                    study_from_row(row[3]),
                    series_from_row(row[2]),
                    image_id,
                )
                yield name, row[1]

    def _zip(self, ids: list[int]) -> Iterator[bytes]:
        sink = _Sink()
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as zf:  # type: ignore[call-overload]
            for name, key in self._entries(ids):
                try:
                    source = self._storage.open(key)
                except NotFound:
                    continue
                with source, zf.open(name, "w", force_zip64=True) as entry:
                    while chunk := source.read(CHUNK):
                        entry.write(chunk)
                        if sink.offset and len(sink.parts) > 0:
                            yield sink.take()
                yield sink.take()
        tail = sink.take()
        if tail:
            yield tail
