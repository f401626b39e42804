"""Forwarding rules and the durable delivery of their batches (spec §3.13, §5.6).

Everything is a row; nothing that a restart needs lives in memory:

* **Enqueue** — :meth:`ForwardingService.enqueue_for_ingest` is an ``ImageService.in_transaction``
  hook: the image joins its rules' fresh batches *in the ingest transaction*, so an image whose
  ingest committed is in a batch, and one whose ingest failed is in none.
* **Dispatch** — a worker claims batches that went quiet for ``batch_idle_s`` (one statement,
  ``FOR UPDATE SKIP LOCKED`` + a lease, :func:`slicebox_core.outbox.claim.claim_rows`). A box
  batch becomes a box transaction in the same database transaction that records its id on the
  batch (:meth:`BoxService.queue`), so a crash leaves either both or neither and a batch is
  queued once. An SCU batch is C-STOREd, then marked delivered; a crash in between sends it
  again after the lease (C-STORE of the same instance is idempotent at the receiver).
* **Delivery** — box batches are delivered when their box transaction is FINISHED, read from
  the database by whichever worker looks (the transfer may finish in another process).
* **Finalize** — delivered batches are removed, and with them their images when the rule says
  so and no batch of the same source is undelivered (spec §5.6 step 4).

Failures (destination gone or unreachable, box transfer FAILED) send the *same* batch again
after an exponential back-off, logged as "Trying again later".

    >>> forwarding = ForwardingService(db, images, log, boxes=boxes, network=network)
    >>> images.in_transaction.append(forwarding.enqueue_for_ingest)
    >>> rule = forwarding.create(ForwardingRule(-1, scp_source, box_destination, True))
    >>> forwarding.run_once(owner="me")          # what the worker does every few seconds
"""

from __future__ import annotations

import builtins
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    delete,
    false,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.tables import (
    ForwardingRuleRow,
    ForwardingTransactionImageRow,
    ForwardingTransactionRow,
    OutgoingTransactionRow,
)
from ..db.upsert import insert_ignore
from ..errors import InvalidInput, NotFound
from ..images.service import LIBRARY_SOURCE, ImageService
from ..index.query import check_paging
from ..log.service import LogService
from ..models.anonymization import BulkAnonymizationData, ImageTagValues
from ..models.boxes import TransactionStatus
from ..models.forwarding import ForwardingRule, ForwardingTransaction
from ..models.index import Destination, IngestResult, Source, SourceType
from ..outbox.claim import claim_rows, claimable
from . import rules as r
from .config import ForwardingConfig

if TYPE_CHECKING:
    from ..boxes.service import BoxService
    from ..network.service import NetworkService
    from ..system import SystemService

log = logging.getLogger(__name__)

FR: Table = ForwardingRuleRow.__table__  # type: ignore[assignment]
FT: Table = ForwardingTransactionRow.__table__  # type: ignore[assignment]
FTI: Table = ForwardingTransactionImageRow.__table__  # type: ignore[assignment]
# the box transactions batches became: their status says when a batch was delivered
OT: Table = OutgoingTransactionRow.__table__  # type: ignore[assignment]


def now_ms() -> int:
    return int(time.time() * 1000)


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def rule_from_row(row: Any) -> ForwardingRule:
    try:
        source_type = SourceType(row.sourcetype)
    except ValueError:
        source_type = SourceType.UNKNOWN
    return ForwardingRule(
        row.id,
        Source(source_type, row.sourcename, row.sourceid),
        Destination(row.destinationtype, row.destinationname, row.destinationid),
        bool(row.keepimages),
    )


_ENQUEUE: dict[str, tuple[Any, Any]] = {}


