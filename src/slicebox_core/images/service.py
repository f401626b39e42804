"""Image operations over storage and index (spec §3.3, §5.1, §5.3, §5.18)."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..config import Config
from ..db.engine import Database
from ..db.tables import ImageRow, PatientRow, SeriesSeriesTagRow, SeriesSourceRow, StudyRow
from ..dicom.parse import Header, read_header
from ..errors import InvalidInput, NotFound
from ..events import EventBus, ImageAdded, ImagesDeleted
from ..index.rows import image_from_row
from ..models.dicom import ImageAttribute, ImageInformation, TagMapping
from ..models.index import Image, IngestResult, Source, SourceType
from ..storage.base import Storage
from .delete import delete_images
from .ingest import InTransaction, Preprocessor, index_and_store
from .spool import Spooled, hash_file, spool

log = logging.getLogger(__name__)

DicomInput = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO

LIBRARY_SOURCE = Source(SourceType.USER, "library", 0)


def _flagged_anonymous(header: Header) -> bool:
    return str(header.dataset.get("PatientIdentityRemoved", "")).strip().upper() == "YES"


def _rewrite(ds: Dataset, path: Path) -> None:
    """Write ``ds`` over ``path`` atomically (new file beside it, then rename)."""
    tmp = path.with_name(path.name + ".new")
    try:
        ds.save_as(tmp, enforce_file_format=True)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class ImageService:
    """Add, read, render, modify and delete stored instances."""

    def __init__(self, db: Database, storage: Storage, events: EventBus, config: Config) -> None:
        self._db = db
        self._storage = storage
        self._events = events
        self._config = config
        self._image_classes = frozenset(config.dicom.image_data_sop_classes)
        self._extended_classes = self._image_classes | frozenset(
            config.dicom.secondary_capture_sop_classes
        )
        self._transfer_syntaxes = frozenset(config.dicom.transfer_syntaxes)
        self.preprocessors: list[Preprocessor] = []
        # set by the facade: restores real identities in anonymous data (spec §5.1 step 5)
        self.reverser: Callable[[Dataset], bool] | None = None
        # Called inside the ingest's write transaction, after the index rows: work rows that
        # must commit (or roll back) together with the image (outbox, session counters).
        self.in_transaction: list[InTransaction] = []

    # ingest ----------------------------------------------------------------------------------
    def add(
        self,
        data: DicomInput,
        *,
        source: Source | None = None,
        secondary_capture: bool = True,
        max_bytes: int | None = None,
        reverse_anonymization: bool = True,
    ) -> IngestResult:
        """Ingest one DICOM instance (spec §5.1).

        Args:
            data: bytes, a file path, or a binary stream (read in chunks, never whole).
            source: who sent it; default: the library user (``user``, id 0).
            secondary_capture: accept the extended SOP class list (REST upload, box, JPEG);
                False = image-data classes only (SCP, directory watch, import sessions).
            max_bytes: refuse more than this many bytes (default: the configured upload
                limit; 0 = no limit).
            reverse_anonymization: restore real identities when the data is flagged
                anonymous and its key is known (off only for in-place anonymization).

        Returns:
            The stored image and whether it replaced an existing instance (overwrite).

        Raises:
            InvalidDicom: not DICOM, truncated, missing identifiers, unsupported SOP class
                or transfer syntax. Nothing is stored.
            PayloadTooLarge: over the size limit. Nothing is stored.
            InsufficientStorage: storage full. Nothing is stored.
        """
        limit = self._config.server.max_upload_bytes if max_bytes is None else max_bytes
        spooled = spool(data, self._storage.spool_dir, max_bytes=limit)
        try:
            return self._ingest_spooled(
                spooled,
                source or LIBRARY_SOURCE,
                secondary_capture=secondary_capture,
                reverse_anonymization=reverse_anonymization,
            )
        finally:
            spooled.path.unlink(missing_ok=True)

    def _ingest_spooled(
        self,
        spooled: Spooled,
        source: Source,
        *,
        secondary_capture: bool,
        reverse_anonymization: bool = True,
    ) -> IngestResult:
        classes = self._extended_classes if secondary_capture else self._image_classes
        header = read_header(
            spooled.path, sop_classes=classes, transfer_syntaxes=self._transfer_syntaxes
        )
        for preprocess in self.preprocessors:
            changed = preprocess(spooled.path, header, source)
            if changed is not None:  # the file was rewritten in place
                header = changed
                size, digest = hash_file(spooled.path)
                spooled = Spooled(spooled.path, size, digest)
        if (
            reverse_anonymization
            and self.reverser is not None
            and _flagged_anonymous(header)
            # look the key up on the header first: most anonymous data (box receipts) has
            # no key here, and reading the whole file for nothing is the expensive part
            and self.reverser(header.dataset)
        ):
            ds = dcmread(spooled.path)
            if self.reverser(ds):
                _rewrite(ds, spooled.path)
                header = read_header(
                    spooled.path, sop_classes=classes, transfer_syntaxes=self._transfer_syntaxes
                )
                size, digest = hash_file(spooled.path)
                spooled = Spooled(spooled.path, size, digest)
        stored: list[str] = []

        def write(session: Session) -> tuple[IngestResult, str | None]:
            stored.clear()
            result, replaced = index_and_store(
                session,
                self._storage,
                spooled,
                header,
                source,
                stored,
            )
            for hook in self.in_transaction:
                hook(session, result, source)
            return result, replaced

        try:
            result, replaced = self._db.run_write(write)
        except BaseException:
            for key in stored:
                self._storage.delete(key)
            raise
        self._storage.sync()
        if replaced:
            self._storage.delete(replaced)
        self._events.publish(ImageAdded(result.image.id, source, result.overwrite))
        return result

    def add_dataset(
        self,
        ds: Dataset,
        *,
        source: Source | None = None,
        secondary_capture: bool = True,
        reverse_anonymization: bool = True,
    ) -> IngestResult:
        """Ingest a pydicom dataset (written with its file meta first)."""
        buf = io.BytesIO()
        try:
            ds.save_as(buf, enforce_file_format=True)
        except Exception as exc:
            raise InvalidInput(f"cannot write the dataset: {exc}") from None
        buf.seek(0)
        return self.add(
            buf,
            source=source,
            secondary_capture=secondary_capture,
            max_bytes=0,
            reverse_anonymization=reverse_anonymization,
        )

    # reading ---------------------------------------------------------------------------------
    def _row(self, image_id: int) -> ImageRow:
        with self._db.read() as session:
            row = session.get(ImageRow, image_id)
        if row is None:
            raise NotFound(f"Image not found: {image_id}")
        return row

    def get(self, image_id: int) -> Image:
        """Raises NotFound."""
        return image_from_row(self._row(image_id))

    def storage_key(self, image_id: int) -> str:
        return self._row(image_id).storageKey

    def sha256(self, image_id: int) -> str:
        """SHA-256 (hex) of the stored bytes, recorded at ingest."""
        return self._row(image_id).sha256

    def open(self, image_id: int) -> BinaryIO:
        """The stored bytes as a stream (byte-identical to what was ingested). Raises NotFound."""
        return self._storage.open(self.storage_key(image_id))

    def size(self, image_id: int) -> int:
        """Stored size in bytes. Raises NotFound."""
        return self._storage.size(self.storage_key(image_id))

    def read_bytes(self, image_id: int) -> bytes:
        """The stored bytes (small files / tests). Raises NotFound."""
        with self.open(image_id) as f:
            return f.read()

    def iter_bytes(self, image_id: int, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream the stored bytes in chunks. Raises NotFound before the first chunk."""
        stream = self.open(image_id)

        def chunks() -> Iterator[bytes]:
            with stream:
                while chunk := stream.read(chunk_size):
                    yield chunk

        return chunks()

    def local_file(self, image_id: int) -> tuple[Path, bool]:
        """A local path to the file: (path, is_temporary). Temporary copies must be removed."""
        key = self.storage_key(image_id)
        path = self._storage.local_path(key)
        if path is not None:
            if not path.exists():
                raise NotFound(f"File not found: {image_id}")
            return path, False
        spooled = spool(self._storage.open(key), self._storage.spool_dir)
        return spooled.path, True

    def dataset(self, image_id: int, *, stop_before_pixels: bool = False) -> Dataset:
        """The stored instance parsed by pydicom. Raises NotFound."""
        path, temporary = self.local_file(image_id)
        try:
            return dcmread(path, stop_before_pixels=stop_before_pixels)
        finally:
            if temporary:
                path.unlink(missing_ok=True)

    # deleting --------------------------------------------------------------------------------
    def delete(self, image_id: int) -> None:
        """Delete image, file and emptied series/study/patient (spec §5.3). Raises NotFound."""
        if not self.delete_many([image_id]):
            raise NotFound(f"Image not found: {image_id}")

    def delete_many(self, image_ids: Iterable[int]) -> list[int]:
        """Bulk delete; unknown ids are ignored. Returns the ids actually deleted."""
        ids = list(dict.fromkeys(int(i) for i in image_ids))
        if not ids:
            return []
        with self._db.write() as session:
            keys, deleted = delete_images(session, ids)
        for key in keys:
            try:
                self._storage.delete(key)
            except OSError:
                log.exception("could not delete stored file %s", key)
        if deleted.image_ids:
            self._events.publish(deleted)
            self._events.publish(ImagesDeleted(deleted.image_ids))
        return list(deleted.image_ids)

    # image-level operations -------------------------------------------------------------------
    def attributes(self, image_id: int) -> list[ImageAttribute]:
        """All attributes before Pixel Data, sequences flattened (spec §5.18.1)."""
        from ..dicom.attributes import list_attributes

        path, temporary = self.local_file(image_id)
        try:
            return list_attributes(path)
        finally:
            if temporary:
                path.unlink(missing_ok=True)

    def information(self, image_id: int) -> ImageInformation:
        """Frames, frame index and min/max pixel value (spec §5.18.2)."""
        from ..dicom.information import image_information

        return image_information(self.dataset(image_id, stop_before_pixels=True))

    def png(
        self,
        image_id: int,
        *,
        frame: int = 1,
        window_min: int = 0,
        window_max: int = 0,
        height: int = 0,
    ) -> bytes:
        """Render one frame as PNG (spec §5.18.3). Raises NotFound, NotRenderable."""
        from ..dicom.render import render_png

        path, temporary = self.local_file(image_id)
        try:
            return render_png(
                path, frame=frame, window_min=window_min, window_max=window_max, height=height
            )
        finally:
            if temporary:
                path.unlink(missing_ok=True)

    def series_source(self, series_id: int) -> Source | None:
        with self._db.read() as session:
            row = session.get(SeriesSourceRow, series_id)
        if row is None:
            return None
        return Source(SourceType(row.sourcetype), row.sourcename, row.sourceid)

    def replace(
        self,
        image_id: int,
        data: Dataset | DicomInput,
        *,
        reverse_anonymization: bool = True,
        delete_original: bool = True,
    ) -> Image:
        """Store ``data`` as the new version of ``image_id``: same series source, the series'
        tags carried over; the old image is deleted unless the new one took its place.

        Args:
            image_id: the image to replace.
            data: the new instance: a dataset, or encoded file bytes/path/stream.
            reverse_anonymization: as for :meth:`add`; in-place anonymization turns it off,
                or the key it has just recorded would restore the real identities.
            delete_original: False leaves deleting ``image_id`` to the caller (bulk
                operations delete all originals at once, with one transaction and event).

        Raises:
            NotFound: unknown image.
            InvalidDicom: ``data`` cannot be stored (the old image is kept).
        """
        old = self.get(image_id)
        source = self.series_source(old.series_id) or Source(SourceType.UNKNOWN, "unknown", -1)
        with self._db.read() as session:
            tag_ids = list(
                session.scalars(
                    select(SeriesSeriesTagRow.seriestagid).where(
                        SeriesSeriesTagRow.seriesid == old.series_id
                    )
                )
            )
        if isinstance(data, Dataset):
            result = self.add_dataset(
                data, source=source, reverse_anonymization=reverse_anonymization
            )
        else:
            result = self.add(
                data, source=source, max_bytes=0, reverse_anonymization=reverse_anonymization
            )
        new = result.image
        if new.series_id != old.series_id and tag_ids:
            with self._db.write() as session:
                session.execute(
                    delete(SeriesSeriesTagRow).where(
                        SeriesSeriesTagRow.seriesid == new.series_id,
                        SeriesSeriesTagRow.seriestagid.in_(tag_ids),
                    )
                )
                session.execute(
                    insert(SeriesSeriesTagRow),
                    [{"seriesid": new.series_id, "seriestagid": t} for t in tag_ids],
                )
        if delete_original and new.id != image_id:
            self.delete_many([image_id])
        return new

    def modify(self, image_id: int, mappings: list[TagMapping]) -> Image:
        """Insert/replace attributes (spec §5.18.6).

        The result is stored as a new version; when the identifying UIDs changed it is a new
        image and the old one is deleted. Unlike the original, an edit that keeps the
        identifiers keeps the image id (the original deleted first and re-added, which could
        lose the image if the second step failed).

        Raises:
            NotFound: unknown image.
            InvalidInput: a mapping that cannot be applied (bad path, value or VR).
        """
        from ..dicom.modify import apply_tag_mappings

        ds = self.dataset(image_id)
        apply_tag_mappings(ds, mappings)
        return self.replace(image_id, ds)

    def add_jpeg(
        self,
        jpeg: bytes | BinaryIO,
        *,
        study_id: int,
        description: str | None = None,
        source: Source | None = None,
    ) -> Image:
        """Wrap a JPEG as a Secondary Capture in a new series of the study (spec §5.18.5).

        Raises:
            NotFound: unknown study (or its patient).
            InvalidInput: not a JPEG.
        """
        from ..dicom.jpeg import secondary_capture_from_jpeg
        from ..index.rows import patient_from_row, study_from_row

        data = jpeg if isinstance(jpeg, bytes) else jpeg.read()
        with self._db.read() as session:
            study = session.get(StudyRow, study_id)
            patient = session.get(PatientRow, study.patientId) if study else None
        if study is None or patient is None:
            raise NotFound(f"Study not found: {study_id}")
        ds = secondary_capture_from_jpeg(
            data,
            patient=patient_from_row(patient),
            study=study_from_row(study),
            description=description,
        )
        return self.add_dataset(ds, source=source).image

    # consistency -----------------------------------------------------------------------------
    def check(self) -> tuple[list[str], list[int]]:
        """Compare storage with the index: (orphan keys, image ids whose file is missing)."""
        with self._db.read() as session:
            rows = session.execute(select(ImageRow.id, ImageRow.storageKey)).all()
        wanted = {key: image_id for image_id, key in rows}
        present = set(self._storage.keys())
        orphans = sorted(k for k in present if k not in wanted)
        missing = sorted(image_id for key, image_id in wanted.items() if key not in present)
        return orphans, missing

    def sweep_orphans(self, *, min_age_s: float = 3600.0) -> list[str]:
        """Delete stored files no image row points to, and stale temporary files.

        Only files older than ``min_age_s`` are touched (by modification time where the
        backend has local files), so uploads in flight in other processes, which move their
        file into place just before they commit, are never swept.
        """
        cutoff = time.time() - min_age_s
        orphans, _ = self.check()
        swept = []
        for key in orphans:
            path = self._storage.local_path(key)
            if path is not None and path.exists() and path.stat().st_mtime > cutoff:
                continue
            self._storage.delete(key)
            swept.append(key)
        for leftover in self._storage.spool_dir.glob("tmp-*"):
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime <= cutoff:
                    leftover.unlink()
        return swept
