"""Tag filters on a real index: CRUD, associations, and filtering on ingest."""

from __future__ import annotations

import hashlib

import pytest

from slicebox_core import Slicebox
from slicebox_core.errors import InvalidDicom, InvalidInput, NotFound
from slicebox_core.events import SourceDeleted
from slicebox_core.models import Source, SourceType
from slicebox_core.models.filters import TagFilterType, TagTree

from ...factories import dicom_bytes, make_dataset, to_bytes

SCP = Source(SourceType.SCP, "scanner", 7)
BOX = Source(SourceType.BOX, "remote", 7)


def test_filters_crud(auto: Slicebox) -> None:
    tf = auto.tag_filters
    a = tf.create("strip", TagFilterType.BLACKLIST)
    b = tf.create("strip", "WHITELIST")  # duplicate names are allowed
    assert [f.tag_filter_type for f in tf.list()] == [
        TagFilterType.BLACKLIST,
        TagFilterType.WHITELIST,
    ]
    assert tf.list(start_index=1) == [b]
    assert tf.get(a.id) == a
    with pytest.raises(InvalidInput, match="WHITELIST or BLACKLIST"):
        tf.create("x", "GREYLIST")
    with pytest.raises(InvalidInput):
        tf.create("", TagFilterType.BLACKLIST)
    tf.delete(a.id)
    tf.delete(999)
    with pytest.raises(NotFound):
        tf.get(a.id)


def test_tag_paths(auto: Slicebox) -> None:
    tf = auto.tag_filters
    f = tf.create("f", TagFilterType.BLACKLIST)
    p1 = tf.add_tag_path(f.id, TagTree(name="PatientName"))
    p2 = tf.add_tag_path(f.id, TagTree(name="PatientName"))  # duplicates allowed
    nested = tf.add_tag_path(
        f.id,
        TagTree(
            name="ReferencedSOPClassUID", previous=TagTree(name="ReferencedImageSequence", item="*")
        ),
    )
    assert p1.tag_path == TagTree(0x00100010, "PatientName")
    assert nested.tag_path.previous == TagTree(0x00081140, "ReferencedImageSequence", "*")
    assert tf.tag_paths(f.id) == [p1, p2, nested]
    assert tf.tag_paths(f.id, start_index=1, count=1) == [p2]
    with pytest.raises(InvalidInput, match="unknown DICOM keyword 'Nope'"):
        tf.add_tag_path(f.id, TagTree(name="Nope"))
    with pytest.raises(NotFound):
        tf.add_tag_path(999, TagTree(name="PatientName"))
    tf.delete_tag_path(f.id, p2.id)
    assert tf.tag_paths(f.id) == [p1, nested]
    tf.delete(f.id)
    assert tf.tag_paths(f.id) == []


def test_associations_and_source_deleted(auto: Slicebox) -> None:
    tf = auto.tag_filters
    f = tf.create("f", TagFilterType.BLACKLIST)
    a = tf.associate(SCP, f.id)
    b = tf.associate(BOX, f.id)
    assert a.tag_filter_name == "f" and a.source_type == SourceType.SCP
    with pytest.raises(NotFound):
        tf.associate(SCP, 999)
    auto.events.publish(SourceDeleted(SourceType.SCP, 7))
    assert tf.associations() == [b]  # only that source's associations
    tf.delete_association(b.id)
    assert tf.associations() == []
    tf.associate(BOX, f.id)
    tf.delete(f.id)
    assert tf.associations() == []


def stored_dataset(sb: Slicebox, image_id: int):  # type: ignore[no-untyped-def]
    return sb.images.dataset(image_id)


def test_blacklist_applied_on_ingest_for_its_source_only(auto: Slicebox) -> None:
    tf = auto.tag_filters
    f = tf.create("no birth date", TagFilterType.BLACKLIST)
    tf.add_tag_path(f.id, TagTree(name="PatientBirthDate"))
    tf.add_tag_path(f.id, TagTree(name="SeriesDescription"))
    tf.associate(SCP, f.id)
    filtered = auto.images.add(dicom_bytes(), source=SCP).image
    ds = stored_dataset(auto, filtered.id)
    assert "PatientBirthDate" not in ds and "SeriesDescription" not in ds
    assert auto.index.get_patient(auto.index.patients()[0].id).patient_birth_date == ""
    assert ds.PixelData  # the rest, pixel data included, is intact
    assert auto.index.get_series(filtered.series_id).series_description == ""
    # the recorded digest is that of the stored (filtered) bytes
    assert (
        auto.images.sha256(filtered.id)
        == hashlib.sha256(auto.images.read_bytes(filtered.id)).hexdigest()
    )
    other = auto.images.add(dicom_bytes(patient_id="P2"), source=BOX).image
    assert "PatientBirthDate" in stored_dataset(auto, other.id)


def test_unchanged_data_is_stored_byte_identical(auto: Slicebox) -> None:
    f = auto.tag_filters.create("f", TagFilterType.BLACKLIST)
    auto.tag_filters.add_tag_path(f.id, TagTree(name="ReferencedImageSequence"))
    auto.tag_filters.associate(SCP, f.id)
    data = dicom_bytes()
    image = auto.images.add(data, source=SCP).image
    assert auto.images.read_bytes(image.id) == data


def test_whitelist_keeps_only_listed_and_must_keep_identifiers(auto: Slicebox) -> None:
    f = auto.tag_filters.create("minimal", TagFilterType.WHITELIST)
    keep = [
        "SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientID",
        "Modality", "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit",
        "PixelRepresentation", "SamplesPerPixel", "PhotometricInterpretation", "PixelData",
    ]  # fmt: skip
    for keyword in keep:
        auto.tag_filters.add_tag_path(f.id, TagTree(name=keyword))
    auto.tag_filters.associate(SCP, f.id)
    image = auto.images.add(dicom_bytes(), source=SCP).image
    ds = stored_dataset(auto, image.id)
    assert sorted(e.keyword for e in ds) == sorted(keep)
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID  # meta untouched

    strict = auto.tag_filters.create("too strict", TagFilterType.WHITELIST)
    auto.tag_filters.add_tag_path(strict.id, TagTree(name="PatientID"))
    auto.tag_filters.associate(BOX, strict.id)
    with pytest.raises(InvalidDicom, match="after the tag filters of the source: missing"):
        auto.images.add(dicom_bytes(patient_id="P3"), source=BOX)
    assert auto.index.counts()["images"] == 1


def test_nested_blacklist_on_ingest(auto: Slicebox) -> None:
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds = make_dataset()
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = "1.2.3.4"
    ds.ReferencedImageSequence = Sequence([item])
    f = auto.tag_filters.create("f", TagFilterType.BLACKLIST)
    auto.tag_filters.add_tag_path(
        f.id,
        TagTree(
            name="ReferencedSOPInstanceUID",
            previous=TagTree(name="ReferencedImageSequence", item="*"),
        ),
    )
    auto.tag_filters.associate(SCP, f.id)
    image = auto.images.add(to_bytes(ds), source=SCP).image
    stored = stored_dataset(auto, image.id).ReferencedImageSequence[0]
    assert "ReferencedSOPInstanceUID" not in stored and "ReferencedSOPClassUID" in stored
