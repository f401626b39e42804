"""The JSON shapes of spec §2.4 and §4 through the one converter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slicebox_core import InvalidInput, wire
from slicebox_core.models import (
    FlatSeries,
    Image,
    Patient,
    Query,
    Series,
    Study,
    TagPath,
    TagPathStep,
)


def test_patient_uses_dpv_and_original_names() -> None:
    patient = Patient(1, "A^B", "123", "19700101", "M")
    assert wire.unstructure(patient) == {
        "id": 1,
        "patientName": {"value": "A^B"},
        "patientID": {"value": "123"},
        "patientBirthDate": {"value": "19700101"},
        "patientSex": {"value": "M"},
    }
    assert wire.structure(wire.unstructure(patient), Patient) == patient


def test_other_entities_round_trip() -> None:
    study = Study(2, 1, "1.2", "d", "20200101", "S1", "ACC", "042Y")
    series = Series(3, 2, "1.3", "desc", "20200101", "CT", "p", "HEAD", "m", "st", "1.4")
    image = Image(4, 3, "1.5", "ORIGINAL\\PRIMARY", "1")
    flat = FlatSeries(3, Patient(1, "A", "1", "", ""), study, series)
    data = wire.unstructure(flat)
    assert data["series"]["seriesInstanceUID"] == {"value": "1.3"}
    assert data["study"]["patientId"] == 1 and data["study"]["studyID"] == {"value": "S1"}
    assert wire.structure(data, FlatSeries) == flat
    assert wire.unstructure(image)["sopInstanceUID"] == {"value": "1.5"}


def test_tag_path_shape_of_the_spec() -> None:
    spec_example = {
        "tag": 1048608,
        "name": "PatientID",
        "item": "6",
        "previous": {"tag": 561685, "name": "DerivationCodeSequence", "item": "1"},
    }
    path = wire.structure(spec_example, TagPath)
    assert path.steps == (TagPathStep(561685, 1), TagPathStep(1048608, 6))
    assert wire.unstructure(path) == spec_example
    assert wire.structure({"name": "PatientName"}, TagPath).tag == 0x00100010
    assert wire.structure({"tag": 0x00091001, "name": "Unknown"}, TagPath).tag == 0x00091001
    for bad in (
        {"name": "NoSuchKeyword"},
        {},
        {"tag": "x"},
        {"tag": -1},
        [1],
        {"tag": 1, "item": "0"},
    ):
        with pytest.raises(InvalidInput):
            wire.structure(bad, TagPath)


def test_query_errors_name_the_path() -> None:
    with pytest.raises(InvalidInput, match=r"start_index|startIndex"):
        wire.structure({"count": 1}, Query)
    with pytest.raises(InvalidInput, match="operator"):
        wire.structure(
            {
                "startIndex": 0,
                "count": 1,
                "queryProperties": [{"propertyName": "x", "operator": "~", "propertyValue": ""}],
            },
            Query,
        )


@given(st.lists(st.tuples(st.integers(0, 0xFFFFFFFF), st.integers(1, 99)), min_size=0, max_size=4),
       st.integers(0, 0xFFFFFFFF))  # fmt: skip
def test_tag_paths_round_trip(outer: list[tuple[int, int]], tag: int) -> None:
    path = TagPath.of(tag, *outer)
    assert wire.structure(wire.unstructure(path), TagPath) == path
