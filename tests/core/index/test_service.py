"""Index listings and queries on SQLite and PostgreSQL (spec §3.4, §5.2, §7 'Metadata')."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.uid import generate_uid

from slicebox_core import InvalidInput, NotFound, Slicebox
from slicebox_core.index.query import COLUMNS
from slicebox_core.models import (
    ListQuery,
    Query,
    QueryFilters,
    QueryOperator,
    QueryOrder,
    QueryProperty,
    Source,
    SourceRef,
    SourceType,
)
from tests.factories import dicom_bytes

ALICE = Source(SourceType.USER, "alice", 1)
BOX = Source(SourceType.BOX, "remote", 7)


@pytest.fixture
def loaded(sb: Slicebox) -> Slicebox:
    """p1 (2 studies, CT+MR), p2 (1 study, CT from a box)."""
    s1 = generate_uid()
    for modality in ("CT", "MR"):
        sb.images.add(
            dicom_bytes(patient_name="p1", patient_id="1", study_uid=s1, modality=modality),
            source=ALICE,
        )
    sb.images.add(dicom_bytes(patient_name="p1", patient_id="1", StudyDescription="Other"))
    sb.images.add(dicom_bytes(patient_name="p2", patient_id="2", PatientSex="F"), source=BOX)
    return sb


def names(patients: list) -> list[str]:
    return [p.patient_name for p in patients]


def test_patient_listing_order_filter_paging(loaded: Slicebox) -> None:
    idx = loaded.index
    assert names(idx.patients()) == ["p1", "p2"]
    assert names(idx.patients(ListQuery(order_by="patientName", order_ascending=False))) == [
        "p2",
        "p1",
    ]
    assert names(idx.patients(ListQuery(filter="P2"))) == ["p2"]  # case-insensitive
    assert names(idx.patients(ListQuery(filter="%"))) == []  # wildcards are literal
    assert names(idx.patients(ListQuery(start_index=1, count=1))) == ["p2"]
    assert idx.patients(ListQuery(count=0)) == []


@pytest.mark.parametrize(
    "order_by", ["nope", 'id; DROP TABLE "Patients"', "patientName desc", "storageKey", ""]
)
def test_unknown_order_by_is_rejected(loaded: Slicebox, order_by: str) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        loaded.index.patients(ListQuery(order_by=order_by or " "))
    with pytest.raises(InvalidInput):
        loaded.index.flat_series(ListQuery(order_by=order_by or " "))
    assert loaded.index.counts()["patients"] == 2


def test_negative_paging_is_rejected(loaded: Slicebox) -> None:
    with pytest.raises(InvalidInput):
        loaded.index.patients(ListQuery(start_index=-1))
    with pytest.raises(InvalidInput):
        loaded.index.query_patients(Query(0, -1))


def test_advanced_filters(loaded: Slicebox) -> None:
    idx = loaded.index
    by_box = QueryFilters(source_refs=(SourceRef(SourceType.BOX, 7),))
    assert names(idx.patients(ListQuery(filters=by_box))) == ["p2"]
    either = QueryFilters(source_refs=(SourceRef(SourceType.BOX, 7), SourceRef(SourceType.USER, 1)))
    assert names(idx.patients(ListQuery(filters=either))) == ["p1", "p2"]
    tag = loaded.series_tags.tag_series(idx.flat_series()[0].id, "interesting")
    by_tag = QueryFilters(series_tag_ids=(tag.id,))
    assert names(idx.patients(ListQuery(filters=by_tag))) == ["p1"]
    both = QueryFilters(source_refs=(SourceRef(SourceType.BOX, 7),), series_tag_ids=(tag.id,))
    assert idx.patients(ListQuery(filters=both)) == []
    assert idx.patients(ListQuery(filters=QueryFilters(series_tag_ids=(9999,)))) == []
    assert len(idx.flat_series(ListQuery(filters=by_tag))) == 1


def test_hierarchy_and_get_by_id(loaded: Slicebox) -> None:
    idx = loaded.index
    p1 = idx.patients()[0]
    studies = idx.studies(p1.id)
    assert len(studies) == 2
    series = idx.series(studies[0].id)
    assert {s.modality for s in series} == {"CT", "MR"}
    images = idx.images(series[0].id)
    assert len(images) == 1
    assert idx.get_patient(p1.id) == p1
    assert idx.get_study(studies[0].id) == studies[0]
    assert idx.get_series(series[0].id) == series[0]
    assert idx.get_image(images[0].id) == images[0]
    assert idx.get_flat_series(series[0].id).patient == p1
    assert len(idx.patient_images(p1.id)) == 3
    assert len(idx.study_images(studies[0].id)) == 2
    assert idx.patient_images(999999) == []
    for getter in (idx.get_patient, idx.get_study, idx.get_series, idx.get_image):
        with pytest.raises(NotFound):
            getter(999999)
    with pytest.raises(NotFound):
        idx.get_flat_series(999999)


def test_queries(loaded: Slicebox) -> None:
    idx = loaded.index
    eq = QueryProperty("patientName", QueryOperator.EQUALS, "p1")
    assert names(idx.query_patients(Query(0, 10, (eq,)))) == ["p1"]
    like = QueryProperty("patientName", QueryOperator.LIKE, "p")
    assert names(idx.query_patients(Query(0, 10, (like,)))) == ["p1", "p2"]
    desc = Query(0, 10, (like,), QueryOrder("patientName", False))
    assert names(idx.query_patients(desc)) == ["p2", "p1"]
    assert names(idx.query_patients(Query(1, 1, (like,)))) == ["p2"]
    mr = QueryProperty("modality", QueryOperator.EQUALS, "MR")
    assert names(idx.query_patients(Query(0, 10, (mr,)))) == ["p1"]
    assert len(idx.query_studies(Query(0, 10, (mr,)))) == 1
    assert len(idx.query_series(Query(0, 10, (mr, eq)))) == 1
    assert len(idx.query_images(Query(0, 10, (mr, eq)))) == 1
    assert len(idx.query_flat_series(Query(0, 10, (eq,)))) == 3
    box = QueryFilters(source_refs=(SourceRef(SourceType.BOX, 7),))
    assert names(idx.query_patients(Query(0, 10, (), None, box))) == ["p2"]
    with pytest.raises(InvalidInput):
        idx.query_patients(Query(0, 10, (QueryProperty("bogus", QueryOperator.EQUALS, "x"),)))
    with pytest.raises(InvalidInput):
        idx.query_patients(Query(0, 10, (), QueryOrder("modality")))  # not a Patients column
    sop = QueryProperty("sopInstanceUID", QueryOperator.LIKE, "1.2")
    with pytest.raises(InvalidInput):
        idx.query_patients(Query(0, 10, (sop,)))  # Images is not part of a patient query
    assert len(idx.query_images(Query(0, 10, (sop,)))) == 4


def test_series_types_assignment(sb: Slicebox) -> None:
    from slicebox_core.db.tables import SeriesTypeRow

    image = sb.images.add(dicom_bytes()).image
    with sb.db.write() as session:
        row = SeriesTypeRow(name="CT head")
        session.add(row)
        session.flush()
        type_id = row.id
    sb.index.add_series_type(image.series_id, type_id)
    sb.index.add_series_type(image.series_id, type_id)
    assert [t.name for t in sb.index.series_types_of(image.series_id)] == ["CT head"]
    by_type = QueryFilters(series_type_ids=(type_id,))
    assert len(sb.index.patients(ListQuery(filters=by_type))) == 1
    with pytest.raises(NotFound):
        sb.index.add_series_type(999999, type_id)
    with pytest.raises(NotFound):
        sb.index.add_series_type(image.series_id, 999999)
    sb.index.remove_series_types(image.series_id)
    assert sb.index.series_types_of(image.series_id) == []
    sb.index.remove_series_types(999999)


ALL_NAMES = sorted({name for cols in COLUMNS.values() for name in cols})


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    props=st.lists(
        st.tuples(
            st.one_of(st.sampled_from(ALL_NAMES), st.text(max_size=12)),
            st.sampled_from(list(QueryOperator)),
            st.text(max_size=12),
        ),
        max_size=3,
    ),
    order=st.one_of(st.none(), st.sampled_from(ALL_NAMES), st.text(max_size=8)),
    ascending=st.booleans(),
    entity=st.sampled_from(["patients", "studies", "series", "images", "flat_series"]),
    start=st.integers(0, 3),
    count=st.integers(0, 5),
)
def test_any_query_runs_or_is_rejected_cleanly(
    loaded: Slicebox,
    props: list,
    order: str | None,
    ascending: bool,
    entity: str,
    start: int,
    count: int,
) -> None:
    """Every generated query either runs on the real database or raises InvalidInput."""
    query = Query(
        start,
        count,
        tuple(QueryProperty(n, op, v) for n, op, v in props),
        QueryOrder(order, ascending) if order is not None else None,
    )
    try:
        result = getattr(loaded.index, f"query_{entity}")(query)
    except InvalidInput:
        return
    assert len(result) <= count
