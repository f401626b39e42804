"""Pure query building: listing and query parameters -> SQLAlchemy ``Select`` (spec §5.2.3).

Column names given by clients (``orderby``, ``propertyName``) are looked up in a whitelist
per table — they are never pasted into SQL. Advanced filters restrict the *series* an entity
must have at least one of: OR within a list, AND between lists (spec §3.4).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, false, or_, select

from ..db.tables import (
    ImageRow,
    PatientRow,
    SeriesRow,
    SeriesSeriesTagRow,
    SeriesSeriesTypeRow,
    SeriesSourceRow,
    StudyRow,
)
from ..errors import InvalidInput
from ..models.query import ListQuery, Query, QueryFilters, QueryOperator, QueryProperty
from . import search

P = PatientRow.__table__
ST = StudyRow.__table__
SE = SeriesRow.__table__
IM = ImageRow.__table__

# the original's columns (spec §4.1): the only names orderby/propertyName accept
COLUMNS: dict[Any, tuple[str, ...]] = {
    P: ("id", "patientName", "patientID", "patientBirthDate", "patientSex"),
    ST: ("id", "patientId", "studyInstanceUID", "studyDescription", "studyDate", "studyID",
         "accessionNumber", "patientAge"),
    SE: ("id", "studyId", "seriesInstanceUID", "seriesDescription", "seriesDate", "modality",
         "protocolName", "bodyPartExamined", "manufacturer", "stationName",
         "frameOfReferenceUID"),
    IM: ("id", "seriesId", "sopInstanceUID", "imageType", "instanceNumber"),
}  # fmt: skip

FILTER_COLUMNS: dict[str, list[Any]] = {
    "patients": [P.c.patientName, P.c.patientID, P.c.patientBirthDate, P.c.patientSex],
    "images": [IM.c.sopInstanceUID, IM.c.imageType, IM.c.instanceNumber],
    "flatseries": [
        P.c.patientName, P.c.patientID, P.c.patientBirthDate, P.c.patientSex,
        ST.c.studyDescription, ST.c.studyDate, ST.c.studyID, ST.c.accessionNumber,
        ST.c.patientAge, SE.c.seriesDescription, SE.c.seriesDate, SE.c.modality,
        SE.c.protocolName, SE.c.bodyPartExamined, SE.c.manufacturer, SE.c.stationName,
    ],
}  # fmt: skip


def column(tables: tuple[Any, ...], name: str) -> Any:
    """The first table's column called ``name``; InvalidInput if none has it."""
    if isinstance(name, str):
        for table in tables:
            if name in COLUMNS[table]:
                return table.c[name]
    raise InvalidInput(f"Property {str(name)[:64]} does not exist")


def check_text(value: str) -> str:
    """Text compared in SQL: PostgreSQL cannot hold NUL characters, so neither may queries."""
    if "\x00" in value:
        raise InvalidInput("Query values must not contain NUL characters")
    return value


def check_paging(start_index: int, count: int) -> None:
    if start_index < 0:
        raise InvalidInput("startindex must be 0 or more")
    if count < 0:
        raise InvalidInput("count must be 0 or more")


def series_condition(filters: QueryFilters | None) -> ColumnElement[bool] | None:
    """Condition on ``Series.id`` for the advanced filters, or None for no constraint."""
    if filters is None:
        return None
    parts: list[ColumnElement[bool]] = []
    if filters.source_refs:
        ss = SeriesSourceRow.__table__
        match = or_(
            *(
                and_(ss.c.sourcetype == ref.source_type.value, ss.c.sourceid == ref.source_id)
                for ref in filters.source_refs
            )
        )
        parts.append(SE.c.id.in_(select(ss.c.id).where(match)))
    if filters.series_type_ids:
        sst = SeriesSeriesTypeRow.__table__
        parts.append(
            SE.c.id.in_(
                select(sst.c.seriesid).where(sst.c.seriestypeid.in_(filters.series_type_ids))
            )
        )
    if filters.series_tag_ids:
        sstag = SeriesSeriesTagRow.__table__
        parts.append(
            SE.c.id.in_(
                select(sstag.c.seriesid).where(sstag.c.seriestagid.in_(filters.series_tag_ids))
            )
        )
    return and_(*parts) if parts else None


def _text_filter(columns: list[Any], text: str | None) -> ColumnElement[bool] | None:
    if not text:
        return None
    check_text(text)
    return or_(*(c.icontains(text, autoescape=True) for c in columns))


def _property(tables: tuple[Any, ...], prop: QueryProperty) -> ColumnElement[bool]:
    col = column(tables, prop.property_name)
    check_text(prop.property_value)
    if prop.operator == QueryOperator.EQUALS:
        if col.type.python_type is int:
            try:
                return col == int(prop.property_value)
            except ValueError:
                return false()
        return col == prop.property_value
    # spec §5.2.3: like matches %value% and the value may carry its own wildcards
    if col.type.python_type is int:
        col = cast(col, String)
    return col.ilike(f"%{prop.property_value}%")


