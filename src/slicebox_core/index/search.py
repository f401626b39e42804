"""The flat-series text filter (spec §3.4): one lower-cased text per series.

The filter of ``GET /api/metadata/flatseries`` is a case-insensitive substring match over
16 patient, study and series columns. Matching them one by one costs 17 ILIKEs per row of a
three-table join; instead every series keeps ``searchText``: those values, lower-cased in
Python (Unicode-aware on SQLite too) and joined by a separator that cannot occur in them.
Ingest refreshes it whenever a patient, study or series row is added or changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, cast, or_, select, update
from sqlalchemy.orm import Session

from ..db.tables import PatientRow, SeriesRow, StudyRow

SEPARATOR = "\x1f"  # unit separator: not a character DICOM text values contain

COLUMNS = (
    PatientRow.patientName, PatientRow.patientID, PatientRow.patientBirthDate,
    PatientRow.patientSex, StudyRow.studyDescription, StudyRow.studyDate, StudyRow.studyID,
    StudyRow.accessionNumber, StudyRow.patientAge, SeriesRow.seriesDescription,
    SeriesRow.seriesDate, SeriesRow.modality, SeriesRow.protocolName,
    SeriesRow.bodyPartExamined, SeriesRow.manufacturer, SeriesRow.stationName,
)  # fmt: skip


def search_text(values: tuple[Any, ...]) -> str:
    return SEPARATOR.join(str(v) for v in values).lower()


def refresh_search_text(session: Session, condition: ColumnElement[bool]) -> None:
    """Recompute ``searchText`` of the series selected by ``condition`` (over the join)."""
    rows = session.execute(
        select(SeriesRow.id, *COLUMNS)
        .join(StudyRow, StudyRow.id == SeriesRow.studyId)
        .join(PatientRow, PatientRow.id == StudyRow.patientId)
        .where(condition)
    ).all()
    for row in rows:
        session.execute(
            update(SeriesRow).where(SeriesRow.id == row[0]).values(searchText=search_text(row[1:]))
        )


def matches(text: str) -> ColumnElement[bool]:
    """The filter condition on Series: substring of the search text, or of the series id."""
    needle = text.lower().replace(SEPARATOR, "")
    return or_(
        SeriesRow.searchText.contains(needle, autoescape=True),
        cast(SeriesRow.id, String).contains(text, autoescape=True),
    )
