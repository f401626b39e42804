"""Anonymization keys in the database (spec §3.7, §4.4, §5.4.5-§5.4.10).

:class:`KeyService` browses, queries, exports and deletes keys. Recording and lookup run inside
the caller's transaction (see :mod:`.service`) through the session-level functions below, so
that a key and the anonymized bytes it describes are committed together. Key insertion is
serialized (spec §5.4.5 "under a global lock"): PostgreSQL takes a transaction-scoped advisory
lock, SQLite's ``BEGIN IMMEDIATE`` already admits one writer at a time.
"""

from __future__ import annotations

import builtins
import csv
import io
import re
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.tables import AnonymizationKeyRow, AnonymizationKeyValueRow, SettingRow
from ..errors import InvalidInput, NotFound
from ..models.anonymization import (
    AnonymizationKey,
    AnonymizationKeyQuery,
    AnonymizationKeyValue,
    KeyLevel,
)
from ..models.dicom import TagPath, TagPathStep
from ..models.query import ListQuery, QueryOperator, QueryOrder, QueryProperty
from .config import AnonymizationConfig

#: Settings row holding the per-installation secret of the UID mapping (hex)
SECRET_SETTING = "anonymization.uid_secret"

#: an arbitrary constant naming the advisory lock of key insertion (PostgreSQL)
_ADVISORY_LOCK_ID = 0x51CEB0C5

#: key table columns accepted by ``orderby``/``propertyName`` (spec §3.7)
KEY_COLUMNS: Mapping[str, Any] = {
    name: getattr(AnonymizationKeyRow, name)
    for name in (
        "id",
        "created",
        "imageId",
        "patientName",
        "anonPatientName",
        "patientID",
        "anonPatientID",
        "studyInstanceUID",
        "anonStudyInstanceUID",
        "seriesInstanceUID",
        "anonSeriesInstanceUID",
        "sopInstanceUID",
        "anonSOPInstanceUID",
        "dateShiftDays",
    )
}
#: the ten value columns searched by the ``filter`` of ``GET /anonymization/keys``
VALUE_COLUMNS = (
    "patientName",
    "anonPatientName",
    "patientID",
    "anonPatientID",
    "studyInstanceUID",
    "anonStudyInstanceUID",
    "seriesInstanceUID",
    "anonSeriesInstanceUID",
    "sopInstanceUID",
    "anonSOPInstanceUID",
)
_NUMERIC = frozenset({"id", "created", "imageId", "dateShiftDays"})
_LIMITS = {"patientName": 512, "anonPatientName": 512}  # the others are 128 (spec §4.4)

CSV_HEADER = (
    "ID",
    "Image ID",
    "Created",
    "Patient Name",
    "Anonymous Patient Name",
    "Patient ID",
    "Anonymous Patient ID",
    "Study Instance UID",
    "Anonymous Study Instance UID",
    "Series Instance UID",
    "Anonymous Series Instance UID",
    "SOP Instance UID",
    "Anonymous SOP Instance UID",
    "Tag Path",
    "Value",
    "Anonymized Value",
)


def now_ms() -> int:
    return int(time.time() * 1000)


# --- tag paths as stored ---------------------------------------------------------------------

_STEP = re.compile(r"^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)(?:\[(\d+)\])?$")


def tag_path_text(path: TagPath) -> str:
    """The stored form of a tag path: ``(0008,0050)``, ``(0008,1140)[1].(0008,1155)``."""
    return str(path)


def parse_tag_path(text: str) -> TagPath:
    """Inverse of :func:`tag_path_text`.

    Raises:
        ValueError: malformed text.
    """
    steps = []
    for part in text.split("."):
        match = _STEP.match(part)
        if match is None:
            raise ValueError(f"not a stored tag path: {text!r}")
        tag = (int(match.group(1), 16) << 16) | int(match.group(2), 16)
        item = int(match.group(3)) if match.group(3) else None
        steps.append(TagPathStep(tag, item))
    return TagPath(tuple(steps))


# --- rows <-> models ----------------------------------------------------------------------------


