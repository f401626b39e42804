"""C-FIND/C-MOVE matching over the index (PS3.4 C.2.2.2), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from pydicom.uid import MRImageStorage

from slicebox_core import InvalidInput, Slicebox
from slicebox_core.models.network import InformationModel, QueryRetrieveLevel
from slicebox_core.network import qr
from tests.factories import dicom_bytes

L = QueryRetrieveLevel


@pytest.fixture
def index(sb: Slicebox) -> Slicebox:
    """Two patients; three studies; four series (CT, CT, MR, MR); six images."""
    specs = [
        # patient, id, study, date, series, modality, image
        ("Doe^John", "P1", "1.1", "20200101", "1.1.1", "CT", "1.1.1.1"),
        ("Doe^John", "P1", "1.1", "20200101", "1.1.1", "CT", "1.1.1.2"),
        ("Doe^John", "P1", "1.1", "20200101", "1.1.2", "MR", "1.1.2.1"),
        ("Doe^John", "P1", "1.2", "20210615", "1.2.1", "CT", "1.2.1.1"),
        ("Roe^Jane", "P2", "2.1", "20221231", "2.1.1", "MR", "2.1.1.1"),
        ("Roe^Jane", "P2", "2.1", "20221231", "2.1.1", "MR", "2.1.1.2"),
    ]
    for name, pid, study, date, series, modality, sop in specs:
        sb.images.add(
            dicom_bytes(
                patient_name=name,
                patient_id=pid,
                study_uid=study,
                series_uid=series,
                sop_uid=sop,
                modality=modality,
                StudyDate=date,
                sop_class=MRImageStorage if modality == "MR" else "1.2.840.10008.5.1.4.1.1.2",
            )
        )
    return sb


def find(
    sb: Slicebox,
    level: QueryRetrieveLevel,
    identifier: dict[str, str],
    model: InformationModel = InformationModel.STUDY_ROOT,
) -> list[dict[str, str]]:
    plan = qr.build_find(level, identifier, model=model)
    with sb.db.read() as session:
        rows = list(session.execute(plan.statement).mappings())
        modalities: dict[int, list[str]] = {}
        if plan.wants_modalities:
            ids = [r["_study_id"] for r in rows]
            for study_id, modality in session.execute(qr.modalities_in_studies(ids)):
                modalities.setdefault(study_id, []).append(modality)
    out = []
    for row in rows:
        values = qr.row_to_identifier(row, plan.return_keys)
        if plan.wants_modalities:
            values["ModalitiesInStudy"] = "\\".join(modalities.get(row["_study_id"], []))
        out.append(values)
    return out


def uids(results: list[dict[str, Any]], key: str) -> list[str]:
    return [r[key] for r in results]


def test_patient_level(index: Slicebox) -> None:
    found = find(
        index,
        L.PATIENT,
        {"PatientName": "", "PatientID": "", "NumberOfPatientRelatedStudies": ""},
        InformationModel.PATIENT_ROOT,
    )
    assert found == [
        {"PatientName": "Doe^John", "PatientID": "P1", "NumberOfPatientRelatedStudies": "2"},
        {"PatientName": "Roe^Jane", "PatientID": "P2", "NumberOfPatientRelatedStudies": "1"},
    ]


def test_study_level_universal_and_counts(index: Slicebox) -> None:
    found = find(
        index,
        L.STUDY,
        {
            "StudyInstanceUID": "",
            "PatientID": "",
            "NumberOfStudyRelatedSeries": "",
            "NumberOfStudyRelatedInstances": "",
            "ModalitiesInStudy": "",
        },
    )
    assert found == [
        {
            "StudyInstanceUID": "1.1",
            "PatientID": "P1",
            "NumberOfStudyRelatedSeries": "2",
            "NumberOfStudyRelatedInstances": "3",
            "ModalitiesInStudy": "CT\\MR",
        },
        {
            "StudyInstanceUID": "1.2",
            "PatientID": "P1",
            "NumberOfStudyRelatedSeries": "1",
            "NumberOfStudyRelatedInstances": "1",
            "ModalitiesInStudy": "CT",
        },
        {
            "StudyInstanceUID": "2.1",
            "PatientID": "P2",
            "NumberOfStudyRelatedSeries": "1",
            "NumberOfStudyRelatedInstances": "2",
            "ModalitiesInStudy": "MR",
        },
    ]


MATCHING = [
    ({"PatientName": "Doe^John"}, ["1.1", "1.2"]),
    ({"PatientName": "doe^john"}, ["1.1", "1.2"]),  # PN: case-insensitive
    ({"PatientName": "R*"}, ["2.1"]),
    ({"PatientName": "*o?^J*"}, ["1.1", "1.2", "2.1"]),
    ({"PatientName": "*"}, ["1.1", "1.2", "2.1"]),
    ({"PatientID": "P?"}, ["1.1", "1.2", "2.1"]),
    ({"PatientID": "p1"}, []),  # LO: case-sensitive
    ({"PatientID": "P%"}, []),  # SQL wildcards are literals
    ({"StudyDate": "20210615"}, ["1.2"]),
    ({"StudyDate": "20200101-20211231"}, ["1.1", "1.2"]),
    ({"StudyDate": "-20201231"}, ["1.1"]),
    ({"StudyDate": "20210101-"}, ["1.2", "2.1"]),
    ({"StudyInstanceUID": "1.1\\2.1"}, ["1.1", "2.1"]),
    ({"StudyInstanceUID": "1.2"}, ["1.2"]),
    ({"ModalitiesInStudy": "MR"}, ["1.1", "2.1"]),
    ({"ModalitiesInStudy": "CT\\US"}, ["1.1", "1.2"]),
    ({"PatientID": "P1", "StudyDate": "2021*"}, ["1.2"]),
    ({"StudyTime": "120000"}, ["1.1", "1.2", "2.1"]),  # not indexed: no constraint
    ({"SeriesInstanceUID": "2.1.1"}, ["1.1", "1.2", "2.1"]),  # lower level: ignored
]


def test_study_matching(index: Slicebox) -> None:
    # one index, many identifiers (building the index per case would dominate the run time)
    for identifier, expected in MATCHING:
        found = uids(find(index, L.STUDY, identifier), "StudyInstanceUID")
        assert found == expected, identifier


def test_series_and_image_levels(index: Slicebox) -> None:
    series = find(
        index, L.SERIES, {"StudyInstanceUID": "1.1", "Modality": "", "SeriesInstanceUID": ""}
    )
    assert series == [
        {"StudyInstanceUID": "1.1", "Modality": "CT", "SeriesInstanceUID": "1.1.1"},
        {"StudyInstanceUID": "1.1", "Modality": "MR", "SeriesInstanceUID": "1.1.2"},
    ]
    images = find(
        index,
        L.IMAGE,
        {
            "SeriesInstanceUID": "1.1.1",
            "SOPInstanceUID": "",
            "SOPClassUID": "",
            "InstanceNumber": "",
        },
    )
    assert uids(images, "SOPInstanceUID") == ["1.1.1.1", "1.1.1.2"]
    assert images[0]["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.2"
    counted = find(index, L.SERIES, {"Modality": "MR", "NumberOfSeriesRelatedInstances": ""})
    assert uids(counted, "NumberOfSeriesRelatedInstances") == ["1", "2"]
    assert uids(counted, "SeriesInstanceUID") == ["1.1.2", "2.1.1"]  # unique key added


def test_study_root_has_no_patient_level() -> None:
    with pytest.raises(InvalidInput):
        qr.build_find(L.PATIENT, {}, model=InformationModel.STUDY_ROOT)
    with pytest.raises(InvalidInput):
        qr.parse_level("FRAME")


def test_retrieve_selects_images(index: Slicebox) -> None:
    def ids(level: QueryRetrieveLevel, identifier: dict[str, str]) -> list[str]:
        with index.db.read() as session:
            rows = session.execute(qr.build_retrieve(level, identifier)).all()
        return [r.sopInstanceUID for r in rows]

    assert ids(L.STUDY, {"StudyInstanceUID": "1.1"}) == ["1.1.1.1", "1.1.1.2", "1.1.2.1"]
    assert ids(L.STUDY, {"StudyInstanceUID": "1.2\\2.1"}) == ["1.2.1.1", "2.1.1.1", "2.1.1.2"]
    assert ids(L.SERIES, {"StudyInstanceUID": "1.1", "SeriesInstanceUID": "1.1.2"}) == ["1.1.2.1"]
    assert ids(L.IMAGE, {"SOPInstanceUID": "2.1.1.2"}) == ["2.1.1.2"]
    for empty in ({}, {"StudyInstanceUID": ""}, {"StudyInstanceUID": "*"}):
        with pytest.raises(InvalidInput):
            qr.build_retrieve(L.STUDY, empty)


def test_like_pattern_escapes_sql_wildcards() -> None:
    assert qr._like_pattern("a%b_c!*?") == "a!%b!_c!!%_"
