"""Image operations over storage and index (spec §3.3, §5.1, §5.3, §5.18)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from ..config import Config
from ..db.engine import Database
from ..events import EventBus
from ..models.dicom import ImageAttribute, ImageInformation, TagMapping
from ..models.index import Image, IngestResult, Source
from ..storage.base import Storage

DicomInput = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO


class ImageService:
    def __init__(self, db: Database, storage: Storage, events: EventBus, config: Config) -> None:
        self._db = db
        self._storage = storage
        self._events = events
        self._config = config

    def add(
        self,
        data: DicomInput,
        *,
        source: Source | None = None,
        secondary_capture: bool = True,
    ) -> IngestResult:
        """Ingest one DICOM instance (spec §5.1).

        Args:
            data: bytes, a file path, or a binary stream (read in chunks, never whole).
            source: who sent it; default ``Source(USER, "", 0)``... (the library user).
            secondary_capture: accept the extended SOP class list (REST upload, box, JPEG);
                False = image-data classes only (SCP, directory watch, import sessions).

        Returns:
            The stored image and whether it replaced an existing instance (overwrite).

        Raises:
            InvalidDicom: not DICOM, truncated, missing identifiers, unsupported SOP class
                or transfer syntax. Nothing is stored.
            InsufficientStorage: storage full. Nothing is stored.
        """
        raise NotImplementedError

    def get(self, image_id: int) -> Image:
        """Raises NotFound."""
        raise NotImplementedError

    def open(self, image_id: int) -> BinaryIO:
        """The stored bytes as a stream (byte-identical to what was ingested). Raises NotFound."""
        raise NotImplementedError

    def size(self, image_id: int) -> int:
        """Stored size in bytes. Raises NotFound."""
        raise NotImplementedError

    def read_bytes(self, image_id: int) -> bytes:
        """The stored bytes (small files / tests). Raises NotFound."""
        raise NotImplementedError

    def delete(self, image_id: int) -> None:
        """Delete image, file and emptied series/study/patient (spec §5.3). Raises NotFound."""
        raise NotImplementedError

    def delete_many(self, image_ids: Iterable[int]) -> list[int]:
        """Bulk delete; unknown ids are ignored. Returns the ids actually deleted."""
        raise NotImplementedError

    def attributes(self, image_id: int) -> list[ImageAttribute]:
        """All attributes before Pixel Data, sequences flattened (spec §5.18.1)."""
        raise NotImplementedError

    def information(self, image_id: int) -> ImageInformation:
        """Frames, frame index and min/max pixel value (spec §5.18.2)."""
        raise NotImplementedError

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
        raise NotImplementedError

    def modify(self, image_id: int, mappings: list[TagMapping]) -> Image:
        """Insert/replace attributes; the result is a new image, the old one is deleted
        (spec §5.18.6). Raises NotFound, InvalidInput."""
        raise NotImplementedError

    def add_jpeg(
        self,
        jpeg: bytes | BinaryIO,
        *,
        study_id: int,
        description: str | None = None,
        source: Source | None = None,
    ) -> Image:
        """Wrap a JPEG as a Secondary Capture in a new series of the study (spec §5.18.5).

        Raises NotFound (study), InvalidInput (not a JPEG)."""
        raise NotImplementedError

    def iter_bytes(self, image_id: int, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream the stored bytes in chunks. Raises NotFound before the first chunk."""
        raise NotImplementedError
