"""§3.3 images through the HTTP API, on a real slicebox."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest

from slicebox_client import SliceboxClient
from slicebox_core import Slicebox
from slicebox_core.errors import InvalidDicom, NotFound
from slicebox_core.models import SourceType, TagMapping, TagPath

from ..factories import dicom_bytes, make_dataset, to_bytes


def test_upload_raw_is_201_then_200_on_overwrite(client: SliceboxClient, box: Slicebox) -> None:
    data = dicom_bytes()
    first = client.upload(data)
    again = client.upload(data)
    assert first.created and not again.created
    assert again.overwrite
    assert again.image.sop_instance_uid == first.image.sop_instance_uid
    assert box.index.counts()["images"] == 1


def test_upload_source_is_the_calling_user(client: SliceboxClient) -> None:
    image = client.upload(dicom_bytes()).image
    source = client.series_source(image.series_id)
    assert source.source_type is SourceType.USER
    assert source.source_name == "admin"


def test_upload_multipart_file_part(client: SliceboxClient, http: httpx.Client) -> None:
    result = client.upload(dicom_bytes(), multipart=True)
    assert result.created
    # a form with other parts before the file part
    files = {"note": (None, b"hello"), "file": ("x.dcm", dicom_bytes(), "application/dicom")}
    response = http.post("/api/images", files=files)
    assert response.status_code == 201
    assert response.json()["sopInstanceUID"]["value"]


def test_upload_from_path_and_file_object(client: SliceboxClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "one.dcm"
    path.write_bytes(dicom_bytes())
    assert client.upload(path).created
    with open(tmp_path / "one.dcm", "rb") as f:
        assert not client.upload(f).created


def test_download_streams_the_stored_bytes(client: SliceboxClient, http: httpx.Client) -> None:
    data = dicom_bytes()
    image = client.upload(data).image
    assert client.download(image.id) == data
    out = io.BytesIO()
    assert client.download_to(image.id, out) == len(data)
    assert out.getvalue() == data
    response = http.get(f"/api/images/{image.id}")
    assert response.headers["content-type"] == "application/octet-stream"
    assert int(response.headers["content-length"]) == len(data)


def test_download_unknown_is_404(client: SliceboxClient) -> None:
    with pytest.raises(NotFound) as info:
        client.download(999)
    assert info.value.status == 404  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        client.download_to(999, io.BytesIO())


def test_delete_and_bulk_delete(client: SliceboxClient, box: Slicebox) -> None:
    ids = [client.upload(dicom_bytes(patient_id=f"P{i}")).image.id for i in range(3)]
    client.delete_image(ids[0])
    with pytest.raises(NotFound):
        client.delete_image(ids[0])
    client.delete_images([ids[1], ids[2], 12345])  # unknown ids are ignored
    assert box.index.counts()["images"] == 0
    assert client.patients() == []


def test_attributes_and_information(client: SliceboxClient) -> None:
    image = client.upload(dicom_bytes(patient_name="Attr^Test")).image
    attributes = client.attributes(image.id)
    by_name = {a.name_path[-1]: a for a in attributes}
    assert by_name["PatientName"].values == ("Attr^Test",)
    assert "PixelData" not in by_name
    info = client.image_information(image.id)
    assert info.number_of_frames == 1
    with pytest.raises(NotFound):
        client.attributes(4242)


def test_png(client: SliceboxClient, http: httpx.Client) -> None:
    image = client.upload(dicom_bytes()).image
    png = client.png(image.id, window_min=0, window_max=1000, height=32)
    assert png.startswith(b"\x89PNG")
    response = http.get(f"/api/images/{image.id}/png")
    assert response.headers["content-type"] == "image/png"
    assert http.get(f"/api/images/{image.id}/png", params={"framenumber": "x"}).status_code == 400
    assert http.get(f"/api/images/{image.id}/png", params={"framenumber": 0}).status_code == 400
    assert http.get("/api/images/999/png").status_code == 404


def test_modify_creates_a_new_image(client: SliceboxClient) -> None:
    image = client.upload(dicom_bytes(patient_name="Before")).image
    mapping = TagMapping(TagPath.of(0x00100010), "After")
    modified = client.modify(image.id, [mapping])
    assert modified.id != image.id
    assert [p.patient_name for p in client.patients()] == ["After"]
    with pytest.raises(NotFound):
        client.get_image(image.id)


def test_jpeg_becomes_secondary_capture(client: SliceboxClient, http: httpx.Client) -> None:
    from PIL import Image as PILImage

    image = client.upload(dicom_bytes()).image
    study_id = client.get_series(image.series_id).study_id
    buf = io.BytesIO()
    PILImage.new("L", (8, 8), 128).save(buf, format="JPEG")
    sc = client.upload_jpeg(buf.getvalue(), study_id=study_id, description="photo")
    assert sc.series_id != image.series_id
    assert client.get_series(sc.series_id).series_description == "photo"
    assert (
        http.post(
            "/api/images/jpeg", params={"studyid": study_id}, content=b"not a jpeg"
        ).status_code
        == 400
    )
    assert (
        http.post("/api/images/jpeg", params={"studyid": 999}, content=buf.getvalue()).status_code
        == 404
    )
    assert http.post("/api/images/jpeg", content=buf.getvalue()).status_code == 404  # missing
    assert http.post("/api/images/jpeg?studyid=abc", content=buf.getvalue()).status_code == 400


def test_export_zip(client: SliceboxClient, http: httpx.Client) -> None:
    ids = [client.upload(dicom_bytes(patient_id=f"P{i}")).image.id for i in range(2)]
    assert client.export([]) is None
    export_id = client.export(ids)
    assert export_id is not None
    out = io.BytesIO()
    client.download_export(export_id, out)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    assert len(names) == 2 and all(n.endswith(".dcm") for n in names)
    response = http.get("/api/images/export", params={"id": export_id})
    assert response.headers["content-disposition"] == "attachment; filename=slicebox-export.zip"
    with pytest.raises(NotFound):
        client.download_export(9999, io.BytesIO())
    assert http.get("/api/images/export").status_code == 404  # missing id parameter
    assert http.get("/api/images/export?id=x").status_code == 400


def test_invalid_dicom_maps_back_to_invalid_dicom(client: SliceboxClient, box: Slicebox) -> None:
    with pytest.raises(InvalidDicom) as info:
        client.upload(b"definitely not dicom" * 20)
    assert str(info.value).startswith("Invalid DICOM data")
    assert box.index.counts()["images"] == 0


def test_secondary_capture_sop_class_is_accepted(client: SliceboxClient) -> None:
    ds = make_dataset(sop_class="1.2.840.10008.5.1.4.1.1.7")
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    assert client.upload(to_bytes(ds)).created