def _enqueue_statements(dialect: str) -> tuple[Any, Any]:
    """The two statements of :meth:`ForwardingService.enqueue_for_ingest` for ``dialect``."""
    cached = _ENQUEUE.get(dialect)
    if cached is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        now = bindparam("now", type_=BigInteger())
        rules = select(
            FR.c.id,
            FR.c.id,
            now,
            now,
            false(),
            false(),
            literal(0, Integer()),
            literal(0, BigInteger()),
            literal("", String()),
        ).where(
            FR.c.sourcetype == bindparam("source_type", type_=String()),
            FR.c.sourceid == bindparam("source_id", type_=BigInteger()),
        )
        add_batches = insert(FT).from_select(
            [
                "forwardingruleid",
                "open_rule_id",
                "created",
                "updated",
                "enroute",
                "delivered",
                "attempts",
                "next_attempt_at",
                "last_error",
            ],
            rules,
        )
        batches = add_batches.on_conflict_do_update(
            index_elements=["open_rule_id"], set_={"updated": add_batches.excluded.updated}
        ).returning(FT.c.id)
        images = insert(FTI).on_conflict_do_nothing(
            index_elements=["forwardingtransactionid", "imageid"]
        )
        cached = _ENQUEUE[dialect] = (batches, images)
    return cached


@attrs.frozen
class Batch:
    """A batch claimed for dispatch: its id, rule and claims so far (this one included)."""

    id: int
    rule_id: int
    attempts: int


@attrs.frozen
class PassResult:
    """What one pass of :meth:`ForwardingService.run_once` did."""

    dispatched: int = 0
    delivered: int = 0
    finalized: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.dispatched or self.delivered or self.finalized)


class _LeaseLost(Exception):
    """Raised inside a write to roll it back: another worker holds the batch now."""


