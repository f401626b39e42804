"""Browsing and querying the index (spec §3.4, §5.2)."""

from __future__ import annotations

from ..db.engine import Database
from ..models.index import FlatSeries, Image, Patient, Series, SeriesType, Source, Study
from ..models.query import ListQuery, Query, QueryFilters


class IndexService:
    def __init__(self, db: Database) -> None:
        self._db = db

    # listings (GET routes) ---------------------------------------------------------------
    def patients(self, query: ListQuery = ListQuery()) -> list[Patient]:
        """Raises InvalidInput for an unknown ``order_by`` or negative paging."""
        raise NotImplementedError

    def studies(self, patient_id: int, query: ListQuery = ListQuery()) -> list[Study]:
        raise NotImplementedError

    def series(self, study_id: int, query: ListQuery = ListQuery()) -> list[Series]:
        raise NotImplementedError

    def images(self, series_id: int, query: ListQuery = ListQuery()) -> list[Image]:
        raise NotImplementedError

    def flat_series(self, query: ListQuery = ListQuery()) -> list[FlatSeries]:
        raise NotImplementedError

    # queries (POST .../query) --------------------------------------------------------------
    def query_patients(self, query: Query) -> list[Patient]:
        raise NotImplementedError

    def query_studies(self, query: Query) -> list[Study]:
        raise NotImplementedError

    def query_series(self, query: Query) -> list[Series]:
        raise NotImplementedError

    def query_images(self, query: Query) -> list[Image]:
        raise NotImplementedError

    def query_flat_series(self, query: Query) -> list[FlatSeries]:
        raise NotImplementedError

    # by id (NotFound when absent) --------------------------------------------------------------
    def get_patient(self, patient_id: int) -> Patient:
        raise NotImplementedError

    def get_study(self, study_id: int) -> Study:
        raise NotImplementedError

    def get_series(self, series_id: int) -> Series:
        raise NotImplementedError

    def get_image(self, image_id: int) -> Image:
        raise NotImplementedError

    def get_flat_series(self, series_id: int) -> FlatSeries:
        raise NotImplementedError

    def patient_images(self, patient_id: int, filters: QueryFilters = QueryFilters()) -> list[Image]:
        """All images of the patient's matching series; unknown patient -> []."""
        raise NotImplementedError

    def study_images(self, study_id: int, filters: QueryFilters = QueryFilters()) -> list[Image]:
        raise NotImplementedError

    # series properties -------------------------------------------------------------------
    def series_source(self, series_id: int) -> Source:
        """Raises NotFound."""
        raise NotImplementedError

    def series_types_of(self, series_id: int) -> list[SeriesType]:
        raise NotImplementedError

    def add_series_type(self, series_id: int, series_type_id: int) -> None:
        """Idempotent. Raises NotFound for an unknown series or type."""
        raise NotImplementedError

    def remove_series_type(self, series_id: int, series_type_id: int) -> None:
        raise NotImplementedError

    def remove_series_types(self, series_id: int) -> None:
        raise NotImplementedError