def key_from_row(row: AnonymizationKeyRow) -> AnonymizationKey:
    return AnonymizationKey(
        id=row.id,
        created=row.created,
        image_id=row.imageId,
        patient_name=row.patientName,
        anon_patient_name=row.anonPatientName,
        patient_id=row.patientID,
        anon_patient_id=row.anonPatientID,
        study_instance_uid=row.studyInstanceUID,
        anon_study_instance_uid=row.anonStudyInstanceUID,
        series_instance_uid=row.seriesInstanceUID,
        anon_series_instance_uid=row.anonSeriesInstanceUID,
        sop_instance_uid=row.sopInstanceUID,
        anon_sop_instance_uid=row.anonSOPInstanceUID,
        date_shift_days=row.dateShiftDays,
    )


def value_from_row(row: AnonymizationKeyValueRow) -> AnonymizationKeyValue:
    return AnonymizationKeyValue(
        id=row.id,
        anonymization_key_id=row.anonymizationkeyid,
        tag_path=parse_tag_path(row.tagpath),
        value=row.value,
        anonymized_value=row.anonymizedvalue,
    )


# --- session-level operations (run inside the caller's transaction) --------------------------


@attrs.frozen
class Identifiers:
    """The five identifiers a key is matched on (spec §5.4.5 step 1)."""

    patient_name: str
    patient_id: str
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str


@attrs.frozen
class KeyMatch:
    """The newest key matching some identifiers, and how deep the match goes."""

    level: KeyLevel
    key: AnonymizationKey | None
    values: Mapping[str, tuple[str, str]]  # stored tag path -> (real, anonymized)


NO_MATCH = KeyMatch(KeyLevel.PATIENT, None, {})


