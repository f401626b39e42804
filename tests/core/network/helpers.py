"""Test helpers: datasets in several transfer syntaxes, pixel digests, raw associations."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    RLELossless,
    generate_uid,
)

from slicebox_core import Slicebox
from tests.factories import make_dataset, to_bytes

SYNTAXES = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    RLELossless,
)


def mixed_datasets(
    count: int = 4, *, study_uid: str | None = None, **kwargs: object
) -> list[Dataset]:
    """``count`` instances of one series, cycling through :data:`SYNTAXES` (RLE compressed)."""
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    out = []
    for i in range(count):
        ts = SYNTAXES[i % len(SYNTAXES)]
        ds = make_dataset(
            study_uid=study_uid,
            series_uid=series_uid,
            transfer_syntax=ExplicitVRLittleEndian if ts == RLELossless else ts,
            pixel_seed=i,
            rows=32,
            columns=32,
            InstanceNumber=i + 1,
            **kwargs,
        )
        if ts == RLELossless:
            ds.compress(RLELossless)
        out.append(ds)
    return out


def write_files(datasets: list[Dataset], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, ds in enumerate(datasets):
        path = folder / f"{i:04d}.dcm"
        path.write_bytes(to_bytes(ds))
        paths.append(path)
    return paths


def pixel_digest(data: bytes | Path | Dataset) -> tuple[str, str]:
    """(SOP Instance UID, SHA-256 of the decoded pixel array) of an instance."""
    if isinstance(data, Dataset):
        ds = data
    else:
        ds = dcmread(io.BytesIO(data) if isinstance(data, bytes) else data)
    return str(ds.SOPInstanceUID), hashlib.sha256(ds.pixel_array.tobytes()).hexdigest()


def stored_digests(sb: Slicebox) -> dict[str, str]:
    """Pixel digests of every stored image, by SOP Instance UID."""
    from sqlalchemy import select

    from slicebox_core.db.tables import ImageRow

    with sb.db.read() as session:
        ids = list(session.scalars(select(ImageRow.id)))
    return dict(pixel_digest(sb.images.read_bytes(i)) for i in ids)


def image_count(sb: Slicebox) -> int:
    from sqlalchemy import func, select

    from slicebox_core.db.tables import ImageRow

    with sb.db.read() as session:
        return int(session.scalar(select(func.count(ImageRow.id))) or 0)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
