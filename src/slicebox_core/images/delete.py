"""Deleting images and the series, studies and patients they leave empty (spec §5.3)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from ..db.tables import ImageRow, PatientRow, SeriesRow, StudyRow
from ..events import MetaDataDeleted

BATCH = 1000


def _batches(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), BATCH):
        yield ordered[start : start + BATCH]


def delete_images(session: Session, image_ids: Sequence[int]) -> tuple[list[str], MetaDataDeleted]:
    """Delete the index rows of ``image_ids`` and every level they leave empty.

    Returns the storage keys to remove after commit and the deleted ids of every level.
    Unknown ids are ignored.
    """
    keys: list[str] = []
    images: list[int] = []
    series_ids: set[int] = set()
    for batch in _batches(image_ids):
        rows = session.execute(
            select(ImageRow.id, ImageRow.seriesId, ImageRow.storageKey).where(
                ImageRow.id.in_(batch)
            )
        ).all()
        if rows:
            session.execute(delete(ImageRow).where(ImageRow.id.in_([r.id for r in rows])))
            images.extend(r.id for r in rows)
            series_ids.update(r.seriesId for r in rows)
            keys.extend(r.storageKey for r in rows)
    gone_series, study_ids = _delete_childless(
        session, SeriesRow.__table__, "studyId", ImageRow.seriesId, series_ids
    )
    gone_studies, patient_ids = _delete_childless(
        session, StudyRow.__table__, "patientId", SeriesRow.studyId, study_ids
    )
    gone_patients, _ = _delete_childless(
        session, PatientRow.__table__, None, StudyRow.patientId, patient_ids
    )
    return keys, MetaDataDeleted(
        patient_ids=tuple(sorted(gone_patients)),
        study_ids=tuple(sorted(gone_studies)),
        series_ids=tuple(sorted(gone_series)),
        image_ids=tuple(images),
    )


def _delete_childless(
    session: Session, table: Any, parent: str | None, child_fk: Any, ids: set[int]
) -> tuple[set[int], set[int]]:
    """Delete rows among ``ids`` that no child points to. -> (deleted ids, their parent ids)."""
    deleted: set[int] = set()
    parents: set[int] = set()
    for batch in _batches(ids):
        columns = [table.c.id] + ([table.c[parent]] if parent else [])
        rows = session.execute(
            select(*columns).where(table.c.id.in_(batch), ~exists().where(child_fk == table.c.id))
        ).all()
        if not rows:
            continue
        gone = [r[0] for r in rows]
        session.execute(delete(table).where(table.c.id.in_(gone)))
        deleted.update(gone)
        if parent:
            parents.update(r[1] for r in rows)
    return deleted, parents