def lock_keys(session: Session) -> None:
    """Serialize key insertion for the rest of the transaction (spec §5.4.5)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})


def _match(session: Session, ids: Identifiers, *, anonymous: bool) -> KeyMatch:
    prefix = "anon" if anonymous else ""
    names = (
        ("patientName", ids.patient_name),
        ("patientID", ids.patient_id),
        ("studyInstanceUID", ids.study_instance_uid),
        ("seriesInstanceUID", ids.series_instance_uid),
        ("sopInstanceUID", ids.sop_instance_uid),
    )
    columns = [
        (getattr(AnonymizationKeyRow, _column(prefix, name)), value) for name, value in names
    ]
    levels = (
        (KeyLevel.IMAGE, 5),
        (KeyLevel.SERIES, 4),
        (KeyLevel.STUDY, 3),
        (KeyLevel.PATIENT, 2),
    )
    for level, depth in levels:
        stmt = (
            sa.select(AnonymizationKeyRow)
            .where(*[column == value for column, value in columns[:depth]])
            .order_by(AnonymizationKeyRow.created.desc(), AnonymizationKeyRow.id.desc())
            .limit(1)
        )
        row = session.scalars(stmt).first()
        if row is not None:
            values = {
                v.tagpath: (v.value, v.anonymizedvalue)
                for v in session.scalars(
                    sa.select(AnonymizationKeyValueRow).where(
                        AnonymizationKeyValueRow.anonymizationkeyid == row.id
                    )
                )
            }
            return KeyMatch(level, key_from_row(row), values)
    return NO_MATCH


def _column(prefix: str, name: str) -> str:
    if not prefix:
        return name
    if name == "sopInstanceUID":
        return "anonSOPInstanceUID"
    return prefix + name[0].upper() + name[1:]


def match_real(session: Session, ids: Identifiers) -> KeyMatch:
    """Newest key whose real identifiers match: image, else series, study, patient level."""
    return _match(session, ids, anonymous=False)


def match_anonymous(session: Session, ids: Identifiers) -> KeyMatch:
    """Newest key whose anonymized identifiers match (reverse anonymization, spec §5.4.8)."""
    return _match(session, ids, anonymous=True)


def insert_key(
    session: Session,
    *,
    image_id: int,
    real: Identifiers,
    anonymous: Identifiers,
    values: Iterable[tuple[TagPath, str, str]],
    date_shift_days: int | None,
    created: int | None = None,
) -> AnonymizationKey:
    """Insert a key row and its extra values (spec §5.4.5 step 3).

    Raises:
        InvalidInput: an identifier longer than its column (never the case for valid DICOM).
    """
    columns = {
        "patientName": real.patient_name,
        "anonPatientName": anonymous.patient_name,
        "patientID": real.patient_id,
        "anonPatientID": anonymous.patient_id,
        "studyInstanceUID": real.study_instance_uid,
        "anonStudyInstanceUID": anonymous.study_instance_uid,
        "seriesInstanceUID": real.series_instance_uid,
        "anonSeriesInstanceUID": anonymous.series_instance_uid,
        "sopInstanceUID": real.sop_instance_uid,
        "anonSOPInstanceUID": anonymous.sop_instance_uid,
    }
    for name, value in columns.items():
        if len(value) > _LIMITS.get(name, 128):
            raise InvalidInput(f"{name} is too long to be recorded in an anonymization key")
    row = AnonymizationKeyRow(
        created=now_ms() if created is None else created,
        imageId=image_id,
        dateShiftDays=date_shift_days,
        **columns,
    )
    session.add(row)
    session.flush()
    for path, value, anonymized in values:
        session.add(
            AnonymizationKeyValueRow(
                anonymizationkeyid=row.id,
                tagpath=tag_path_text(path),
                value=value,
                anonymizedvalue=anonymized,
            )
        )
    session.flush()
    return key_from_row(row)


def installation_secret(db: Database) -> bytes:
    """The per-installation secret of the UID mapping, created on first use (Settings table).

    Concurrent first uses agree: the insert does nothing if another process won the race.
    """
    with db.read() as session:
        value = session.scalar(sa.select(SettingRow.value).where(SettingRow.key == SECRET_SETTING))
    if value:
        return bytes.fromhex(value)
    if db.is_sqlite:
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    with db.write() as session:
        session.execute(
            insert(SettingRow)
            .values(key=SECRET_SETTING, value=secrets.token_hex(32))
            .on_conflict_do_nothing(index_elements=["key"])
        )
        value = session.scalar(sa.select(SettingRow.value).where(SettingRow.key == SECRET_SETTING))
    assert value
    return bytes.fromhex(value)


# --- browsing --------------------------------------------------------------------------------


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_paging(start_index: int, count: int) -> None:
    if start_index < 0 or count < 0:
        raise InvalidInput("startindex and count must not be negative")


def _order(stmt: sa.Select[Any], order: QueryOrder | None) -> sa.Select[Any]:
    if order is None:
        return stmt.order_by(AnonymizationKeyRow.id)
    column = KEY_COLUMNS.get(order.order_by)
    if column is None:
        raise InvalidInput(f"cannot order anonymization keys by {order.order_by!r}")
    direction = column.asc() if order.order_ascending else column.desc()
    return stmt.order_by(direction, AnonymizationKeyRow.id)


def _condition(prop: QueryProperty) -> Any:
    column = KEY_COLUMNS.get(prop.property_name)
    if column is None:
        raise InvalidInput(f"{prop.property_name!r} is not a column of the anonymization keys")
    if prop.operator == QueryOperator.LIKE:
        target = sa.cast(column, sa.String) if prop.property_name in _NUMERIC else column
        return target.like(f"%{prop.property_value}%")
    if prop.property_name in _NUMERIC:
        try:
            return column == int(prop.property_value)
        except ValueError:
            raise InvalidInput(f"{prop.property_name} compares with an integer") from None
    return column == prop.property_value


class KeyService:
    """Browse, query, export and delete anonymization keys (spec §3.7, §5.4.9, §5.4.10)."""

    def __init__(self, db: Database, config: AnonymizationConfig = AnonymizationConfig()) -> None:
        self._db = db
        self._config = config

    def list(self, query: ListQuery = ListQuery()) -> builtins.list[AnonymizationKey]:
        """A page of keys; ``filter`` is a case-insensitive prefix of any of the ten values.

        Raises:
            InvalidInput: negative paging or an ``order_by`` that is not a key column.
        """
        _check_paging(query.start_index, query.count)
        stmt = sa.select(AnonymizationKeyRow)
        if query.filter:
            prefix = _escape_like(query.filter.lower()) + "%"
            stmt = stmt.where(
                sa.or_(
                    *[
                        sa.func.lower(KEY_COLUMNS[name]).like(prefix, escape="\\")
                        for name in VALUE_COLUMNS
                    ]
                )
            )
        order = QueryOrder(query.order_by, query.order_ascending) if query.order_by else None
        stmt = _order(stmt, order).offset(query.start_index).limit(query.count)
        with self._db.read() as session:
            return [key_from_row(row) for row in session.scalars(stmt)]

    def query(self, query: AnonymizationKeyQuery) -> builtins.list[AnonymizationKey]:
        """Keys matching every property (``=`` equality, ``like`` contains), paged.

        Raises:
            InvalidInput: negative paging, or a property/order name that is not a key column.
        """
        _check_paging(query.start_index, query.count)
        stmt = sa.select(AnonymizationKeyRow).where(
            *[_condition(prop) for prop in query.query_properties]
        )
        stmt = _order(stmt, query.order).offset(query.start_index).limit(query.count)
        with self._db.read() as session:
            return [key_from_row(row) for row in session.scalars(stmt)]

    def get(self, key_id: int) -> AnonymizationKey:
        """Raises NotFound for an unknown id."""
        with self._db.read() as session:
            row = session.get(AnonymizationKeyRow, key_id)
            if row is None:
                raise NotFound(f"Anonymization key {key_id} not found")
            return key_from_row(row)

    def delete(self, key_id: int) -> None:
        """Delete a key and its values; unknown ids are ignored (idempotent)."""
        self.delete_many([key_id])

    def delete_many(self, key_ids: Iterable[int]) -> None:
        ids = list(key_ids)
        if not ids:
            return

        def delete(session: Session) -> None:
            session.execute(
                sa.delete(AnonymizationKeyValueRow).where(
                    AnonymizationKeyValueRow.anonymizationkeyid.in_(ids)
                )
            )
            session.execute(sa.delete(AnonymizationKeyRow).where(AnonymizationKeyRow.id.in_(ids)))

        self._db.run_write(delete)

    def values(self, key_id: int) -> builtins.list[AnonymizationKeyValue]:
        """The extra key values of a key (the five identifiers live in the key itself)."""
        stmt = (
            sa.select(AnonymizationKeyValueRow)
            .where(AnonymizationKeyValueRow.anonymizationkeyid == key_id)
            .order_by(AnonymizationKeyValueRow.id)
        )
        with self._db.read() as session:
            return [value_from_row(row) for row in session.scalars(stmt)]

    def purge_images(self, image_ids: Iterable[int]) -> int:
        """Delete every key recorded for the given real image ids (spec §5.4.9).

        Returns:
            The number of keys deleted.
        """
        ids = list(image_ids)
        if not ids:
            return 0

        def purge(session: Session) -> int:
            key_ids = list(
                session.scalars(
                    sa.select(AnonymizationKeyRow.id).where(AnonymizationKeyRow.imageId.in_(ids))
                )
            )
            if key_ids:
                session.execute(
                    sa.delete(AnonymizationKeyValueRow).where(
                        AnonymizationKeyValueRow.anonymizationkeyid.in_(key_ids)
                    )
                )
                session.execute(
                    sa.delete(AnonymizationKeyRow).where(AnonymizationKeyRow.id.in_(key_ids))
                )
            return len(key_ids)

        return int(self._db.run_write(purge))

    def on_images_deleted(self, image_ids: Iterable[int]) -> None:
        """Event hook for ``ImagesDeleted``: purge keys when ``purge_empty_keys`` is set."""
        if self._config.purge_empty_keys:
            self.purge_images(image_ids)

    def export_csv(self) -> Iterator[str]:
        """The keys as semicolon-separated CSV lines, streamed (spec §3.7).

        One line per (key, key value); a key without values yields one line whose tag path is
        that of tag 0 and whose value columns are empty. Lines end with CRLF.
        """
        yield _csv_line(CSV_HEADER)
        k, v = AnonymizationKeyRow, AnonymizationKeyValueRow
        stmt = (
            sa.select(k, v.tagpath, v.value, v.anonymizedvalue)
            .outerjoin(v, v.anonymizationkeyid == k.id)
            .order_by(k.id, v.id)
        )
        empty_path = tag_path_text(TagPath.of(0))
        with self._db.read() as session:
            for row, tagpath, value, anonymized in session.execute(stmt).yield_per(500):
                yield _csv_line(
                    (
                        row.id,
                        row.imageId,
                        row.created,
                        row.patientName,
                        row.anonPatientName,
                        row.patientID,
                        row.anonPatientID,
                        row.studyInstanceUID,
                        row.anonStudyInstanceUID,
                        row.seriesInstanceUID,
                        row.anonSeriesInstanceUID,
                        row.sopInstanceUID,
                        row.anonSOPInstanceUID,
                        tagpath if tagpath is not None else empty_path,
                        value or "",
                        anonymized or "",
                    )
                )


def _csv_line(fields: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerow(list(fields))
    return buffer.getvalue()