def _order(stmt: Select[Any], col: Any, ascending: bool, tiebreak: Any) -> Select[Any]:
    if ascending:
        return stmt.order_by(col.asc(), tiebreak.asc())
    return stmt.order_by(col.desc(), tiebreak.desc())


# -- patients ---------------------------------------------------------------------------------


def _patients(
    conditions: list[Any], series_conditions: list[Any], order: Any, ascending: bool
) -> Select[Any]:
    stmt = select(PatientRow)
    if series_conditions:
        stmt = stmt.where(
            P.c.id.in_(
                select(ST.c.patientId).join(SE, SE.c.studyId == ST.c.id).where(*series_conditions)
            )
        )
    return _order(stmt.where(*conditions), order, ascending, P.c.id)


def list_patients(query: ListQuery) -> Select[Any]:
    check_paging(query.start_index, query.count)
    order = column((P,), query.order_by) if query.order_by else P.c.id
    cond = [c for c in [_text_filter(FILTER_COLUMNS["patients"], query.filter)] if c is not None]
    sc = [c for c in [series_condition(query.filters)] if c is not None]
    stmt = _patients(cond, sc, order, query.order_ascending)
    return stmt.offset(query.start_index).limit(query.count)


def _split(query: Query, own: tuple[Any, ...]) -> tuple[list[Any], list[Any]]:
    """Split query properties into conditions on the entity table and on the tables below."""
    tables = (*own, P, ST, SE) if own[0] is not IM else (IM, P, ST, SE)
    direct: list[Any] = []
    below: list[Any] = []
    for prop in query.query_properties:
        cond = _property(tables, prop)
        col = column(tables, prop.property_name)
        (direct if col.table is own[0] else below).append(cond)
    return direct, below


def _query_order(query: Query, table: Any) -> tuple[Any, bool]:
    if query.order is None:
        return table.c.id, True
    return column((table,), query.order.order_by), query.order.order_ascending


def query_patients(query: Query) -> Select[Any]:
    check_paging(query.start_index, query.count)
    direct, below = _split(query, (P,))
    sc = [c for c in [series_condition(query.filters)] if c is not None]
    order, ascending = _query_order(query, P)
    stmt = _patients(direct, below + sc, order, ascending)
    return stmt.offset(query.start_index).limit(query.count)


# -- studies ----------------------------------------------------------------------------------


def _studies(conditions: list[Any], series_conditions: list[Any], patient_conditions: list[Any],
             order: Any, ascending: bool) -> Select[Any]:  # fmt: skip
    stmt = select(StudyRow)
    if patient_conditions:
        stmt = stmt.where(ST.c.patientId.in_(select(P.c.id).where(*patient_conditions)))
    if series_conditions:
        stmt = stmt.where(ST.c.id.in_(select(SE.c.studyId).where(*series_conditions)))
    return _order(stmt.where(*conditions), order, ascending, ST.c.id)


def list_studies(patient_id: int, query: ListQuery) -> Select[Any]:
    check_paging(query.start_index, query.count)
    sc = [c for c in [series_condition(query.filters)] if c is not None]
    stmt = _studies([ST.c.patientId == patient_id], sc, [], ST.c.id, True)
    return stmt.offset(query.start_index).limit(query.count)


def _by_table(query: Query, tables: tuple[Any, ...]) -> dict[Any, list[Any]]:
    out: dict[Any, list[Any]] = {t: [] for t in (P, ST, SE, IM)}
    for prop in query.query_properties:
        col = column(tables, prop.property_name)
        out[col.table].append(_property(tables, prop))
    return out


def query_studies(query: Query) -> Select[Any]:
    check_paging(query.start_index, query.count)
    parts = _by_table(query, (ST, P, SE))
    sc = [c for c in [series_condition(query.filters)] if c is not None]
    order, ascending = _query_order(query, ST)
    stmt = _studies(parts[ST], parts[SE] + sc, parts[P], order, ascending)
    return stmt.offset(query.start_index).limit(query.count)


# -- series -----------------------------------------------------------------------------------


def _series(conditions: list[Any], study_conditions: list[Any], patient_conditions: list[Any],
            order: Any, ascending: bool) -> Select[Any]:  # fmt: skip
    stmt = select(SeriesRow)
    if patient_conditions:
        study_conditions = [
            *study_conditions,
            ST.c.patientId.in_(select(P.c.id).where(*patient_conditions)),
        ]
    if study_conditions:
        stmt = stmt.where(SE.c.studyId.in_(select(ST.c.id).where(*study_conditions)))
    return _order(stmt.where(*conditions), order, ascending, SE.c.id)


def list_series(study_id: int, query: ListQuery) -> Select[Any]:
    check_paging(query.start_index, query.count)
    conds = [SE.c.studyId == study_id]
    sc = series_condition(query.filters)
    if sc is not None:
        conds.append(sc)
    return _series(conds, [], [], SE.c.id, True).offset(query.start_index).limit(query.count)


