"""ORM rows -> domain models (rows never leave a service)."""

from __future__ import annotations

from typing import Any

from ..models.index import FlatSeries, Image, Patient, Series, Study


def patient_from_row(r: Any) -> Patient:
    return Patient(r.id, r.patientName, r.patientID, r.patientBirthDate, r.patientSex)


def study_from_row(r: Any) -> Study:
    return Study(
        r.id,
        r.patientId,
        r.studyInstanceUID,
        r.studyDescription,
        r.studyDate,
        r.studyID,
        r.accessionNumber,
        r.patientAge,
    )


def series_from_row(r: Any) -> Series:
    return Series(
        r.id,
        r.studyId,
        r.seriesInstanceUID,
        r.seriesDescription,
        r.seriesDate,
        r.modality,
        r.protocolName,
        r.bodyPartExamined,
        r.manufacturer,
        r.stationName,
        r.frameOfReferenceUID,
    )


def image_from_row(r: Any) -> Image:
    return Image(r.id, r.seriesId, r.sopInstanceUID, r.imageType, r.instanceNumber)


def flat_from_rows(patient: Any, study: Any, series: Any) -> FlatSeries:
    return FlatSeries(
        series.id, patient_from_row(patient), study_from_row(study), series_from_row(series)
    )
