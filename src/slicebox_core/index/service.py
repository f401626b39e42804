"""Browsing and querying the index (spec §3.4, §5.2)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, select

from ..db.engine import Database
from ..db.tables import (
    ImageRow,
    PatientRow,
    SeriesRow,
    SeriesSeriesTypeRow,
    SeriesSourceRow,
    SeriesTypeRow,
    StudyRow,
)
from ..db.upsert import insert_ignore
from ..errors import NotFound
from ..models.index import (
    FlatSeries,
    Image,
    Patient,
    Series,
    SeriesType,
    Source,
    SourceType,
    Study,
)
from ..models.query import ListQuery, Query, QueryFilters
from . import query as q
from .rows import (
    flat_from_rows,
    image_from_row,
    patient_from_row,
    series_from_row,
    study_from_row,
)


class IndexService:
    """Read access to Patient -> Study -> Series -> Image, plus series properties."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _scalars(self, stmt: Select[Any]) -> list[Any]:
        with self._db.read() as session:
            return list(session.scalars(stmt).all())

    def _flat(self, stmt: Select[Any]) -> list[FlatSeries]:
        with self._db.read() as session:
            rows = session.execute(stmt).all()
        return [flat_from_rows(p, st, se) for p, st, se in rows]

    # listings (GET routes) ---------------------------------------------------------------
    def patients(self, query: ListQuery = ListQuery()) -> list[Patient]:
        """Patients, paged, ordered and filtered.

        Raises:
            InvalidInput: an unknown ``order_by`` or negative paging.
        """
        return [patient_from_row(r) for r in self._scalars(q.list_patients(query))]

    def studies(self, patient_id: int, query: ListQuery = ListQuery()) -> list[Study]:
        """Studies of a patient (paging and advanced filters only)."""
        return [study_from_row(r) for r in self._scalars(q.list_studies(patient_id, query))]

    def series(self, study_id: int, query: ListQuery = ListQuery()) -> list[Series]:
        """Series of a study (paging and advanced filters only)."""
        return [series_from_row(r) for r in self._scalars(q.list_series(study_id, query))]

    def images(self, series_id: int, query: ListQuery = ListQuery()) -> list[Image]:
        """Images of a series, paged, ordered and filtered."""
        return [image_from_row(r) for r in self._scalars(q.list_images(series_id, query))]

    def flat_series(self, query: ListQuery = ListQuery()) -> list[FlatSeries]:
        """Series joined with their study and patient, paged, ordered and filtered."""
        return self._flat(q.list_flat_series(query))

    # queries (POST .../query) --------------------------------------------------------------
    def query_patients(self, query: Query) -> list[Patient]:
        """Raises InvalidInput for a property or order name that is not a column."""
        return [patient_from_row(r) for r in self._scalars(q.query_patients(query))]

    def query_studies(self, query: Query) -> list[Study]:
        return [study_from_row(r) for r in self._scalars(q.query_studies(query))]

    def query_series(self, query: Query) -> list[Series]:
        return [series_from_row(r) for r in self._scalars(q.query_series(query))]

    def query_images(self, query: Query) -> list[Image]:
        return [image_from_row(r) for r in self._scalars(q.query_images(query))]

    def query_flat_series(self, query: Query) -> list[FlatSeries]:
        return self._flat(q.query_flat_series(query))

    # by id -------------------------------------------------------------------------------------
    def _get(self, row_type: type, row_id: int, what: str) -> Any:
        with self._db.read() as session:
            row = session.get(row_type, row_id)
        if row is None:
            raise NotFound(f"{what} not found: {row_id}")
        return row

    def get_patient(self, patient_id: int) -> Patient:
        """Raises NotFound."""
        return patient_from_row(self._get(PatientRow, patient_id, "Patient"))

    def get_study(self, study_id: int) -> Study:
        """Raises NotFound."""
        return study_from_row(self._get(StudyRow, study_id, "Study"))

    def get_series(self, series_id: int) -> Series:
        """Raises NotFound."""
        return series_from_row(self._get(SeriesRow, series_id, "Series"))

    def get_image(self, image_id: int) -> Image:
        """Raises NotFound."""
        return image_from_row(self._get(ImageRow, image_id, "Image"))

    def get_flat_series(self, series_id: int) -> FlatSeries:
        """Raises NotFound."""
        found = self._flat(q.flat_series_by_id(series_id))
        if not found:
            raise NotFound(f"Series not found: {series_id}")
        return found[0]

    def patient_images(
        self, patient_id: int, filters: QueryFilters = QueryFilters()
    ) -> list[Image]:
        """All images of the patient's matching series; unknown patient -> []."""
        stmt = q.images_of(patient_id=patient_id, filters=filters)
        return [image_from_row(r) for r in self._scalars(stmt)]

    def study_images(self, study_id: int, filters: QueryFilters = QueryFilters()) -> list[Image]:
        """All images of the study's matching series; unknown study -> []."""
        stmt = q.images_of(study_id=study_id, filters=filters)
        return [image_from_row(r) for r in self._scalars(stmt)]

    def series_image_ids(self, series_id: int) -> list[int]:
        with self._db.read() as session:
            return list(
                session.scalars(
                    select(ImageRow.id).where(ImageRow.seriesId == series_id).order_by(ImageRow.id)
                )
            )

    def counts(self) -> dict[str, int]:
        """Number of patients, studies, series and images."""
        from sqlalchemy import func

        with self._db.read() as session:
            return {
                name: session.scalar(select(func.count()).select_from(row)) or 0
                for name, row in (
                    ("patients", PatientRow),
                    ("studies", StudyRow),
                    ("series", SeriesRow),
                    ("images", ImageRow),
                )
            }

    # series properties -------------------------------------------------------------------
    def series_source(self, series_id: int) -> Source:
        """The source that most recently contributed to the series. Raises NotFound."""
        row = self._get(SeriesSourceRow, series_id, "Series source")
        return Source(SourceType(row.sourcetype), row.sourcename, row.sourceid)

    def series_types_of(self, series_id: int) -> list[SeriesType]:
        stmt = (
            select(SeriesTypeRow)
            .join(SeriesSeriesTypeRow, SeriesSeriesTypeRow.seriestypeid == SeriesTypeRow.id)
            .where(SeriesSeriesTypeRow.seriesid == series_id)
            .order_by(SeriesTypeRow.id)
        )
        return [SeriesType(r.id, r.name) for r in self._scalars(stmt)]

    def add_series_type(self, series_id: int, series_type_id: int) -> None:
        """Assign a type by hand (idempotent). Raises NotFound for an unknown series or type."""
        with self._db.write() as session:
            if session.get(SeriesRow, series_id) is None:
                raise NotFound(f"Series not found: {series_id}")
            if session.get(SeriesTypeRow, series_type_id) is None:
                raise NotFound(f"Series type not found: {series_type_id}")
            insert_ignore(
                session,
                SeriesSeriesTypeRow.__table__,  # type: ignore[arg-type]
                {"seriesid": series_id, "seriestypeid": series_type_id},
                ["seriesid", "seriestypeid"],
                returning=False,
            )

    def remove_series_type(self, series_id: int, series_type_id: int) -> None:
        with self._db.write() as session:
            session.execute(
                delete(SeriesSeriesTypeRow).where(
                    SeriesSeriesTypeRow.seriesid == series_id,
                    SeriesSeriesTypeRow.seriestypeid == series_type_id,
                )
            )

    def remove_series_types(self, series_id: int) -> None:
        with self._db.write() as session:
            session.execute(
                delete(SeriesSeriesTypeRow).where(SeriesSeriesTypeRow.seriesid == series_id)
            )
