"""Series types, rules, rule attributes and their evaluation (spec §3.6, §5.7).

Evaluation is durable: every ingest writes a ``seriestypes.series`` outbox item in its own
transaction (:meth:`SeriesTypeService.enqueue_for_ingest`), and a rule change writes one
``seriestypes.all`` item, which the worker expands into one item per series. A series'
evaluation and the removal of its item commit together (see :mod:`slicebox_core.outbox`).
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterable

import attrs
from pydicom import dcmread
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset
from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.tables import (
    ImageRow,
    SeriesRow,
    SeriesSeriesTypeRow,
    SeriesTypeRow,
    SeriesTypeRuleAttributeRow,
    SeriesTypeRuleRow,
)
from ..db.upsert import insert_ignore
from ..errors import InvalidInput, NotFound
from ..events import EventBus
from ..images.service import ImageService
from ..index.query import check_paging
from ..models.index import IngestResult, SeriesType, Source
from ..models.seriestypes import (
    SeriesIdSeriesType,
    SeriesTypeRule,
    SeriesTypeRuleAttribute,
)
from ..outbox.service import Outbox, WorkItem
from ..outbox.worker import Complete, Handler
from . import rules as r

log = logging.getLogger(__name__)

SERIES = "seriestypes.series"
"""Outbox kind: (re-)evaluate the series whose id is the key."""
ALL = "seriestypes.all"
"""Outbox kind: (re-)evaluate every series."""
KINDS = (SERIES, ALL)

NAME_MAX = 180
SPECIFIC_CHARACTER_SET = 0x00080005


@attrs.frozen
class SeriesTypesChanged:
    """Published after a change that requested a full re-evaluation (wakes the worker)."""


def _check_name(name: str) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise InvalidInput("A series type needs a non-empty name")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"A series type name has at most {NAME_MAX} characters")
    return name


def _fmt(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _dictionary_vr(tag: int) -> str | None:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return None


def _attribute(row: SeriesTypeRuleAttributeRow) -> SeriesTypeRuleAttribute:
    return SeriesTypeRuleAttribute(
        id=row.id,
        series_type_rule_id=row.seriestyperuleid,
        tag=row.tag,
        name=row.name,
        values=row.values,
        tag_path=row.tagpath,
        name_path=row.namepath,
    )


def check_attribute(
    tag: int, name: str, tag_path: str | None, name_path: str | None
) -> tuple[str, str | None, str | None]:
    """Validate a rule attribute; returns the (name, tag_path, name_path) to store.

    Raises:
        InvalidInput: a tag out of range, an item or sequence tag, a name that is the keyword
            of another tag, or a tag path that is not decimal sequence tags.
    """
    if isinstance(tag, bool) or not isinstance(tag, int) or not 0 <= tag <= r.MAX_TAG:
        raise InvalidInput(f"tag must be an integer 0..{r.MAX_TAG}, got {tag!r}")
    if tag >> 16 == 0xFFFE:
        raise InvalidInput(f"{_fmt(tag)} is an item delimitation tag, not an attribute")
    if _dictionary_vr(tag) == "SQ":
        raise InvalidInput(f"{_fmt(tag)} is a sequence; a rule compares a plain attribute")
    keyword = keyword_for_tag(tag) or ""
    name = (name or "").strip()
    if not name:
        name = keyword
    elif keyword and name != keyword:
        named = tag_for_keyword(name)
        where = f"the keyword of {_fmt(named)}" if named is not None else "not a DICOM keyword"
        raise InvalidInput(f"name {name!r} is {where}; tag {_fmt(tag)} is {keyword}")
    try:
        sequences = r.parse_tag_path(tag_path)
    except ValueError as exc:
        raise InvalidInput(
            f"tagPath must be comma-separated decimal tag numbers of sequences: {exc}"
        ) from None
    for seq in sequences:
        vr = _dictionary_vr(seq)
        if vr is not None and vr != "SQ":
            raise InvalidInput(f"tagPath element {_fmt(seq)} is not a sequence")
    if not sequences:
        return name, None, None
    if not name_path:
        name_path = ",".join(keyword_for_tag(s) or _fmt(s) for s in sequences)
    return name, ",".join(str(s) for s in sequences), name_path


class SeriesTypeService:
    """Manage series types and keep series' type assignments up to date.

    Args:
        db: the index.
        images: to read the first image of a series.
        outbox: where evaluation requests are written.
        events: the in-process bus (:class:`SeriesTypesChanged` wakes the worker).
    """

    def __init__(
        self, db: Database, images: ImageService, outbox: Outbox, events: EventBus
    ) -> None:
        self._db = db
        self._images = images
        self._outbox = outbox
        self._events = events

    # series types ------------------------------------------------------------------------
    def list(self, *, start_index: int = 0, count: int = 20) -> builtins.list[SeriesType]:
        """Series types by id, paged.

        Raises:
            InvalidInput: negative paging.
        """
        check_paging(start_index, count)
        stmt = select(SeriesTypeRow).order_by(SeriesTypeRow.id).offset(start_index).limit(count)
        with self._db.read() as session:
            return [SeriesType(row.id, row.name) for row in session.scalars(stmt)]

    def get(self, series_type_id: int) -> SeriesType:
        """Raises NotFound."""
        with self._db.read() as session:
            row = session.get(SeriesTypeRow, series_type_id)
        if row is None:
            raise NotFound(f"Series type not found: {series_type_id}")
        return SeriesType(row.id, row.name)

    def create(self, name: str) -> SeriesType:
        """Create a type (no evaluation: it has no rules yet).

        Raises:
            InvalidInput: an empty name, or a type with this name exists (400 in the spec).
        """
        name = _check_name(name)
        with self._db.write() as session:
            new_id = insert_ignore(
                session,
                SeriesTypeRow.__table__,  # type: ignore[arg-type]
                {"name": name},
                ["name"],
            )
        if new_id is None:
            raise InvalidInput(f"A series type named {name!r} already exists")
        return SeriesType(new_id, name)

    def rename(self, series_type_id: int, name: str) -> SeriesType:
        """Rename a type (no re-evaluation, as in the original).

        Raises:
            NotFound: unknown type.
            InvalidInput: an empty name, or another type has it.
        """
        name = _check_name(name)
        try:
            with self._db.write() as session:
                result = session.execute(
                    update(SeriesTypeRow)
                    .where(SeriesTypeRow.id == series_type_id)
                    .values(name=name)
                )
                if result.rowcount == 0:  # type: ignore[attr-defined]
                    raise NotFound(f"Series type not found: {series_type_id}")
        except IntegrityError:
            raise InvalidInput(f"A series type named {name!r} already exists") from None
        return SeriesType(series_type_id, name)

    def delete(self, series_type_id: int) -> None:
        """Delete a type with its rules and assignments; re-evaluates every series.

        An unknown id does nothing.
        """
        with self._db.write() as session:
            result = session.execute(
                delete(SeriesTypeRow).where(SeriesTypeRow.id == series_type_id)
            )
            changed = bool(result.rowcount)  # type: ignore[attr-defined]
            if changed:
                self._request_all(session)
        if changed:
            self._events.publish(SeriesTypesChanged())

    # rules -------------------------------------------------------------------------------
    def rules(self, series_type_id: int) -> builtins.list[SeriesTypeRule]:
        """The rules of a type ([] for an unknown type)."""
        stmt = (
            select(SeriesTypeRuleRow)
            .where(SeriesTypeRuleRow.seriestypeid == series_type_id)
            .order_by(SeriesTypeRuleRow.id)
        )
        with self._db.read() as session:
            return [SeriesTypeRule(row.id, row.seriestypeid) for row in session.scalars(stmt)]

    def add_rule(self, series_type_id: int) -> SeriesTypeRule:
        """Add an empty rule (it matches every series once evaluated; no evaluation now).

        Raises:
            NotFound: unknown series type.
        """
        with self._db.write() as session:
            if session.get(SeriesTypeRow, series_type_id) is None:
                raise NotFound(f"Series type not found: {series_type_id}")
            row = SeriesTypeRuleRow(seriestypeid=series_type_id)
            session.add(row)
            session.flush()
            return SeriesTypeRule(row.id, row.seriestypeid)

    def delete_rule(self, rule_id: int) -> None:
        """Delete a rule and its attributes; re-evaluates every series. Unknown id: no-op."""
        with self._db.write() as session:
            result = session.execute(
                delete(SeriesTypeRuleRow).where(SeriesTypeRuleRow.id == rule_id)
            )
            changed = bool(result.rowcount)  # type: ignore[attr-defined]
            if changed:
                self._request_all(session)
        if changed:
            self._events.publish(SeriesTypesChanged())

    # rule attributes ----------------------------------------------------------------------
    def attributes(self, rule_id: int) -> builtins.list[SeriesTypeRuleAttribute]:
        """The attributes of a rule ([] for an unknown rule)."""
        stmt = (
            select(SeriesTypeRuleAttributeRow)
            .where(SeriesTypeRuleAttributeRow.seriestyperuleid == rule_id)
            .order_by(SeriesTypeRuleAttributeRow.id)
        )
        with self._db.read() as session:
            return [_attribute(row) for row in session.scalars(stmt)]

    def add_attribute(
        self,
        rule_id: int,
        *,
        tag: int,
        values: str,
        name: str = "",
        tag_path: str | None = None,
        name_path: str | None = None,
    ) -> SeriesTypeRuleAttribute:
        """Add a condition to a rule; re-evaluates every series.

        Args:
            rule_id: the rule.
            tag: the attribute, e.g. ``0x00080060`` (Modality).
            values: the text it must equal (several values joined by ``,``).
            name: its keyword; "" = looked up in the dictionary.
            tag_path: decimal tags of enclosing sequences, comma-separated, outermost first.
            name_path: keywords of ``tag_path`` (display only; filled in when None).

        Raises:
            NotFound: unknown rule.
            InvalidInput: see :func:`check_attribute`.
        """
        if not isinstance(values, str):
            raise InvalidInput("values must be a string")
        name, tag_path, name_path = check_attribute(tag, name, tag_path, name_path)
        with self._db.write() as session:
            if session.get(SeriesTypeRuleRow, rule_id) is None:
                raise NotFound(f"Series type rule not found: {rule_id}")
            row = SeriesTypeRuleAttributeRow(
                seriestyperuleid=rule_id,
                tag=tag,
                name=name,
                tagpath=tag_path,
                namepath=name_path,
                values=values,
            )
            session.add(row)
            session.flush()
            attribute = _attribute(row)
            self._request_all(session)
        self._events.publish(SeriesTypesChanged())
        return attribute

    def delete_attribute(self, rule_id: int, attribute_id: int) -> None:
        """Delete a condition; re-evaluates every series. Unknown ids: no-op."""
        with self._db.write() as session:
            result = session.execute(
                delete(SeriesTypeRuleAttributeRow).where(
                    SeriesTypeRuleAttributeRow.id == attribute_id,
                    SeriesTypeRuleAttributeRow.seriestyperuleid == rule_id,
                )
            )
            changed = bool(result.rowcount)  # type: ignore[attr-defined]
            if changed:
                self._request_all(session)
        if changed:
            self._events.publish(SeriesTypesChanged())

    # assignments ---------------------------------------------------------------------------
    def series_types_for(self, series_ids: Iterable[int]) -> builtins.list[SeriesIdSeriesType]:
        """Types of each series (bulk lookup; unknown ids are simply absent)."""
        ids = builtins.list(dict.fromkeys(int(i) for i in series_ids))
        if not ids:
            return []
        out: builtins.list[SeriesIdSeriesType] = []
        with self._db.read() as session:
            for start in range(0, len(ids), 1000):
                stmt = (
                    select(SeriesSeriesTypeRow.seriesid, SeriesTypeRow.id, SeriesTypeRow.name)
                    .join(SeriesTypeRow, SeriesTypeRow.id == SeriesSeriesTypeRow.seriestypeid)
                    .where(SeriesSeriesTypeRow.seriesid.in_(ids[start : start + 1000]))
                    .order_by(SeriesSeriesTypeRow.seriesid, SeriesTypeRow.id)
                )
                out.extend(
                    SeriesIdSeriesType(sid, SeriesType(tid, tname))
                    for sid, tid, tname in session.execute(stmt)
                )
        return out

    def update_running(self) -> bool:
        """True while series wait for (re-)evaluation (``GET .../rules/updatestatus``)."""
        return self._outbox.pending(KINDS) > 0

    def request_update(self, series_id: int | None = None) -> None:
        """Ask the worker to re-evaluate one series, or every series (None)."""
        if series_id is None:
            self._db.run_write(self._request_all)
        else:
            self._outbox.request(SERIES, str(series_id))
        self._events.publish(SeriesTypesChanged())

    def _request_all(self, session: Session) -> None:
        Outbox.enqueue(session, ALL, "all")

    # durable hooks ------------------------------------------------------------------------
    def enqueue_for_ingest(self, session: Session, result: IngestResult, source: Source) -> None:
        """``ImageService.in_transaction`` hook: request evaluation of the image's series.

        Skipped while no series type exists (nothing could be assigned or removed then).
        """
        if session.execute(select(exists().where(SeriesTypeRow.id.is_not(None)))).scalar():
            Outbox.enqueue(session, SERIES, str(result.image.series_id))

    def handlers(self) -> dict[str, Handler]:
        """The outbox handlers of this service, by kind (for the automation worker)."""
        return {SERIES: self._handle_series, ALL: self._handle_all}

    def _handle_all(self, item: WorkItem, complete: Complete) -> None:
        def write(session: Session) -> None:
            Outbox.enqueue_select(session, SERIES, select(SeriesRow.id))
            complete(session)

        self._db.run_write(write)

    def _handle_series(self, item: WorkItem, complete: Complete) -> None:
        self.evaluate(int(item.key), complete=complete)

    # evaluation ---------------------------------------------------------------------------
    def _load_rules(self) -> builtins.list[r.Rule]:
        with self._db.read() as session:
            rule_rows = session.execute(
                select(SeriesTypeRuleRow.id, SeriesTypeRuleRow.seriestypeid).order_by(
                    SeriesTypeRuleRow.id
                )
            ).all()
            attribute_rows = session.scalars(
                select(SeriesTypeRuleAttributeRow).order_by(SeriesTypeRuleAttributeRow.id)
            ).all()
        conditions: dict[int, builtins.list[r.Condition]] = {}
        for row in attribute_rows:
            try:
                sequences = r.parse_tag_path(row.tagpath)
            except ValueError:  # spec §5.7: a bad path falls back to the top level
                sequences = ()
            conditions.setdefault(row.seriestyperuleid, []).append(
                r.Condition(row.tag, row.values, sequences)
            )
        return [
            r.Rule(type_id, tuple(conditions.get(rule_id, ()))) for rule_id, type_id in rule_rows
        ]

    def _read_first_image(self, series_id: int, tags: set[int]) -> Dataset | None:
        """Header of the first image of the series (only ``tags``); None if no image."""
        with self._db.read() as session:
            image_id = session.scalar(
                select(ImageRow.id)
                .where(ImageRow.seriesId == series_id)
                .order_by(ImageRow.id)
                .limit(1)
            )
        if image_id is None:
            return None
        path, temporary = self._images.local_file(image_id)
        try:
            return dcmread(
                path,
                stop_before_pixels=True,
                specific_tags=sorted(tags | {SPECIFIC_CHARACTER_SET}),
            )
        finally:
            if temporary:
                path.unlink(missing_ok=True)

    def evaluate(self, series_id: int, *, complete: Complete | None = None) -> builtins.list[int]:
        """Re-evaluate one series now: remove all its types (manual ones too, spec §5.7) and
        assign every type with a matching rule.

        Args:
            series_id: the series; an unknown one is ignored.
            complete: (worker) finishes the outbox item in the same transaction.

        Returns:
            The ids of the assigned types.

        Raises:
            NotFound: the first image's file is missing (the worker retries, then gives up).
        """
        rules = self._load_rules()
        needed = r.top_level_tags(rules)
        ds: Dataset | None = None
        if needed:
            ds = self._read_first_image(series_id, needed)
        matched = sorted(r.matching_types(ds, rules)) if (ds is not None or not needed) else []

        def write(session: Session) -> builtins.list[int]:
            session.execute(
                delete(SeriesSeriesTypeRow).where(SeriesSeriesTypeRow.seriesid == series_id)
            )
            assigned: builtins.list[int] = []
            if matched and session.get(SeriesRow, series_id) is not None:
                existing = set(
                    session.scalars(select(SeriesTypeRow.id).where(SeriesTypeRow.id.in_(matched)))
                )
                assigned = [t for t in matched if t in existing]
                if assigned:
                    session.execute(
                        insert(SeriesSeriesTypeRow),
                        [{"seriesid": series_id, "seriestypeid": t} for t in assigned],
                    )
            if complete is not None:
                complete(session)
            return assigned

        result: builtins.list[int] = self._db.run_write(write)
        return result
