"""Data sets for box transfers between live servers, and the checks of what arrived.

The checks open the receiving data directory in the test process (SQLite allows a reader
beside the server) and look at the stored files themselves: instance counts, pixel data
hashes, identities, and the sender's anonymization keys.
"""

from __future__ import annotations

import hashlib
import io
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs
import pydicom
from pydicom.uid import generate_uid
from sqlalchemy import select

from slicebox_core import Slicebox
from slicebox_core.db.tables import ImageRow
from slicebox_core.models.query import ListQuery
from tests.factories import dicom_bytes


@attrs.frozen
class Patient:
    name: str
    id: str
    birth_date: str


@attrs.frozen
class DataSet:
    """Files by series, and the identities they carry."""

    patients: tuple[Patient, ...]
    series: tuple[tuple[bytes, ...], ...]  # files of each series

    @property
    def files(self) -> list[bytes]:
        return [f for s in self.series for f in s]

    def pixel_hashes(self) -> Counter[str]:
        return Counter(pixel_hash(pydicom.dcmread(io.BytesIO(f))) for f in self.files)


def pixel_hash(ds: pydicom.Dataset) -> str:
    return hashlib.sha256(bytes(ds.PixelData)).hexdigest()


def make_set(
    prefix: str, *, patients: int = 3, series: int = 2, images: int = 6, size: int = 64
) -> DataSet:
    """``patients`` x one study x ``series`` x ``images``, every instance with its own pixels."""
    year = 1920 + zlib.crc32(prefix.encode()) % 60  # birth dates differ between sets
    people = tuple(
        Patient(f"{prefix}Family{p}^Given{p}", f"{prefix}-PID-{p}", f"{year + p}0{p % 9 + 1}17")
        for p in range(patients)
    )
    all_series = []
    seed = 0
    for person in people:
        study = generate_uid()
        for _ in range(series):
            series_uid = generate_uid()
            files = []
            for i in range(images):
                seed += 1
                files.append(
                    dicom_bytes(
                        patient_name=person.name,
                        patient_id=person.id,
                        PatientBirthDate=person.birth_date,
                        study_uid=study,
                        series_uid=series_uid,
                        InstanceNumber=i + 1,
                        rows=size,
                        columns=size,
                        pixel_seed=zlib.crc32(prefix.encode()) % 10_000 * 1000 + seed,
                    )
                )
            all_series.append(tuple(files))
    return DataSet(people, tuple(all_series))


def until(
    condition: Callable[[], bool], *, timeout_s: float = 45.0, what: str = "condition"
) -> None:
    """Wait for ``condition`` (polled every 0.1 s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if condition():
                return
        except Exception:  # a server restarting: ask again
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s} s")
        time.sleep(0.1)


def stored(data_dir: Path) -> list[tuple[int, bytes]]:
    """(image id, file bytes) of every image stored in ``data_dir``."""
    with Slicebox.open(data_dir) as sb:
        with sb.db.read() as session:
            ids = list(session.scalars(select(ImageRow.id).order_by(ImageRow.id)))
        return [(image_id, sb.images.read_bytes(image_id)) for image_id in ids]


def assert_received_anonymized(
    receiver_dir: Path, sender_dir: Path, sent: Sequence[DataSet], *, extra: int = 0
) -> None:
    """The receiver holds exactly the sent instances (``extra`` of its own besides), none
    carrying a sender identity, each one mapped back by a key of the sender; one pseudonym
    per real patient however many transactions carried it."""
    files = stored(receiver_dir)
    received = [pydicom.dcmread(io.BytesIO(data)) for _, data in files]
    expected = Counter[str]()
    for s in sent:
        expected.update(s.pixel_hashes())
    got = Counter(pixel_hash(ds) for ds in received)
    assert len(received) == sum(expected.values()) + extra
    assert got & expected == expected  # every sent instance once (pixel data compared)
    assert len({ds.SOPInstanceUID for ds in received}) == len(received)
    identities = [p for s in sent for p in s.patients]
    for _, data in files:
        for person in identities:
            for secret in (person.name, person.id, person.birth_date):
                assert secret.encode() not in data, secret
    with Slicebox.open(sender_dir) as sender:
        keys = sender.anonymization.keys.list(ListQuery(count=1_000_000))
    by_sop = {k.anon_sop_instance_uid: k for k in keys}
    real = {(p.name, p.id) for p in identities}
    pseudonyms: dict[tuple[str, str], set[str]] = {}
    for ds in received:
        if ds.SOPInstanceUID not in by_sop:
            continue  # one of the receiver's own
        key = by_sop[ds.SOPInstanceUID]
        assert (key.anon_patient_name, key.anon_patient_id) == (str(ds.PatientName), ds.PatientID)
        assert (key.patient_name, key.patient_id) in real
        pseudonyms.setdefault((key.patient_name, key.patient_id), set()).add(ds.PatientID)
    assert set(pseudonyms) == real
    assert all(len(p) == 1 for p in pseudonyms.values()), pseudonyms
