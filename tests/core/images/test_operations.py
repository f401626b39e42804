"""Image-level operations through the facade: attributes, PNG, info, modify, JPEG, export."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image as PILImage
from pydicom.uid import generate_uid

from slicebox_core import InvalidInput, NotFound, Slicebox
from slicebox_core.models import Source, SourceType, TagMapping, TagPath
from tests.factories import dicom_bytes


def test_attributes_and_information(sb_sqlite: Slicebox) -> None:
    image = sb_sqlite.images.add(
        dicom_bytes(SmallestImagePixelValue=3, LargestImagePixelValue=4000)
    ).image
    attributes = sb_sqlite.images.attributes(image.id)
    by_name = {a.name_path[-1]: a for a in attributes}
    assert by_name["PatientName"].values == ("Doe^John",)
    assert by_name["PatientName"].tag_path == TagPath.of(0x00100010)
    assert "PixelData" not in by_name
    info = sb_sqlite.images.information(image.id)
    assert (info.number_of_frames, info.minimum_pixel_value, info.maximum_pixel_value) == (
        1,
        3,
        4000,
    )
    with pytest.raises(NotFound):
        sb_sqlite.images.attributes(999)


def test_png_window_and_height(sb_sqlite: Slicebox) -> None:
    image = sb_sqlite.images.add(dicom_bytes(rows=32, columns=32)).image
    plain = sb_sqlite.images.png(image.id)
    windowed = sb_sqlite.images.png(image.id, window_min=100, window_max=200)
    assert plain != windowed
    picture = PILImage.open(io.BytesIO(sb_sqlite.images.png(image.id, height=64)))
    assert picture.size == (64, 64)


def test_modify_creates_new_version_and_keeps_source_and_tags(sb: Slicebox) -> None:
    source = Source(SourceType.USER, "alice", 3)
    old = sb.images.add(dicom_bytes(PatientAge="030Y"), source=source).image
    sb.series_tags.tag_series(old.series_id, "keep")
    same = sb.images.modify(old.id, [TagMapping(TagPath.of(0x00101010), "040Y")])
    assert same.id == old.id  # identifiers unchanged: the image keeps its id
    assert sb.images.dataset(same.id).PatientAge == "040Y"
    new_uid = generate_uid()
    new = sb.images.modify(old.id, [TagMapping(TagPath.of(0x0020000E), new_uid)])
    assert new.id != old.id and new.series_id != old.series_id
    with pytest.raises(NotFound):
        sb.images.get(old.id)
    assert sb.index.series_source(new.series_id) == source
    assert [t.name for t in sb.series_tags.of_series(new.series_id)] == ["keep"]
    assert sb.index.counts()["images"] == 1
    with pytest.raises(InvalidInput):
        sb.images.modify(new.id, [TagMapping(TagPath.of(0x7FE00010), "x")])


def test_jpeg_becomes_secondary_capture_in_study(sb_sqlite: Slicebox) -> None:
    image = sb_sqlite.images.add(dicom_bytes()).image
    study = sb_sqlite.index.get_study(sb_sqlite.index.get_series(image.series_id).study_id)
    buf = io.BytesIO()
    PILImage.fromarray(np.full((20, 30, 3), 128, dtype=np.uint8)).save(buf, format="JPEG")
    sc = sb_sqlite.images.add_jpeg(buf.getvalue(), study_id=study.id, description="photo")
    series = sb_sqlite.index.get_series(sc.series_id)
    assert series.study_id == study.id and series.series_description == "photo"
    assert PILImage.open(io.BytesIO(sb_sqlite.images.png(sc.id))).size == (30, 20)
    with pytest.raises(NotFound):
        sb_sqlite.images.add_jpeg(buf.getvalue(), study_id=999)
    with pytest.raises(InvalidInput):
        sb_sqlite.images.add_jpeg(b"not a jpeg", study_id=study.id)


def test_export_zip_streams_entries(sb: Slicebox) -> None:
    blobs = [dicom_bytes(patient_name="A/B", patient_id="../x"), dicom_bytes()]
    ids = [sb.images.add(b).image.id for b in blobs]
    assert sb.exports.create([]) is None
    export_id = sb.exports.create([*ids, 999999])
    assert export_id is not None
    data = b"".join(sb.exports.iter_zip(export_id))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert len(names) == 2
        assert all(part not in ("", ".", "..") for n in names for part in n.split("/"))
        assert sorted(zf.read(n) for n in names) == sorted(blobs)
    with pytest.raises(NotFound):
        sb.exports.iter_zip(999999)
