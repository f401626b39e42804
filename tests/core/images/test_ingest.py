"""Ingest through the real core (SQLite and PostgreSQL): storage, index, overwrite, rejection."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.uid import (
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from slicebox_core import InvalidDicom, InvalidInput, NotFound, PayloadTooLarge, Slicebox
from slicebox_core.models import Source, SourceType
from tests.factories import dicom_bytes, make_dataset, to_bytes


def stored_files(sb: Slicebox) -> list[str]:
    return sorted(sb.storage.keys())


def test_add_bytes_path_and_stream(sb: Slicebox, tmp_path: Path) -> None:
    data = dicom_bytes(patient_name="A", patient_id="1")
    path = tmp_path / "x.dcm"
    path.write_bytes(dicom_bytes(patient_name="B", patient_id="2"))
    r1 = sb.images.add(data)
    r2 = sb.images.add(path)
    r3 = sb.images.add(io.BytesIO(dicom_bytes(patient_name="C", patient_id="3")))
    assert not r1.overwrite and not r2.overwrite and not r3.overwrite
    assert r1.patient_added and r1.study_added and r1.series_added
    assert sb.images.read_bytes(r1.image.id) == data
    assert sb.images.read_bytes(r2.image.id) == path.read_bytes()
    assert [p.patient_name for p in sb.index.patients()] == ["A", "B", "C"]
    assert stored_files(sb) == sorted(str(r.image.id) for r in (r1, r2, r3))


def test_resend_overwrites_and_keeps_one_row(sb: Slicebox) -> None:
    ds = make_dataset()
    first = sb.images.add(to_bytes(ds))
    ds.InstanceNumber = 7
    second_bytes = to_bytes(ds)
    second = sb.images.add(second_bytes)
    assert second.overwrite and second.image.id == first.image.id
    assert second.image.instance_number == "7"
    assert sb.images.read_bytes(first.image.id) == second_bytes
    assert sb.index.counts()["images"] == 1
    assert len(stored_files(sb)) == 1  # the replaced file is gone


def test_changed_non_key_attributes_update_rows(sb: Slicebox) -> None:
    ds = make_dataset(PatientBirthDate="19800101")
    sb.images.add(to_bytes(ds))
    ds2 = make_dataset(
        study_uid=ds.StudyInstanceUID,
        series_uid=ds.SeriesInstanceUID,
        PatientBirthDate="19900101",
        Modality="MR",
    )
    result = sb.images.add(to_bytes(ds2))
    assert not result.patient_added and not result.study_added and not result.series_added
    [patient] = sb.index.patients()
    assert patient.patient_birth_date == "19900101"
    assert sb.index.counts() == {"patients": 1, "studies": 1, "series": 1, "images": 2}


def test_series_source_is_last_writer(sb: Slicebox) -> None:
    ds = make_dataset()
    r = sb.images.add(to_bytes(ds), source=Source(SourceType.USER, "alice", 5))
    assert sb.index.series_source(r.image.series_id) == Source(SourceType.USER, "alice", 5)
    sb.images.add(to_bytes(ds), source=Source(SourceType.BOX, "remote", 2))
    assert sb.index.series_source(r.image.series_id).source_type == SourceType.BOX


def test_secondary_capture_only_when_extended(sb: Slicebox) -> None:
    data = dicom_bytes(sop_class=SecondaryCaptureImageStorage)
    with pytest.raises(InvalidDicom, match="unsupported SOP class"):
        sb.images.add(data, secondary_capture=False)
    assert sb.images.add(data, secondary_capture=True).image.id > 0


def test_transfer_syntaxes(sb: Slicebox) -> None:
    for ts in (ImplicitVRLittleEndian, ExplicitVRBigEndian):
        assert sb.images.add(dicom_bytes(transfer_syntax=ts)).image.id > 0
    with pytest.raises(InvalidDicom, match="unsupported transfer syntax"):
        sb.images.add(BAD_INPUTS["unsupported-ts"])


def _cut_inside_sequence() -> bytes:
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    item = Dataset()
    item.CodeValue = "X" * 16
    item.CodeMeaning = "Y" * 40
    data = dicom_bytes(ProcedureCodeSequence=Sequence([item, item]))
    at = data.index(b"Y" * 40) + 10
    return data[:at]


def _length_past_end() -> bytes:
    data = bytearray(dicom_bytes(StudyDescription="ABCD"))
    at = data.index(b"ABCD")
    data[at - 2 : at] = (60000).to_bytes(2, "little")  # StudyDescription length -> past EOF
    return bytes(data)


def _without(keyword: str) -> bytes:
    ds = make_dataset()
    delattr(ds, keyword)
    return to_bytes(ds)


BAD_INPUTS = {
    "non-dicom": b"this is not DICOM at all" * 20,
    "empty": b"",
    "truncated": dicom_bytes()[:-100],
    "truncated-header": dicom_bytes()[:200],
    "cut-inside-sequence": _cut_inside_sequence(),
    "length-past-end": _length_past_end(),
    "no-sop-instance-uid": _without("SOPInstanceUID"),
    "no-study-uid": _without("StudyInstanceUID"),
    "no-series-uid": _without("SeriesInstanceUID"),
    "no-patient-id": _without("PatientID"),
    "unsupported-sop": dicom_bytes(sop_class="1.2.840.10008.5.1.4.1.1.88.11"),  # SR
    # an unknown transfer syntax UID of the same length, patched into the file meta
    "unsupported-ts": dicom_bytes().replace(b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.1.2.7\x00"),
    "no-file-meta": dicom_bytes()[132 + 200 :],
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_rejected_and_stores_nothing(sb: Slicebox, name: str) -> None:
    keep = sb.images.add(dicom_bytes(patient_name="Keep"))
    before = (sb.index.counts(), stored_files(sb))
    with pytest.raises(InvalidDicom):
        sb.images.add(BAD_INPUTS[name])
    assert (sb.index.counts(), stored_files(sb)) == before
    assert not list(sb.storage.spool_dir.iterdir())
    assert sb.images.read_bytes(keep.image.id)  # what was stored is intact


def test_size_limit(sb_sqlite: Slicebox) -> None:
    with pytest.raises(PayloadTooLarge):
        sb_sqlite.images.add(dicom_bytes(), max_bytes=100)
    assert sb_sqlite.index.counts()["images"] == 0
    assert not list(sb_sqlite.storage.spool_dir.iterdir())


def test_unreadable_inputs(sb_sqlite: Slicebox, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        sb_sqlite.images.add(tmp_path / "missing.dcm")
    with pytest.raises(InvalidInput):
        sb_sqlite.images.add(12345)  # type: ignore[arg-type]


def test_failure_inside_transaction_leaves_no_file(sb: Slicebox) -> None:
    """A failing step after the file was moved into place removes it again."""

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("index write failed")

    import slicebox_core.images.ingest as ingest

    original = ingest.upsert
    ingest.upsert = boom  # type: ignore[assignment]
    try:
        with pytest.raises(RuntimeError):
            sb.images.add(dicom_bytes())
    finally:
        ingest.upsert = original  # type: ignore[assignment]
    assert sb.index.counts()["images"] == 0
    assert stored_files(sb) == []


def test_concurrent_uploads_of_the_same_instance_end_with_one_row(sb: Slicebox) -> None:
    data = dicom_bytes()
    errors: list[BaseException] = []
    results = []

    def upload() -> None:
        try:
            results.append(sb.images.add(data))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sb.index.counts() == {"patients": 1, "studies": 1, "series": 1, "images": 1}
    assert sum(not r.overwrite for r in results) == 1
    assert len({r.image.id for r in results}) == 1
    assert len(stored_files(sb)) == 1
    assert sb.images.read_bytes(results[0].image.id) == data


def test_concurrent_uploads_of_one_series(sb: Slicebox) -> None:
    study, series = generate_uid(), generate_uid()
    blobs = [dicom_bytes(study_uid=study, series_uid=series) for _ in range(12)]
    errors: list[BaseException] = []

    def upload(blob: bytes) -> None:
        try:
            sb.images.add(blob)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(b,)) for b in blobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sb.index.counts() == {"patients": 1, "studies": 1, "series": 1, "images": 12}


def test_delete_cascades_levels(sb: Slicebox) -> None:
    study = generate_uid()
    a = sb.images.add(dicom_bytes(study_uid=study)).image
    b = sb.images.add(dicom_bytes(study_uid=study)).image  # same study, another series
    sb.images.delete(a.id)
    assert sb.index.counts() == {"patients": 1, "studies": 1, "series": 1, "images": 1}
    with pytest.raises(NotFound):
        sb.images.get(a.id)
    assert sb.images.delete_many([b.id, 999999]) == [b.id]
    assert sb.index.counts() == {"patients": 0, "studies": 0, "series": 0, "images": 0}
    assert stored_files(sb) == []
    with pytest.raises(NotFound):
        sb.images.delete(b.id)
    assert sb.images.delete_many([]) == []


def test_check_and_sweep(sb_sqlite: Slicebox) -> None:
    r = sb_sqlite.images.add(dicom_bytes())
    orphan = Path(sb_sqlite.config.storage_path) / "999"
    orphan.write_bytes(b"x")
    os.utime(orphan, (0, 0))
    (Path(sb_sqlite.config.storage_path) / str(r.image.id)).unlink()
    assert sb_sqlite.images.check() == (["999"], [r.image.id])
    assert sb_sqlite.images.sweep_orphans() == ["999"]
    assert not orphan.exists()


def test_preprocessor_rewrites_file_before_indexing(sb_sqlite: Slicebox) -> None:
    from pydicom import dcmread

    from slicebox_core.dicom.parse import read_header

    def strip_comments(path: Path, header: object, source: Source) -> object:
        ds = dcmread(path)
        if "PatientComments" not in ds:
            return None
        del ds.PatientComments
        ds.save_as(path, enforce_file_format=True)
        return read_header(
            path,
            sop_classes={ds.file_meta.MediaStorageSOPClassUID},
            transfer_syntaxes={ds.file_meta.TransferSyntaxUID},
        )

    sb_sqlite.images.preprocessors.append(strip_comments)  # type: ignore[arg-type]
    r = sb_sqlite.images.add(dicom_bytes(PatientComments="secret"))
    assert "PatientComments" not in sb_sqlite.images.dataset(r.image.id)
    assert sb_sqlite.images.sha256(r.image.id)


@settings(
    max_examples=int(os.environ.get("SLICEBOX_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_mutations_only_raise_invalid_dicom(
    sb_sqlite: Slicebox, data: st.DataObject
) -> None:
    """Mutated and random byte streams: either stored intact, or InvalidDicom and nothing kept."""
    base = bytearray(BASE)
    kind = data.draw(st.sampled_from(["flip", "cut", "random", "splice"]))
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            base[data.draw(st.integers(0, len(base) - 1))] = data.draw(st.integers(0, 255))
    elif kind == "cut":
        base = base[: data.draw(st.integers(0, len(base)))]
    elif kind == "random":
        base = bytearray(data.draw(st.binary(max_size=600)))
    else:
        at = data.draw(st.integers(0, len(base)))
        base[at:at] = data.draw(st.binary(min_size=1, max_size=64))
    before = sb_sqlite.index.counts()["images"]
    try:
        result = sb_sqlite.images.add(bytes(base))
    except InvalidDicom:
        assert sb_sqlite.index.counts()["images"] == before
    else:
        assert sb_sqlite.images.read_bytes(result.image.id) == bytes(base)
    orphans, missing = sb_sqlite.images.check()
    assert orphans == [] and missing == []
    assert not list(sb_sqlite.storage.spool_dir.iterdir())


BASE = dicom_bytes(patient_name="Fuzz", StudyDescription="fuzz")
