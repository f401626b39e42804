"""The one ingest pipeline every source calls (spec §5.1, §5.2.1).

Order of work, so that a failure at any step leaves nothing behind:

1. the caller spools the bytes to a temporary file (:mod:`.spool`);
2. :func:`~slicebox_core.dicom.parse.read_header` validates it;
3. preprocessors (tag filters, reverse anonymization) may rewrite the temporary file;
4. **one transaction**: match or create Patient -> Study -> Series -> Image, set the series
   source, move the file under its final key (a rename on local storage) and commit. If
   anything fails before the commit, the moved file is deleted again;
5. after the commit the file an overwrite replaced is deleted, and ``ImageAdded`` published.

A crash between the move and the commit leaves a file no row points to; ``slicebox check``
reports such orphans and :meth:`ImageService.sweep_orphans` removes them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..db.tables import ImageRow, PatientRow, SeriesRow, SeriesSourceRow, StudyRow
from ..db.upsert import insert_ignore, upsert
from ..dicom.parse import Header, IndexValues
from ..index.search import refresh_search_text
from ..models.index import Image, IngestResult, Source
from ..storage.base import Storage
from .spool import Spooled

Preprocessor = Callable[[Path, Header, Source], Header | None]
"""Rewrites a spooled file in place before indexing; returns the new header if it changed."""

InTransaction = Callable[[Session, IngestResult, Source], None]
"""Runs inside the ingest transaction after the index rows are written (e.g. outbox rows)."""


def _match_or_insert(
    session: Session,
    row_type: type,
    keys: dict[str, object],
    attributes: dict[str, object],
) -> tuple[int, bool, bool]:
    """Find the row with ``keys`` or insert it; update changed ``attributes``.

    Returns (id, added, updated).
    """
    table = row_type.__table__  # type: ignore[attr-defined]
    new_id = insert_ignore(session, table, {**keys, **attributes}, list(keys))
    if new_id is not None:
        return new_id, True, False
    row_id = session.execute(
        select(table.c.id).where(*(table.c[k] == v for k, v in keys.items()))
    ).scalar_one()
    # update only when something changed, so that identical re-sends take no row lock
    changed = [table.c[k] != v for k, v in attributes.items()]
    updated = False
    if changed:
        result = session.execute(
            update(table).where(table.c.id == row_id, or_(*changed)).values(**attributes)
        )
        updated = bool(result.rowcount)  # type: ignore[attr-defined]
    return row_id, False, updated


def index_and_store(
    session: Session,
    storage: Storage,
    spooled: Spooled,
    header: Header,
    source: Source,
    on_stored: list[str],
) -> tuple[IngestResult, str | None]:
    """Write the index rows and move the file under its key, inside ``session``'s transaction.

    Appends the new key to ``on_stored`` as soon as the file is in place, so the caller can
    delete it if the transaction does not commit. Returns the result and the key of a
    replaced file (to delete after commit).
    """
    v = header.values
    known = _existing_chain(session, v, source)
    if known is not None:
        _, _, series_id, source_known = known
        patient_added = study_added = series_added = False
    else:
        source_known = False
        _, patient_added, _, study_added, series_id, series_added = _match_or_insert_chain(
            session, v
        )
    return _store_image(
        session, storage, spooled, header, source, on_stored,
        series_id=series_id, source_known=source_known,
        added=(patient_added, study_added, series_added),
    )  # fmt: skip


_PATIENT_ATTRS = ("patientBirthDate", "patientSex")
_STUDY_ATTRS = ("studyDescription", "studyDate", "studyID", "accessionNumber", "patientAge")
_SERIES_ATTRS = (
    "seriesDescription",
    "seriesDate",
    "modality",
    "protocolName",
    "bodyPartExamined",
    "manufacturer",
    "stationName",
    "frameOfReferenceUID",
)


def _existing_chain(
    session: Session, v: IndexValues, source: Source
) -> tuple[int, int, int, bool] | None:
    """Fast path: one SELECT finds patient, study and series when all exist unchanged.

    Returns (patient id, study id, series id, series source already equal), or None when a
    level is missing or an attribute changed (the slow path then inserts or updates).
    """
    values = _attributes(v)
    row = session.execute(
        select(
            PatientRow.id,
            StudyRow.id,
            SeriesRow.id,
            *(getattr(PatientRow, a) for a in _PATIENT_ATTRS),
            *(getattr(StudyRow, a) for a in _STUDY_ATTRS),
            *(getattr(SeriesRow, a) for a in _SERIES_ATTRS),
            SeriesSourceRow.sourcetype,
            SeriesSourceRow.sourcename,
            SeriesSourceRow.sourceid,
        )
        .join(StudyRow, StudyRow.patientId == PatientRow.id)
        .join(SeriesRow, SeriesRow.studyId == StudyRow.id)
        .outerjoin(SeriesSourceRow, SeriesSourceRow.id == SeriesRow.id)
        .where(
            PatientRow.patientName == v.patient_name,
            PatientRow.patientID == v.patient_id,
            StudyRow.studyInstanceUID == v.study_instance_uid,
            SeriesRow.seriesInstanceUID == v.series_instance_uid,
        )
    ).first()
    if row is None:
        return None
    names = (*_PATIENT_ATTRS, *_STUDY_ATTRS, *_SERIES_ATTRS)
    if any(row[3 + i] != values[name] for i, name in enumerate(names)):
        return None
    same_source = (row[-3], row[-2], row[-1]) == (
        source.source_type.value, source.source_name, source.source_id,
    )  # fmt: skip
    return row[0], row[1], row[2], same_source


def _attributes(v: IndexValues) -> dict[str, str]:
    return {
        "patientBirthDate": v.patient_birth_date,
        "patientSex": v.patient_sex,
        "studyDescription": v.study_description,
        "studyDate": v.study_date,
        "studyID": v.study_id,
        "accessionNumber": v.accession_number,
        "patientAge": v.patient_age,
        "seriesDescription": v.series_description,
        "seriesDate": v.series_date,
        "modality": v.modality,
        "protocolName": v.protocol_name,
        "bodyPartExamined": v.body_part_examined,
        "manufacturer": v.manufacturer,
        "stationName": v.station_name,
        "frameOfReferenceUID": v.frame_of_reference_uid,
    }


def _match_or_insert_chain(
    session: Session, v: IndexValues
) -> tuple[int, bool, int, bool, int, bool]:
    """Match or create patient, study and series, updating changed attributes (spec §5.2.1)."""
    patient_id, patient_added, patient_updated = _match_or_insert(
        session,
        PatientRow,
        {"patientName": v.patient_name, "patientID": v.patient_id},
        {"patientBirthDate": v.patient_birth_date, "patientSex": v.patient_sex},
    )
    study_id, study_added, study_updated = _match_or_insert(
        session,
        StudyRow,
        {"patientId": patient_id, "studyInstanceUID": v.study_instance_uid},
        {
            "studyDescription": v.study_description,
            "studyDate": v.study_date,
            "studyID": v.study_id,
            "accessionNumber": v.accession_number,
            "patientAge": v.patient_age,
        },
    )
    series_id, series_added, _ = _match_or_insert(
        session,
        SeriesRow,
        {"studyId": study_id, "seriesInstanceUID": v.series_instance_uid},
        {
            "seriesDescription": v.series_description,
            "seriesDate": v.series_date,
            "modality": v.modality,
            "protocolName": v.protocol_name,
            "bodyPartExamined": v.body_part_examined,
            "manufacturer": v.manufacturer,
            "stationName": v.station_name,
            "frameOfReferenceUID": v.frame_of_reference_uid,
        },
    )
    # the search text of every series whose patient, study or own attributes changed
    if patient_updated:
        refresh_search_text(session, StudyRow.patientId == patient_id)
    elif study_updated:
        refresh_search_text(session, SeriesRow.studyId == study_id)
    else:
        refresh_search_text(session, SeriesRow.id == series_id)
    return patient_id, patient_added, study_id, study_added, series_id, series_added


def _store_image(
    session: Session,
    storage: Storage,
    spooled: Spooled,
    header: Header,
    source: Source,
    on_stored: list[str],
    *,
    series_id: int,
    source_known: bool,
    added: tuple[bool, bool, bool],
) -> tuple[IngestResult, str | None]:
    v = header.values
    image_values = {
        "imageType": v.image_type,
        "instanceNumber": v.instance_number,
        "sizeBytes": spooled.size,
        "sha256": spooled.sha256,
        "sopClassUID": header.sop_class_uid,
        "transferSyntaxUID": header.transfer_syntax_uid,
    }
    table = ImageRow.__table__
    pending_key = f"pending-{secrets.token_hex(8)}"
    image_id = insert_ignore(
        session,
        table,  # type: ignore[arg-type]
        {
            "seriesId": series_id,
            "sopInstanceUID": v.sop_instance_uid,
            "storageKey": pending_key,
            **image_values,
        },
        ["seriesId", "sopInstanceUID"],
    )
    replaced: str | None = None
    if image_id is not None:
        key = str(image_id)
        overwrite = False
    else:
        # a re-sent instance: lock the row so concurrent re-sends replace files in turn
        image_id, replaced = session.execute(
            select(ImageRow.id, ImageRow.storageKey)
            .where(ImageRow.seriesId == series_id, ImageRow.sopInstanceUID == v.sop_instance_uid)
            .with_for_update()
        ).one()
        key = f"{image_id}.{secrets.token_hex(4)}"
        overwrite = True
    storage.put_file(key, spooled.path)
    on_stored.append(key)
    session.execute(
        update(ImageRow).where(ImageRow.id == image_id).values(storageKey=key, **image_values)
    )
    if not source_known:  # spec §5.2.1: the last writer is the series source
        upsert(
            session,
            SeriesSourceRow.__table__,  # type: ignore[arg-type]
            {
                "id": series_id,
                "sourcetype": source.source_type.value,
                "sourcename": source.source_name,
                "sourceid": source.source_id,
            },
            ["id"],
        )
    image = Image(
        id=image_id,
        series_id=series_id,
        sop_instance_uid=v.sop_instance_uid,
        image_type=v.image_type,
        instance_number=v.instance_number,
    )
    result = IngestResult(
        image=image,
        overwrite=overwrite,
        patient_added=added[0],
        study_added=added[1],
        series_added=added[2],
    )
    return result, replaced
