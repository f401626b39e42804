"""The service around the engine: files, folders, pass-through, and key/bytes atomicity."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread

from slicebox_core.anonymize import AnonymizationProfile, AnonymizationService
from slicebox_core.anonymize import service as service_module
from slicebox_core.db.engine import Database
from slicebox_core.db.migrate import upgrade
from slicebox_core.errors import InvalidDicom, InvalidInput
from tests.factories import make_dataset, to_bytes

BASIC = AnonymizationProfile.basic()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[AnonymizationService]:
    db = Database(f"sqlite:///{tmp_path / 'index.sqlite'}")
    upgrade(db)
    try:
        yield AnonymizationService(db)
    finally:
        db.dispose()


def test_anonymize_file_writes_valid_dicom_and_records_the_key(
    service: AnonymizationService, tmp_path: Path
) -> None:
    source = tmp_path / "in.dcm"
    source.write_bytes(to_bytes(make_dataset(patient_name="Doe^John")))
    target = io.BytesIO()
    key = service.anonymize_file(source, target, BASIC, image_id=3)
    assert key is not None and key.image_id == 3
    out = dcmread(io.BytesIO(target.getvalue()))
    assert out.SOPInstanceUID == key.anon_sop_instance_uid
    assert out.PatientID == key.anon_patient_id
    assert b"Doe" not in target.getvalue()
    assert service.keys.list() == [key]


def test_already_anonymous_data_passes_through_unless_forced(service: AnonymizationService) -> None:
    data = to_bytes(make_dataset(PatientIdentityRemoved="YES", PatientName="Already^Anon"))
    assert service.anonymize_bytes(data, BASIC) == data
    assert service.keys.list() == []
    forced = dcmread(io.BytesIO(service.anonymize_bytes(data, BASIC, force=True)))
    assert "Already" not in str(forced.PatientName)
    assert len(service.keys.list()) == 1


def test_refusals_record_nothing(service: AnonymizationService) -> None:
    with pytest.raises(InvalidInput):
        service.anonymize_dataset(make_dataset(BurnedInAnnotation="YES"), BASIC)
    with pytest.raises(InvalidInput):
        service.anonymize_dataset(make_dataset(), ["CLEAN_PIXEL_DATA"])
    with pytest.raises(InvalidDicom):
        service.anonymize_bytes(b"not dicom at all", BASIC)
    assert service.keys.list() == []
    service.anonymize_dataset(make_dataset(BurnedInAnnotation="YES"), BASIC, allow_burned_in=True)
    assert len(service.keys.list()) == 1


def test_failing_to_encode_rolls_the_key_back(
    service: AnonymizationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ds: object, fp: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service_module, "_write", broken)
    with pytest.raises(RuntimeError):
        service.anonymize_bytes(to_bytes(make_dataset()), BASIC)
    with pytest.raises(RuntimeError):
        service.anonymize_dataset(make_dataset(), BASIC)
    assert service.keys.list() == []


def test_failing_to_deliver_removes_the_key(service: AnonymizationService) -> None:
    class Broken(io.BytesIO):
        def write(self, data: bytes) -> int:  # type: ignore[override]
            raise OSError("peer went away")

    with pytest.raises(OSError):
        service.anonymize_file(io.BytesIO(to_bytes(make_dataset())), Broken(), BASIC)
    assert service.keys.list() == []


def test_anonymize_folder(service: AnonymizationService, tmp_path: Path) -> None:
    source = tmp_path / "Doe John" / "CT"
    source.mkdir(parents=True)
    for n in range(3):
        (source / f"img{n}.dcm").write_bytes(to_bytes(make_dataset(patient_name="Doe^John")))
    (source / "notes.txt").write_text("not dicom")
    sc = source / "sc.dcm"
    sc.write_bytes(to_bytes(make_dataset(sop_class="1.2.840.10008.5.1.4.1.1.7")))
    target = tmp_path / "out"
    report = service.anonymize_folder(tmp_path / "Doe John", target, BASIC)
    assert len(report.written) == 3
    assert report.skipped == (source / "notes.txt",)
    assert report.refused == (sc,)
    files = sorted(target.iterdir())
    assert len(files) == 3
    for path in files:
        assert "Doe" not in path.name
        ds = dcmread(path)
        assert path.name == f"{ds.SOPInstanceUID}.dcm"
        assert b"Doe" not in path.read_bytes()
    assert len({dcmread(p).PatientID for p in files}) == 1
    assert len(service.keys.list()) == 3
    with pytest.raises(InvalidInput):
        service.anonymize_folder(source, target, ["CLEAN_DESCRIPTORS"])


def test_options_offered(service: AnonymizationService) -> None:
    names = [o.name for o in service.options()]
    assert "BASIC_PROFILE" not in names and "RETAIN_UIDS" in names


def test_anonymous_file_passes_through_byte_for_byte(service: AnonymizationService) -> None:
    data = to_bytes(make_dataset(PatientIdentityRemoved="YES"))
    target = io.BytesIO()
    assert service.anonymize_file(io.BytesIO(data), target, BASIC) is None
    assert target.getvalue() == data
    assert service.keys.list() == []