class ForwardingService:
    """Forwarding rules, and the batches that carry their images to boxes and SCUs.

    Args:
        db: the index.
        images: deletes forwarded images of rules that do not keep them.
        log: the system log (subject ``Forwarding``).
        boxes: queues box batches and reports their transfers; None: box batches wait.
        network: C-STOREs SCU batches; None: SCU batches wait.
        system: names and checks the sources and destinations of new rules; None accepts
            what a rule says.
        config: timings.

    ``boxes`` and ``network`` are attributes, so a facade that builds them later may set
    them afterwards.
    """

    def __init__(
        self,
        db: Database,
        images: ImageService,
        log: LogService,
        *,
        boxes: BoxService | None = None,
        network: NetworkService | None = None,
        system: SystemService | None = None,
        config: ForwardingConfig = ForwardingConfig(),
    ) -> None:
        self._db = db
        self._images = images
        self._log = log
        self.boxes = boxes
        self.network = network
        self._system = system
        self.config = config

    # --- rules (spec §3.13) -----------------------------------------------------------------

    def list(self, *, start_index: int = 0, count: int = 20) -> builtins.list[ForwardingRule]:
        """Rules by id, paged.

        Raises:
            InvalidInput: negative paging.
        """
        check_paging(start_index, count)
        stmt = select(FR).order_by(FR.c.id).offset(start_index).limit(count)
        with self._db.read() as session:
            return [rule_from_row(row) for row in session.execute(stmt)]

    def get(self, rule_id: int) -> ForwardingRule:
        """Raises NotFound."""
        with self._db.read() as session:
            row = session.execute(select(FR).where(FR.c.id == rule_id)).one_or_none()
        if row is None:
            raise NotFound(f"No forwarding rule found for id {rule_id}")
        return rule_from_row(row)

    def _find(self, session: Session, rule: ForwardingRule) -> Any:
        return session.execute(
            select(FR).where(
                FR.c.sourcetype == str(rule.source.source_type),
                FR.c.sourceid == rule.source.source_id,
                FR.c.destinationtype == rule.destination.destination_type,
                FR.c.destinationid == rule.destination.destination_id,
            )
        ).one_or_none()

    def create(self, rule: ForwardingRule) -> ForwardingRule:
        """Add a rule; its ``id`` is ignored. Names are taken from the current source and
        destination.

        Returns:
            The new rule, or the existing one for the same source and destination (unchanged,
            even when ``keep_images`` differs, as in the original).

        Raises:
            InvalidInput: a source type images do not come from, a destination that is not a
                box or an SCU, or a source or destination that does not exist.
        """
        r.check_rule(rule)
        with self._db.read() as session:
            existing = self._find(session, rule)
        if existing is not None:
            return rule_from_row(existing)
        source_name = self._source_name(rule.source)
        destination_name = self._destination_name(rule.destination)
        values = {
            "sourcetype": str(rule.source.source_type),
            "sourcename": source_name,
            "sourceid": rule.source.source_id,
            "destinationtype": rule.destination.destination_type,
            "destinationname": destination_name,
            "destinationid": rule.destination.destination_id,
            "keepimages": bool(rule.keep_images),
        }

        def write(session: Session) -> Any:
            insert_ignore(
                session,
                FR,
                values,
                ["sourcetype", "sourceid", "destinationtype", "destinationid"],
                returning=False,
            )
            return self._find(session, rule)

        return rule_from_row(self._db.run_write(write))

    def _source_name(self, source: Source) -> str:
        if self._system is None:
            return source.source_name
        if (source.source_type, source.source_id) == (
            LIBRARY_SOURCE.source_type,
            LIBRARY_SOURCE.source_id,
        ):
            return LIBRARY_SOURCE.source_name
        for known in self._system.sources():
            if (known.source_type, known.source_id) == (source.source_type, source.source_id):
                return known.source_name
        raise InvalidInput(f"No source {source.source_type} with id {source.source_id}")

    def _destination_name(self, destination: Destination) -> str:
        if self._system is None:
            return destination.destination_name
        for known in self._system.destinations():
            if (known.destination_type, known.destination_id) == (
                destination.destination_type,
                destination.destination_id,
            ):
                return known.destination_name
        raise InvalidInput(
            f"No destination {destination.destination_type} with id {destination.destination_id}"
        )

    def delete(self, rule_id: int) -> None:
        """Delete a rule and its pending batches (spec §3.13). An unknown id does nothing."""
        self._db.run_write(lambda session: session.execute(delete(FR).where(FR.c.id == rule_id)))

    # --- enqueue (spec §5.6 step 1), inside the ingest transaction ---------------------------

    def enqueue_for_ingest(self, session: Session, result: IngestResult, source: Source) -> None:
        """``ImageService.in_transaction`` hook: add the image (new or overwritten) to the
        fresh batch of every rule of its source, creating the batch if needed.

        One ``INSERT ... SELECT ... ON CONFLICT (open_rule_id) DO UPDATE ... RETURNING``
        finds or creates the batches (and marks them updated now), one more statement adds
        the image. On PostgreSQL the first locks the fresh batches until the ingest commits,
        so a worker cannot dispatch a batch while an image is joining it. The statements are
        built once per dialect: building them costs more than running them (~30 µs on SQLite
        when the source has no rule).
        """
        batches, images = _enqueue_statements(session.get_bind().dialect.name)
        params = {
            "source_type": str(source.source_type),
            "source_id": source.source_id,
            "now": now_ms(),
        }
        batch_ids = session.execute(batches, params).scalars().all()
        if batch_ids:
            session.execute(
                images,
                [{"forwardingtransactionid": b, "imageid": result.image.id} for b in batch_ids],
            )

    # --- observing ----------------------------------------------------------------------------

    def transactions(self) -> builtins.list[ForwardingTransaction]:
        """Every batch not yet finalized, oldest first, with its image ids in order."""
        with self._db.read() as session:
            rows = session.execute(select(FT).order_by(FT.c.id)).all()
            images: dict[int, builtins.list[int]] = {}
            for batch_id, image_id in session.execute(
                select(FTI.c.forwardingtransactionid, FTI.c.imageid).order_by(FTI.c.id)
            ):
                images.setdefault(batch_id, []).append(image_id)
        return [
            ForwardingTransaction(
                row.id,
                row.forwardingruleid,
                row.created,
                row.updated,
                bool(row.enroute),
                bool(row.delivered),
                row.outgoingtransactionid,
                row.attempts,
                tuple(images.get(row.id, ())),
            )
            for row in rows
        ]

    def pending(self) -> int:
        """Batches not yet finalized (fresh, enroute or delivered)."""
        with self._db.read() as session:
            return int(session.scalar(select(func.count()).select_from(FT)) or 0)

    # --- the worker's pass --------------------------------------------------------------------

    def run_once(self, *, owner: str) -> PassResult:
        """One pass: dispatch due batches, record finished box transfers, finalize delivered
        batches. Safe to run in several processes at once."""
        dispatched = self.dispatch_due(owner=owner)
        delivered = self.check_deliveries()
        finalized = self.finalize(owner=owner)
        return PassResult(dispatched, delivered, finalized)

    def next_due_s(self) -> float | None:
        """Seconds until a batch is known to become due (fresh batch idle, back-off over, a
        running lease over); None when nothing waits for a time. Due batches that a pass
        cannot take (a fresh batch an ingest holds on PostgreSQL) may report 0 briefly."""
        now = now_ms()
        retrying = and_(
            FT.c.enroute.is_(True),
            FT.c.delivered.is_(False),
            FT.c.outgoingtransactionid.is_(None),
        )
        with self._db.read() as session:
            last_image = session.scalar(
                select(func.min(FT.c.updated)).where(FT.c.open_rule_id.is_not(None))
            )
            retry_at = session.scalar(
                select(func.min(FT.c.next_attempt_at)).where(retrying, FT.c.claimed_by.is_(None))
            )
            lease_end = session.scalar(  # leases already over are the pass's business
                select(func.min(FT.c.lease_until)).where(FT.c.lease_until > now)
            )
        dues = [
            *(
                [r.due_at_ms(last_image, self.config.batch_idle_s)]
                if last_image is not None
                else []
            ),
            *([retry_at] if retry_at is not None else []),
            *([lease_end + 1] if lease_end is not None else []),
        ]
        if not dues:
            return None
        return max(0.0, (min(dues) - now) / 1000)

    # dispatch (spec §5.6 step 2) ---------------------------------------------------------------

    def _claim_due(self, *, owner: str, limit: int) -> builtins.list[Batch]:
        now = now_ms()
        idle_ms = int(self.config.batch_idle_s * 1000)
        fresh = and_(FT.c.open_rule_id.is_not(None), FT.c.updated <= now - idle_ms)
        retry = and_(
            FT.c.enroute.is_(True),
            FT.c.delivered.is_(False),
            FT.c.outgoingtransactionid.is_(None),
            FT.c.next_attempt_at <= now,
            claimable(FT, now),
        )
        candidates = select(FT.c.id).where(or_(fresh, retry)).order_by(FT.c.id).limit(limit)
        stmt = (
            claim_rows(
                FT, candidates, owner=owner, now_ms=now, lease_ms=int(self.config.lease_s * 1000)
            )
            .values(enroute=True, open_rule_id=None)
            .returning(FT.c.id, FT.c.forwardingruleid, FT.c.attempts)
        )
        rows = self._db.run_write(lambda session: session.execute(stmt).all())
        return sorted((Batch(*row) for row in rows), key=lambda b: b.id)

    def dispatch_due(self, *, owner: str, limit: int | None = None) -> int:
        """Claim the due batches and hand each to its destination; returns how many were
        handed over (or found empty)."""
        batches = self._claim_due(owner=owner, limit=limit or self.config.batch)
        done = 0
        for batch in batches:
            try:
                done += self._dispatch(batch, owner=owner)
            except Exception:  # the index failed: the lease returns the batch later
                log.exception("forwarding batch %d could not be dispatched", batch.id)
        return done

    def _load(
        self, batch_id: int, rule_id: int
    ) -> tuple[ForwardingRule | None, builtins.list[int]]:
        with self._db.read() as session:
            row = session.execute(select(FR).where(FR.c.id == rule_id)).one_or_none()
            image_ids = session.scalars(
                select(FTI.c.imageid)
                .where(FTI.c.forwardingtransactionid == batch_id)
                .order_by(FTI.c.id)
            ).all()
        return (rule_from_row(row) if row is not None else None), list(image_ids)

    def _dispatch(self, batch: Batch, *, owner: str) -> int:
        rule, image_ids = self._load(batch.id, batch.rule_id)
        if rule is None:  # deleted meanwhile; the cascade removed the batch
            return 0
        if not image_ids:  # every image was deleted: nothing to forward
            self._db.run_write(
                lambda session: session.execute(
                    delete(FT).where(FT.c.id == batch.id, FT.c.claimed_by == owner)
                )
            )
            return 1
        self._log.info(r.SUBJECT, r.dispatch_message(rule, len(image_ids)))
        try:
            if rule.destination.destination_type == "box":
                self._send_to_box(batch, rule, image_ids, owner=owner)
            else:
                self._send_to_scu(batch, rule, image_ids, owner=owner)
        except _LeaseLost:
            log.warning("forwarding batch %d was taken over by another worker", batch.id)
            return 0
        except Exception as exc:
            self._retry(batch, rule, len(image_ids), _describe(exc), owner=owner)
        return 1

    def _send_to_box(
        self, batch: Batch, rule: ForwardingRule, image_ids: Sequence[int], *, owner: str
    ) -> None:
        boxes = self.boxes
        if boxes is None:
            raise RuntimeError("boxes are not available in this process")
        box = boxes.get(rule.destination.destination_id)  # NotFound: retried, logged
        # spec §5.6 step 2 / §5.4.1: the box's default profile (+ basic), no custom values
        data = BulkAnonymizationData(
            box.default_profile, tuple(ImageTagValues(i, ()) for i in image_ids)
        )

        def write(session: Session) -> Any:
            transaction = boxes.queue(session, box.id, data)
            marked = session.execute(
                update(FT)
                .where(FT.c.id == batch.id, FT.c.claimed_by == owner)
                .values(
                    outgoingtransactionid=transaction.id,
                    claimed_by=None,
                    lease_until=None,
                    last_error="",
                )
            )
            if not marked.rowcount:  # type: ignore[attr-defined]
                raise _LeaseLost  # roll the box transaction back with it
            return transaction

        boxes.queued(self._db.run_write(write))

    def _send_to_scu(
        self, batch: Batch, rule: ForwardingRule, image_ids: Sequence[int], *, owner: str
    ) -> None:
        network = self.network
        if network is None:
            raise RuntimeError("DICOM networking is not available in this process")
        network.send(
            rule.destination.destination_id, image_ids, progress=self._renewer(batch, owner)
        )
        marked = self._db.run_write(
            lambda session: (
                session.execute(
                    update(FT)
                    .where(FT.c.id == batch.id, FT.c.claimed_by == owner)
                    .values(
                        delivered=True,
                        enroute=False,
                        claimed_by=None,
                        lease_until=None,
                        last_error="",
                    )
                ).rowcount
            )
        )
        if not marked:
            log.warning("forwarding batch %d was taken over while it was sent", batch.id)

    def _renewer(self, batch: Batch, owner: str) -> Callable[[int, int], None]:
        """A progress callback that extends the batch's lease while images keep going out,
        at most every third of a lease."""
        lease_ms = int(self.config.lease_s * 1000)
        last = [time.monotonic()]

        def renew(done: int, total: int) -> None:
            if time.monotonic() - last[0] < self.config.lease_s / 3:
                return
            last[0] = time.monotonic()
            self._db.run_write(
                lambda session: session.execute(
                    update(FT)
                    .where(FT.c.id == batch.id, FT.c.claimed_by == owner)
                    .values(lease_until=now_ms() + lease_ms)
                )
            )

        return renew

    def _retry(
        self, batch: Batch, rule: ForwardingRule, count: int, error: str, *, owner: str
    ) -> None:
        delay = r.backoff_s(
            batch.attempts, base_s=self.config.retry_interval_s, cap_s=self.config.max_backoff_s
        )
        self._db.run_write(
            lambda session: session.execute(
                update(FT)
                .where(FT.c.id == batch.id, FT.c.claimed_by == owner)
                .values(
                    claimed_by=None,
                    lease_until=None,
                    next_attempt_at=now_ms() + int(delay * 1000),
                    last_error=error[:2000],
                )
            )
        )
        self._log.warn(r.SUBJECT, r.retry_message(rule, count, error, delay))

    # delivery (spec §5.6 step 3) ---------------------------------------------------------------

    def check_deliveries(self) -> int:
        """Mark box batches delivered whose box transaction FINISHED; queue those whose
        transaction FAILED again later; drop those whose transaction a user deleted.
        Returns how many were marked delivered.

        The statuses are read from the box transactions' rows directly (one statement for all
        batches, whichever process finished the transfer), not from in-process events.
        """
        awaiting = and_(
            FT.c.enroute.is_(True),
            FT.c.delivered.is_(False),
            FT.c.outgoingtransactionid.is_not(None),
        )
        finished = (
            select(OT.c.id)
            .where(
                OT.c.id == FT.c.outgoingtransactionid,
                OT.c.status == TransactionStatus.FINISHED.value,
            )
            .exists()
        )
        delivered: int = self._db.run_write(
            lambda session: (
                session.execute(
                    update(FT).where(awaiting, finished).values(delivered=True, enroute=False)
                ).rowcount
            )
        )
        troubled = (
            select(
                FT.c.id,
                FT.c.forwardingruleid,
                FT.c.outgoingtransactionid,
                FT.c.attempts,
                OT.c.status,
            )
            .select_from(FT.outerjoin(OT, OT.c.id == FT.c.outgoingtransactionid))
            .where(awaiting, or_(OT.c.id.is_(None), OT.c.status == TransactionStatus.FAILED.value))
            .order_by(FT.c.id)
        )
        with self._db.read() as session:
            rows = session.execute(troubled).all()
        for batch_id, rule_id, outgoing_id, attempts, status in rows:
            outcome = r.delivery_for(TransactionStatus(status) if status is not None else None)
            if outcome in (r.Delivery.RETRY, r.Delivery.CANCELLED):
                self._box_trouble(batch_id, rule_id, outgoing_id, attempts, outcome)
        return int(delivered)

    def _box_trouble(
        self, batch_id: int, rule_id: int, outgoing_id: int, attempts: int, outcome: r.Delivery
    ) -> None:
        """A batch's box transaction FAILED (queue the batch again after a back-off) or was
        deleted (drop the batch)."""
        this = and_(FT.c.id == batch_id, FT.c.outgoingtransactionid == outgoing_id)
        count = self._image_count(batch_id)
        try:
            rule = self.get(rule_id)
        except NotFound:  # deleted meanwhile: its batches went with it
            return
        box = rule.destination.destination_name
        if outcome == r.Delivery.CANCELLED:
            removed = self._db.run_write(
                lambda session: session.execute(delete(FT).where(this)).rowcount
            )
            if removed:
                self._log.warn(
                    r.SUBJECT,
                    f"Forwarding {count} images to box {box} was cancelled: box transaction "
                    f"{outgoing_id} was deleted.",
                )
            return
        delay = r.backoff_s(
            attempts, base_s=self.config.retry_interval_s, cap_s=self.config.max_backoff_s
        )
        error = f"box transaction {outgoing_id} failed"
        reset = self._db.run_write(
            lambda session: (
                session.execute(
                    update(FT)
                    .where(this)
                    .values(
                        outgoingtransactionid=None,
                        next_attempt_at=now_ms() + int(delay * 1000),
                        last_error=error,
                    )
                ).rowcount
            )
        )
        if reset:
            self._log.warn(r.SUBJECT, r.retry_message(rule, count, error, delay))

    def _image_count(self, batch_id: int) -> int:
        with self._db.read() as session:
            return int(
                session.scalar(
                    select(func.count()).where(FTI.c.forwardingtransactionid == batch_id)
                )
                or 0
            )

    # finalize (spec §5.6 step 4) ---------------------------------------------------------------

    def finalize(self, *, owner: str, limit: int | None = None) -> int:
        """Remove delivered batches, deleting the images of rules that do not keep them once
        no batch of the same source is undelivered. Returns how many batches were removed."""
        now = now_ms()
        limit = limit or self.config.batch
        with self._db.read() as session:
            rows = session.execute(
                select(
                    FT.c.id, FT.c.forwardingruleid, FR.c.sourcetype, FR.c.sourceid, FR.c.keepimages
                )
                .join(FR, FR.c.id == FT.c.forwardingruleid)
                .where(FT.c.delivered.is_(True), claimable(FT, now))
                .order_by(FT.c.id)
            ).all()  # all of them: a blocked head must not starve ready ones behind it
            if not rows:
                return 0
            undelivered = session.execute(
                select(FR.c.sourcetype, FR.c.sourceid)
                .join(FT, FT.c.forwardingruleid == FR.c.id)
                .where(FT.c.delivered.is_(False))
                .distinct()
            ).all()
        delivered = [
            r.DeliveredBatch(
                row.id, row.forwardingruleid, (row.sourcetype, row.sourceid), bool(row.keepimages)
            )
            for row in rows
        ]
        ready = r.finalizable(delivered, [(t, i) for t, i in undelivered])[:limit]
        if not ready:
            return 0
        ids = [b.transaction_id for b in ready]
        claim = claim_rows(
            FT,
            select(FT.c.id).where(FT.c.id.in_(ids), FT.c.delivered.is_(True), claimable(FT, now)),
            owner=owner,
            now_ms=now,
            lease_ms=int(self.config.lease_s * 1000),
        ).returning(FT.c.id)
        owned_ids = set(self._db.run_write(lambda session: session.execute(claim).scalars().all()))
        owned = [b for b in ready if b.transaction_id in owned_ids]
        if not owned:
            return 0
        deleting = [b.transaction_id for b in owned if not b.keep_images]
        images: dict[int, builtins.list[int]] = {}
        if deleting:
            with self._db.read() as session:
                for batch_id, image_id in session.execute(
                    select(FTI.c.forwardingtransactionid, FTI.c.imageid)
                    .where(FTI.c.forwardingtransactionid.in_(deleting))
                    .order_by(FTI.c.id)
                ):
                    images.setdefault(batch_id, []).append(image_id)
        to_delete = r.images_to_delete(owned, images)
        if to_delete:  # first the images: a crash before the rows go repeats this harmlessly
            self._images.delete_many(to_delete)
        removed = self._db.run_write(
            lambda session: (
                session.execute(
                    delete(FT).where(
                        FT.c.id.in_([b.transaction_id for b in owned]), FT.c.claimed_by == owner
                    )
                ).rowcount
            )
        )
        if removed:
            self._log.info(r.SUBJECT, f"Finalized {removed} transactions.")
        return int(removed)

    # crash recovery ----------------------------------------------------------------------------

    def release_dead_claims(self) -> int:
        """End the leases of workers on this host whose process is gone (a crash), so their
        batches need not wait for the lease. Returns how many batches were released."""
        prefix = f"{socket.gethostname()}:"
        with self._db.read() as session:
            owners = session.scalars(
                select(FT.c.claimed_by).where(FT.c.claimed_by.startswith(prefix)).distinct()
            ).all()
        dead = []
        for claimant in owners:
            try:
                pid = int(claimant[len(prefix) :].split(":", 1)[0])
            except ValueError:
                continue
            if not _pid_alive(pid):
                dead.append(claimant)
        if not dead:
            return 0
        released: int = self._db.run_write(
            lambda session: (
                session.execute(
                    update(FT).where(FT.c.claimed_by.in_(dead)).values(lease_until=0)
                ).rowcount
            )
        )
        return released


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
