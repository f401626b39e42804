"""The typed client against an in-process app on a real slicebox: every method, typed."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from slicebox_client import SliceboxClient, UploadResult
from slicebox_core import Slicebox
from slicebox_core.errors import NotFound, Unauthorized
from slicebox_core.models import (
    FlatSeries,
    Image,
    ImageAttribute,
    ImageInformation,
    ListQuery,
    Patient,
    Query,
    QueryOperator,
    QueryProperty,
    Series,
    SeriesTag,
    Source,
    Study,
    SystemInformation,
    UserInfo,
)

from ..factories import dicom_bytes


@pytest.fixture
def uploaded(client: SliceboxClient) -> UploadResult:
    return client.upload(dicom_bytes(patient_name="Client^Test", patient_id="C1"))


def test_upload_returns_typed_result(uploaded: UploadResult) -> None:
    assert isinstance(uploaded, UploadResult)
    assert isinstance(uploaded.image, Image)
    assert uploaded.created and not uploaded.overwrite
    image, created = uploaded  # unpacks like a tuple
    assert created and image.id == uploaded.image.id


def test_upload_inputs(client: SliceboxClient, tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    path.write_bytes(dicom_bytes(patient_id="P"))
    assert client.upload(path).created
    assert not client.upload(str(path)).created
    with path.open("rb") as f:
        assert not client.upload(f, multipart=True).created
    assert not client.upload(bytearray(path.read_bytes())).created
    assert not client.upload(memoryview(path.read_bytes())).created


def test_hierarchy_methods_return_models(client: SliceboxClient, uploaded: UploadResult) -> None:
    patients = client.patients(ListQuery(order_by="patientName"))
    assert all(isinstance(p, Patient) for p in patients)
    patient = client.get_patient(patients[0].id)
    studies = client.studies(patient.id)
    assert isinstance(studies[0], Study)
    assert isinstance(client.get_study(studies[0].id), Study)
    series = client.series(studies[0].id)
    assert isinstance(series[0], Series)
    assert isinstance(client.get_series(series[0].id), Series)
    images = client.images(series[0].id, ListQuery(order_by="instanceNumber"))
    assert images == [uploaded.image]
    assert client.get_image(images[0].id) == uploaded.image
    flat = client.flat_series()
    assert isinstance(flat[0], FlatSeries) and flat[0].patient == patient
    assert client.get_flat_series(flat[0].id) == flat[0]
    assert client.patient_images(patient.id) == [uploaded.image]
    assert client.study_images(studies[0].id) == [uploaded.image]
    assert isinstance(client.series_source(series[0].id), Source)


def test_queries(client: SliceboxClient, uploaded: UploadResult) -> None:
    query = Query(0, 10, (QueryProperty("patientID", QueryOperator.EQUALS, "C1"),))
    assert [p.patient_id for p in client.query_patients(query)] == ["C1"]
    assert len(client.query_studies(query)) == 1
    assert len(client.query_series(query)) == 1
    assert client.query_images(query) == [uploaded.image]
    assert len(client.query_flat_series(query)) == 1


def test_image_methods(client: SliceboxClient, uploaded: UploadResult) -> None:
    image_id = uploaded.image.id
    assert client.download(image_id)[128:132] == b"DICM"
    buf = io.BytesIO()
    assert client.download_to(image_id, buf) == len(client.download(image_id))
    attributes = client.attributes(image_id)
    assert all(isinstance(a, ImageAttribute) for a in attributes)
    assert isinstance(client.image_information(image_id), ImageInformation)
    assert client.png(image_id, height=8).startswith(b"\x89PNG")
    export_id = client.export([image_id])
    assert isinstance(export_id, int)
    out = io.BytesIO()
    assert client.download_export(export_id, out) > 0
    assert len(zipfile.ZipFile(out).namelist()) == 1
    client.delete_images([image_id])
    with pytest.raises(NotFound):
        client.get_image(image_id)


def test_series_tag_methods(client: SliceboxClient, uploaded: UploadResult) -> None:
    tag = client.create_series_tag("t1")
    assert isinstance(tag, SeriesTag)
    assert client.series_tags() == [tag]
    assert client.rename_series_tag(tag.id, "t2").name == "t2"
    series_id = uploaded.image.series_id
    assert client.tag_series(series_id, "t2").id == tag.id
    assert client.tags_of_series(series_id)[0].id == tag.id
    client.untag_series(series_id, tag.id)
    client.delete_series_tag(tag.id)
    assert client.series_tags() == []


def test_system_and_dictionary(client: SliceboxClient) -> None:
    assert client.health()
    assert isinstance(client.information(), SystemInformation)
    assert client.sources()[0].source_name == "admin"
    assert client.destinations() == []
    assert client.tag("PatientID") == 0x00100020
    assert client.keyword(0x00100020) == "PatientID"
    assert client.vr(0x00100020).name == "LO"
    assert client.vm(0x00100020).max == 1
    assert "PatientID" in client.keywords("patientid")
    assert client.openapi()["openapi"] == "3.1.0"


def test_login_switches_to_cookie_session(client: SliceboxClient) -> None:
    client.login()
    user = client.current_user()
    assert isinstance(user, UserInfo) and user.user == "admin"
    assert client.patients() == []
    client.logout()
    assert client.current_user() is None
    with pytest.raises(Unauthorized):
        client.patients()  # Basic auth was dropped by login()


def test_login_without_credentials_is_a_usage_error(box: Slicebox) -> None:
    from slicebox_server import create_app

    from ..server.fixtures import client_for

    with client_for(create_app(box), None, None) as anon, pytest.raises(ValueError):
        anon.login()


@pytest.fixture
def many(client: SliceboxClient) -> Iterator[list[int]]:
    yield [client.upload(dicom_bytes(patient_id=f"M{i}")).image.id for i in range(3)]


def test_paging_through_client(client: SliceboxClient, many: list[int]) -> None:
    first = client.patients(ListQuery(count=2, order_by="patientID"))
    second = client.patients(ListQuery(start_index=2, count=2, order_by="patientID"))
    assert [p.patient_id for p in first + second] == ["M0", "M1", "M2"]
