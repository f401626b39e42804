"""§3.4 metadata browsing and querying, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from slicebox_client import SliceboxClient
from slicebox_core import Slicebox
from slicebox_core.errors import NotFound
from slicebox_core.models import (
    ListQuery,
    Query,
    QueryFilters,
    QueryOperator,
    QueryOrder,
    QueryProperty,
    SourceRef,
    SourceType,
)
from slicebox_server import create_app

from ..factories import dicom_bytes
from .fixtures import client_for, http_for


@pytest.fixture
def api(any_box: Slicebox) -> Iterator[SliceboxClient]:
    """Client over a box with two patients: A (two series) and B (one series)."""
    with client_for(create_app(any_box)) as c:
        study = "1.2.3.4.1"
        c.upload(
            dicom_bytes(
                patient_name="Alpha^A",
                patient_id="A",
                study_uid=study,
                series_uid="1.2.3.4.1.1",
                modality="CT",
            )
        )
        c.upload(
            dicom_bytes(
                patient_name="Alpha^A",
                patient_id="A",
                study_uid=study,
                series_uid="1.2.3.4.1.2",
                modality="MR",
            )
        )
        c.upload(dicom_bytes(patient_name="Beta^B", patient_id="B", modality="CT"))
        yield c


def test_listing_down_the_hierarchy(api: SliceboxClient) -> None:
    patients = api.patients(ListQuery(order_by="patientName"))
    assert [p.patient_name for p in patients] == ["Alpha^A", "Beta^B"]
    alpha = patients[0]
    assert api.get_patient(alpha.id) == alpha
    studies = api.studies(alpha.id)
    assert len(studies) == 1 and api.get_study(studies[0].id) == studies[0]
    series = api.series(studies[0].id)
    assert {s.modality for s in series} == {"CT", "MR"}
    images = api.images(series[0].id)
    assert len(images) == 1 and api.get_image(images[0].id) == images[0]
    assert len(api.patient_images(alpha.id)) == 2
    assert len(api.study_images(studies[0].id)) == 2
    assert api.patient_images(9999) == []
    flat = api.flat_series(ListQuery(order_by="id"))
    assert len(flat) == 3
    assert api.get_flat_series(flat[0].id) == flat[0]


def test_paging_order_and_filter(api: SliceboxClient) -> None:
    desc = api.patients(ListQuery(order_by="patientName", order_ascending=False))
    assert [p.patient_id for p in desc] == ["B", "A"]
    page = api.patients(ListQuery(start_index=1, count=1, order_by="patientName"))
    assert [p.patient_id for p in page] == ["B"]
    assert [p.patient_id for p in api.patients(ListQuery(filter="beta"))] == ["B"]
    assert api.patients(ListQuery(count=0)) == []


def test_advanced_filters(api: SliceboxClient) -> None:
    user_id = api.sources()[0].source_id
    mine = QueryFilters(source_refs=(SourceRef(SourceType.USER, user_id),))
    assert len(api.patients(ListQuery(filters=mine))) == 2
    other = QueryFilters(source_refs=(SourceRef(SourceType.BOX, 77),))
    assert api.patients(ListQuery(filters=other)) == []
    assert api.flat_series(ListQuery(filters=QueryFilters(series_tag_ids=(5,)))) == []


def test_query_bodies(api: SliceboxClient) -> None:
    by_modality = Query(0, 10, (QueryProperty("modality", QueryOperator.EQUALS, "MR"),))
    assert [s.modality for s in api.query_series(by_modality)] == ["MR"]
    assert [p.patient_id for p in api.query_patients(by_modality)] == ["A"]
    assert len(api.query_studies(by_modality)) == 1
    assert len(api.query_images(by_modality)) == 1
    assert len(api.query_flat_series(by_modality)) == 1
    like = Query(
        0,
        10,
        (QueryProperty("patientName", QueryOperator.LIKE, "lph"),),
        order=QueryOrder("patientName"),
    )
    assert [p.patient_id for p in api.query_patients(like)] == ["A"]


def test_get_by_id_absent_is_404_with_empty_body(any_box: Slicebox) -> None:
    with http_for(create_app(any_box)) as http:
        for path in (
            "/api/metadata/patients/999",
            "/api/metadata/studies/999",
            "/api/metadata/series/999",
            "/api/metadata/images/999",
            "/api/metadata/flatseries/999",
            "/api/metadata/series/999/source",
        ):
            response = http.get(path)
            assert response.status_code == 404, path
            assert response.content == b"", path


def test_client_raises_not_found_for_empty_404(api: SliceboxClient) -> None:
    with pytest.raises(NotFound) as info:
        api.get_patient(999)
    assert info.value.status == 404  # type: ignore[attr-defined]
    assert "/api/metadata/patients/999" in str(info.value)


def test_series_types_on_series(api: SliceboxClient) -> None:
    series_id = api.flat_series()[0].id
    assert api.series_types_of(series_id) == []
    with pytest.raises(NotFound):
        api.add_series_type(series_id, 12345)  # no such series type
    api.remove_series_types(series_id)
    api.remove_series_types(99999)  # unknown series: still 204
    api.remove_series_type(series_id, 12345)


def test_series_tags_on_series(api: SliceboxClient) -> None:
    series_id = api.flat_series()[0].id
    tag = api.tag_series(series_id, "interesting")
    assert api.tag_series(series_id, "interesting") == tag  # idempotent
    assert api.tags_of_series(series_id) == [tag]
    tagged = QueryFilters(series_tag_ids=(tag.id,))
    assert len(api.flat_series(ListQuery(filters=tagged))) == 1
    api.untag_series(series_id, tag.id)
    assert api.tags_of_series(series_id) == []
    assert api.get_series_tag(tag.id) == tag  # the vocabulary keeps it
    with pytest.raises(NotFound):
        api.tag_series(99999, "x")


def test_raw_wire_shapes(any_box: Slicebox) -> None:
    with http_for(create_app(any_box)) as http:
        http.post("/api/images", content=dicom_bytes(patient_name="Wire^Shape"))
        patient = http.get("/api/metadata/patients").json()[0]
        assert patient["patientName"] == {"value": "Wire^Shape"}
        assert set(patient) == {"id", "patientName", "patientID", "patientBirthDate", "patientSex"}
        response = http.get("/api/metadata/patients", params={"sources": "user:1,box:2"})
        assert response.status_code == 200


def test_listing_unknown_parent_is_empty(api: SliceboxClient, http: httpx.Client) -> None:
    assert api.studies(9999) == []
    assert api.series(9999) == []
    assert api.images(9999) == []
