"""Query/retrieve over the index, pure: a C-FIND/C-MOVE/C-GET identifier -> SQL ``Select``.

The identifier arrives as ``{keyword: value}`` (strings; multi-values joined by backslash),
without Query/Retrieve Level and Specific Character Set, which the caller passes separately.

Matching follows PS3.4 C.2.2.2 for the attributes the index holds (:data:`KEYS`):

* empty value or ``*``: universal matching (no constraint; C.2.2.2.3);
* ``*`` and ``?`` anywhere else: wild card matching (C.2.2.2.4), case-insensitive for PN;
* ``a-b``, ``-b``, ``a-`` on dates: range matching (C.2.2.2.5);
* ``uid1\\uid2`` on UIDs: list of UID matching (C.2.2.2.2);
* anything else: single value matching (C.2.2.2.1), case-insensitive for PN (the standard
  leaves PN case sensitivity to the implementation; Orthanc and dcmqrscp also ignore case).

Attributes the index does not hold are returned with an empty value and do not constrain the
match; keys of levels below the requested level are ignored (C.2.2.1.1). Relational queries
are accepted: keys of every level above the requested one may constrain the match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from sqlalchemy import ColumnElement, Select, and_, exists, func, literal_column, select

from ..db.tables import ImageRow, PatientRow, SeriesRow, StudyRow
from ..errors import InvalidInput
from ..models.network import InformationModel, QueryRetrieveLevel

P = PatientRow.__table__
ST = StudyRow.__table__
SE = SeriesRow.__table__
IM = ImageRow.__table__

# SOP classes (PS3.4 A.4 Verification; C.6.1, C.6.2 Q/R information models)
VERIFICATION = "1.2.840.10008.1.1"
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
PATIENT_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.1.2"
PATIENT_ROOT_GET = "1.2.840.10008.5.1.4.1.2.1.3"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"

Level = QueryRetrieveLevel
DEPTH = {Level.PATIENT: 0, Level.STUDY: 1, Level.SERIES: 2, Level.IMAGE: 3}
TABLES = (P, ST, SE, IM)

# the unique key of each level (PS3.4 C.6.1.1, C.6.2.1)
UNIQUE_KEYS = {
    Level.PATIENT: "PatientID",
    Level.STUDY: "StudyInstanceUID",
    Level.SERIES: "SeriesInstanceUID",
    Level.IMAGE: "SOPInstanceUID",
}


@attrs.frozen
class Key:
    """An attribute the index holds: its level, column and value representation."""

    level: QueryRetrieveLevel
    column: Any
    vr: str


KEYS: dict[str, Key] = {
    "PatientName": Key(Level.PATIENT, P.c.patientName, "PN"),
    "PatientID": Key(Level.PATIENT, P.c.patientID, "LO"),
    "PatientBirthDate": Key(Level.PATIENT, P.c.patientBirthDate, "DA"),
    "PatientSex": Key(Level.PATIENT, P.c.patientSex, "CS"),
    "StudyInstanceUID": Key(Level.STUDY, ST.c.studyInstanceUID, "UI"),
    "StudyDate": Key(Level.STUDY, ST.c.studyDate, "DA"),
    "StudyDescription": Key(Level.STUDY, ST.c.studyDescription, "LO"),
    "StudyID": Key(Level.STUDY, ST.c.studyID, "SH"),
    "AccessionNumber": Key(Level.STUDY, ST.c.accessionNumber, "SH"),
    "PatientAge": Key(Level.STUDY, ST.c.patientAge, "AS"),
    "SeriesInstanceUID": Key(Level.SERIES, SE.c.seriesInstanceUID, "UI"),
    "SeriesDescription": Key(Level.SERIES, SE.c.seriesDescription, "LO"),
    "SeriesDate": Key(Level.SERIES, SE.c.seriesDate, "DA"),
    "Modality": Key(Level.SERIES, SE.c.modality, "CS"),
    "ProtocolName": Key(Level.SERIES, SE.c.protocolName, "LO"),
    "BodyPartExamined": Key(Level.SERIES, SE.c.bodyPartExamined, "CS"),
    "Manufacturer": Key(Level.SERIES, SE.c.manufacturer, "LO"),
    "StationName": Key(Level.SERIES, SE.c.stationName, "SH"),
    "FrameOfReferenceUID": Key(Level.SERIES, SE.c.frameOfReferenceUID, "UI"),
    "SOPInstanceUID": Key(Level.IMAGE, IM.c.sopInstanceUID, "UI"),
    "SOPClassUID": Key(Level.IMAGE, IM.c.sopClassUID, "UI"),
    "InstanceNumber": Key(Level.IMAGE, IM.c.instanceNumber, "IS"),
    "ImageType": Key(Level.IMAGE, IM.c.imageType, "CS"),
}

# Additional query/retrieve attributes (PS3.4 C.3.4, table C.3-1): computed, return-only
COUNT_KEYS: dict[str, tuple[QueryRetrieveLevel, QueryRetrieveLevel]] = {
    "NumberOfPatientRelatedStudies": (Level.PATIENT, Level.STUDY),
    "NumberOfPatientRelatedSeries": (Level.PATIENT, Level.SERIES),
    "NumberOfPatientRelatedInstances": (Level.PATIENT, Level.IMAGE),
    "NumberOfStudyRelatedSeries": (Level.STUDY, Level.SERIES),
    "NumberOfStudyRelatedInstances": (Level.STUDY, Level.IMAGE),
    "NumberOfSeriesRelatedInstances": (Level.SERIES, Level.IMAGE),
}
MODALITIES_IN_STUDY = "ModalitiesInStudy"

_ESCAPE = "!"


@attrs.frozen
class FindPlan:
    """What to run for a C-FIND: the statement and how to read its rows.

    Attributes:
        statement: one row per match, columns labelled by keyword (plus ``_study_id`` when
            ``ModalitiesInStudy`` must be filled in from :func:`modalities_in_studies`).
        return_keys: keywords answered from the row, in the identifier's order.
        wants_modalities: ``ModalitiesInStudy`` was asked for.
    """

    statement: Select[Any]
    return_keys: tuple[str, ...]
    wants_modalities: bool


def parse_level(value: str) -> QueryRetrieveLevel:
    """The Query/Retrieve Level of an identifier. Raises InvalidInput."""
    try:
        return QueryRetrieveLevel(value.strip().upper())
    except ValueError:
        raise InvalidInput(f"unsupported Query/Retrieve Level {value[:16]!r}") from None


def check_model(level: QueryRetrieveLevel, model: InformationModel) -> None:
    """Study Root has no PATIENT level (PS3.4 C.6.2). Raises InvalidInput."""
    if model is InformationModel.STUDY_ROOT and level is Level.PATIENT:
        raise InvalidInput("the Study Root information model has no PATIENT level")


def _like_pattern(value: str) -> str:
    escaped = value.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%")
    escaped = escaped.replace("_", _ESCAPE + "_")
    return escaped.replace("*", "%").replace("?", "_")


def condition(key: Key, raw: str) -> ColumnElement[bool] | None:
    """The SQL condition of one matching key, or None for universal matching."""
    value = raw.strip()
    if value in ("", "*"):
        return None
    column = key.column
    if key.vr == "UI":
        uids = [u.strip() for u in value.split("\\") if u.strip()]
        return column == uids[0] if len(uids) == 1 else column.in_(uids)
    if key.vr == "DA" and "-" in value:
        low, _, high = (part.strip() for part in value.partition("-"))
        parts = []
        if low:
            parts.append(and_(column >= low, column != ""))
        if high:
            parts.append(and_(column <= high, column != ""))
        return and_(*parts) if parts else None
    if "*" in value or "?" in value:
        pattern = _like_pattern(value)
        if key.vr == "PN":
            return func.lower(column).like(pattern.lower(), escape=_ESCAPE)
        return column.like(pattern, escape=_ESCAPE)
    if key.vr == "PN":
        return func.lower(column) == value.lower()
    return column == value


def _joined(depth: int) -> Any:
    """Patients joined down to the table of ``depth``."""
    source: Any = P
    if depth >= 1:
        source = source.join(ST, ST.c.patientId == P.c.id)
    if depth >= 2:
        source = source.join(SE, SE.c.studyId == ST.c.id)
    if depth >= 3:
        source = source.join(IM, IM.c.seriesId == SE.c.id)
    return source


def _conditions(identifier: Mapping[str, str], depth: int) -> list[ColumnElement[bool]]:
    conditions = []
    for keyword, value in identifier.items():
        key = KEYS.get(keyword)
        if key is not None and DEPTH[key.level] <= depth:
            cond = condition(key, value)
            if cond is not None:
                conditions.append(cond)
    modalities = identifier.get(MODALITIES_IN_STUDY, "").strip()
    if depth >= 1 and modalities not in ("", "*"):
        wanted = [m.strip() for m in modalities.split("\\") if m.strip()]
        inner = SeriesRow.__table__.alias("mis")
        conditions.append(
            exists(
                select(literal_column("1"))
                .select_from(inner)
                .where(inner.c.studyId == ST.c.id, inner.c.modality.in_(wanted))
            )
        )
    return conditions


def _count(outer: QueryRetrieveLevel, inner: QueryRetrieveLevel) -> Any:
    """Correlated count of ``inner`` entities below the current ``outer`` row."""
    d_outer, d_inner = DEPTH[outer], DEPTH[inner]
    aliases = [t.alias(f"c{i}") for i, t in enumerate(TABLES)]
    parent_keys = ["", "patientId", "studyId", "seriesId"]  # the column naming the parent
    source: Any = aliases[d_outer + 1]
    for depth in range(d_outer + 2, d_inner + 1):
        source = source.join(
            aliases[depth], aliases[depth].c[parent_keys[depth]] == aliases[depth - 1].c.id
        )
    first = aliases[d_outer + 1]
    return (
        select(func.count(aliases[d_inner].c.id))
        .select_from(source)
        .where(first.c[parent_keys[d_outer + 1]] == TABLES[d_outer].c.id)
        .scalar_subquery()
    )


def build_find(
    level: QueryRetrieveLevel,
    identifier: Mapping[str, str],
    *,
    model: InformationModel = InformationModel.STUDY_ROOT,
    limit: int = 0,
) -> FindPlan:
    """The C-FIND of ``identifier`` at ``level`` (PS3.4 C.4.1.3.1).

    Raises:
        InvalidInput: PATIENT level in the Study Root model.
    """
    check_model(level, model)
    depth = DEPTH[level]
    columns: list[Any] = []
    return_keys: list[str] = []
    for keyword in identifier:
        key = KEYS.get(keyword)
        if key is not None and DEPTH[key.level] <= depth:
            columns.append(key.column.label(keyword))
            return_keys.append(keyword)
        elif keyword in COUNT_KEYS and COUNT_KEYS[keyword][0] is level:
            columns.append(_count(*COUNT_KEYS[keyword]).label(keyword))
            return_keys.append(keyword)
    wants_modalities = MODALITIES_IN_STUDY in identifier and depth >= 1
    unique = UNIQUE_KEYS[level]
    if unique not in return_keys:  # the unique key is always returned (C.4.1.2.3)
        columns.append(KEYS[unique].column.label(unique))
        return_keys.append(unique)
    if wants_modalities:
        columns.append(ST.c.id.label("_study_id"))
    statement = (
        select(*columns)
        .select_from(_joined(depth))
        .where(*_conditions(identifier, depth))
        .order_by(*(TABLES[d].c.id for d in range(depth + 1)))
    )
    if limit:
        statement = statement.limit(limit)
    return FindPlan(statement, tuple(return_keys), wants_modalities)


def modalities_in_studies(study_ids: Iterable[int]) -> Select[Any]:
    """``(studyId, modality)`` pairs, distinct, for filling in ``ModalitiesInStudy``."""
    return (
        select(SE.c.studyId, SE.c.modality)
        .where(SE.c.studyId.in_(list(study_ids)), SE.c.modality != "")
        .distinct()
        .order_by(SE.c.studyId, SE.c.modality)
    )


def build_retrieve(
    level: QueryRetrieveLevel,
    identifier: Mapping[str, str],
    *,
    model: InformationModel = InformationModel.STUDY_ROOT,
) -> Select[Any]:
    """Image ids, SOP class and transfer syntax for a C-MOVE/C-GET (PS3.4 C.4.2.2.1).

    The identifier must carry the unique key of ``level`` (a single value or a UID list):
    an empty one would retrieve everything.

    Raises:
        InvalidInput: a missing unique key, or PATIENT level in the Study Root model.
    """
    check_model(level, model)
    unique = UNIQUE_KEYS[level]
    if not identifier.get(unique, "").strip() or identifier[unique].strip() == "*":
        raise InvalidInput(f"a {level.value} level retrieve needs {unique}")
    depth = DEPTH[level]
    return (
        select(IM.c.id, IM.c.sopClassUID, IM.c.transferSyntaxUID, IM.c.sopInstanceUID)
        .select_from(_joined(3))
        .where(*_conditions(identifier, depth))
        .order_by(P.c.id, ST.c.id, SE.c.id, IM.c.id)
    )


def images_of(study_instance_uid: str, series_instance_uid: str = "") -> Select[Any]:
    """Image ids of a study (or one of its series), by UID, for retrieval results."""
    statement = (
        select(IM.c.id)
        .select_from(_joined(3))
        .where(ST.c.studyInstanceUID == study_instance_uid)
        .order_by(IM.c.id)
    )
    if series_instance_uid:
        statement = statement.where(SE.c.seriesInstanceUID == series_instance_uid)
    return statement


def row_to_identifier(row: Mapping[str, Any], return_keys: Iterable[str]) -> dict[str, str]:
    """One result row as ``{keyword: value}`` strings (counts as decimal strings)."""
    out: dict[str, str] = {}
    for keyword in return_keys:
        value = row[keyword]
        out[keyword] = "" if value is None else str(value)
    return out