def query_series(query: Query) -> Select[Any]:
    check_paging(query.start_index, query.count)
    parts = _by_table(query, (SE, P, ST))
    sc = [c for c in [series_condition(query.filters)] if c is not None]
    order, ascending = _query_order(query, SE)
    stmt = _series(parts[SE] + sc, parts[ST], parts[P], order, ascending)
    return stmt.offset(query.start_index).limit(query.count)


# -- images -----------------------------------------------------------------------------------


def list_images(series_id: int, query: ListQuery) -> Select[Any]:
    check_paging(query.start_index, query.count)
    order = column((IM,), query.order_by) if query.order_by else IM.c.id
    stmt = select(ImageRow).where(IM.c.seriesId == series_id)
    text = _text_filter(FILTER_COLUMNS["images"], query.filter)
    if text is not None:
        stmt = stmt.where(text)
    stmt = _order(stmt, order, query.order_ascending, IM.c.id)
    return stmt.offset(query.start_index).limit(query.count)


def query_images(query: Query) -> Select[Any]:
    check_paging(query.start_index, query.count)
    parts = _by_table(query, (IM, P, ST, SE))
    sc = [c for c in [series_condition(query.filters)] if c is not None]
    order, ascending = _query_order(query, IM)
    series_conds = parts[SE] + sc
    if parts[ST] or parts[P]:
        study_conds = list(parts[ST])
        if parts[P]:
            study_conds.append(ST.c.patientId.in_(select(P.c.id).where(*parts[P])))
        series_conds.append(SE.c.studyId.in_(select(ST.c.id).where(*study_conds)))
    stmt = select(ImageRow).where(*parts[IM])
    if series_conds:
        stmt = stmt.where(IM.c.seriesId.in_(select(SE.c.id).where(*series_conds)))
    stmt = _order(stmt, order, ascending, IM.c.id)
    return stmt.offset(query.start_index).limit(query.count)


def images_of(
    *, patient_id: int | None = None, study_id: int | None = None, filters: QueryFilters
) -> Select[Any]:
    """All images of a patient's or a study's matching series (no paging, spec §5.2.2)."""
    series = select(SE.c.id).join(ST, ST.c.id == SE.c.studyId)
    if patient_id is not None:
        series = series.where(ST.c.patientId == patient_id)
    if study_id is not None:
        series = series.where(ST.c.id == study_id)
    sc = series_condition(filters)
    if sc is not None:
        series = series.where(sc)
    return select(ImageRow).where(IM.c.seriesId.in_(series)).order_by(IM.c.seriesId, IM.c.id)


# -- flat series ------------------------------------------------------------------------------


def _flat_order(name: str) -> Any:
    # spec §3.4: id -> series id; other names from one of the three tables
    if name == "id":
        return SE.c.id
    return column((SE, ST, P), name)


def _flat_base() -> Any:
    return (
        select(PatientRow, StudyRow, SeriesRow)
        .select_from(SE)
        .join(ST, ST.c.id == SE.c.studyId)
        .join(P, P.c.id == ST.c.patientId)
    )


def _paged_flat(
    conditions: list[Any], order: Any, ascending: bool, start: int, count: int
) -> Select[Any]:
    """Sort and page narrow rows (series ids) first, then fetch the page's full rows: a deep
    OFFSET then sorts ids, not whole patient/study/series rows."""
    ids = (
        select(SE.c.id)
        .select_from(SE)
        .join(ST, ST.c.id == SE.c.studyId)
        .join(P, P.c.id == ST.c.patientId)
        .where(*conditions)
    )
    page = _order(ids, order, ascending, SE.c.id).offset(start).limit(count).subquery()
    stmt = _flat_base().where(SE.c.id.in_(select(page.c.id)))
    return _order(stmt, order, ascending, SE.c.id)


def list_flat_series(query: ListQuery) -> Select[Any]:
    check_paging(query.start_index, query.count)
    conditions: list[Any] = []
    if query.filter:
        conditions.append(search.matches(check_text(query.filter)))
    sc = series_condition(query.filters)
    if sc is not None:
        conditions.append(sc)
    order = _flat_order(query.order_by) if query.order_by else SE.c.id
    return _paged_flat(conditions, order, query.order_ascending, query.start_index, query.count)


def query_flat_series(query: Query) -> Select[Any]:
    check_paging(query.start_index, query.count)
    conditions: list[Any] = [_property((SE, ST, P), prop) for prop in query.query_properties]
    sc = series_condition(query.filters)
    if sc is not None:
        conditions.append(sc)
    if query.order is not None:
        order, ascending = _flat_order(query.order.order_by), query.order.order_ascending
    else:
        order, ascending = SE.c.id, True
    return _paged_flat(conditions, order, ascending, query.start_index, query.count)


def flat_series_by_id(series_id: int) -> Select[Any]:
    return _flat_base().where(SE.c.id == series_id)
