"""Boxes: connections, queueing and listings, the sending side's durable image rows, and the
handlers of the box protocol a remote calls (spec §3.8, §3.9, §5.5).

Transfer state lives in the database only. An outgoing image is a row that a worker (PUSH)
or a remote poller (POLL) *claims* with a lease (``outbox.claim.claim_rows``, multi-process
safe); it is marked sent in one transaction with the transaction's counters, so a crash
anywhere leaves it either unsent (and sent again) or sent. The receiver makes the repeat
harmless: it records the sender's (transaction, sequence number) in the *same* transaction
as the ingested image, and a sequence number it already has is not stored again.

    >>> boxes = BoxService(db, images, anonymization, log, events)
    >>> box = boxes.connect(RemoteBox("hospital", url, AnonymizationProfile()))
    >>> tx = boxes.send(box.id, BulkAnonymizationData(profile, image_tag_values))
"""

from __future__ import annotations

import builtins
import contextlib
import enum
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, BinaryIO, cast

import attrs
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from ..anonymize.keys import parse_tag_path
from ..anonymize.profile import resolve_profile
from ..anonymize.service import AnonymizationService
from ..db.engine import Database
from ..db.tables import (
    BoxRow,
    ImageRow,
    IncomingImageRow,
    IncomingTransactionRow,
    OutgoingImageRow,
    OutgoingTagValueRow,
    OutgoingTransactionRow,
)
from ..db.upsert import insert_ignore
from ..errors import InvalidDicom, InvalidInput, NotFound, Unauthorized
from ..events import EventBus, ImagesSent, SourceAdded, SourceDeleted
from ..images.service import ImageService
from ..index.query import check_paging
from ..index.rows import image_from_row
from ..log.service import LogService
from ..models.anonymization import AnonymizationProfile, BulkAnonymizationData, TagValue
from ..models.boxes import (
    Box,
    FailedOutgoingTransactionImage,
    IncomingTransaction,
    OutgoingImage,
    OutgoingTransaction,
    OutgoingTransactionImage,
    RemoteBox,
    SendMethod,
    TransactionStatus,
)
from ..models.index import Destination, Image, IngestResult, Source, SourceType
from ..outbox.claim import claim_rows, claimable
from . import protocol
from .config import BoxConfig
from .peer import PeerFactory, PushOutcome

log = logging.getLogger(__name__)

SUBJECT = "Box"
NAME_MAX = 180
SPOOL_IN_MEMORY = 8 * 1024 * 1024
_IN_CHUNK = 500  # ids per IN (...) list

OI: Table = OutgoingImageRow.__table__  # type: ignore[assignment]
OT: Table = OutgoingTransactionRow.__table__  # type: ignore[assignment]


def now_ms() -> int:
    return int(time.time() * 1000)


def profile_text(profile: AnonymizationProfile) -> str:
    """The stored form of a profile: comma-separated option names (spec §4.3)."""
    return ",".join(option.name for option in profile.options)


def parse_profile(text: str) -> AnonymizationProfile:
    """Inverse of :func:`profile_text`; unknown names (a newer version's) are skipped."""
    names = [name for name in (part.strip() for part in text.split(",")) if name]
    options = []
    for name in names:
        try:
            options.append(AnonymizationProfile.of(name).options[0])
        except ValueError:
            log.warning("ignoring unknown anonymization option %r of a stored profile", name)
    return AnonymizationProfile(tuple(options))


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield list(ids[start : start + _IN_CHUNK])


def _box(row: BoxRow, now: int, online_timeout_s: float) -> Box:
    method = SendMethod(row.sendmethod)
    if method == SendMethod.POLL:
        online = protocol.poll_box_online(row.last_poll, now, online_timeout_s)
    else:
        online = bool(row.online)
    return Box(
        row.id,
        row.name,
        row.token,
        row.baseurl,
        method,
        parse_profile(row.defaultprofile),
        online,
    )


def _outgoing(row: OutgoingTransactionRow) -> OutgoingTransaction:
    return OutgoingTransaction(
        row.id,
        row.boxid,
        row.boxname,
        parse_profile(row.profile),
        row.sentimagecount,
        row.totalimagecount,
        row.created,
        row.updated,
        TransactionStatus(row.status),
    )


def _outgoing_image(row: OutgoingImageRow) -> OutgoingImage:
    return OutgoingImage(
        row.id, row.outgoingtransactionid, row.imageid, row.sequencenumber, bool(row.sent)
    )


def _incoming(row: IncomingTransactionRow) -> IncomingTransaction:
    return IncomingTransaction(
        row.id,
        row.boxid,
        row.boxname,
        row.outgoingtransactionid,
        row.receivedimagecount,
        row.addedimagecount,
        row.totalimagecount,
        row.created,
        row.updated,
        TransactionStatus(row.status),
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@attrs.frozen
class ClaimedImage:
    """An outgoing image held by one claimant until its lease ends.

    Attributes:
        item: the image and its transaction, as the remote sees them.
        attempts: claims of this image so far, this one included.
        allow_burned_in: the send allowed images with burned-in annotations.
        owner: who holds the claim.
        tag_values: the image's custom values (spec §5.4.4).
    """

    item: OutgoingTransactionImage
    attempts: int
    allow_burned_in: bool
    owner: str
    tag_values: tuple[TagValue, ...] = ()

    @property
    def transaction(self) -> OutgoingTransaction:
        return self.item.transaction

    @property
    def image(self) -> OutgoingImage:
        return self.item.image


@attrs.frozen
class PreparedImage:
    """Anonymized bytes ready to leave: a file positioned at 0, its SHA-256 and size."""

    file: BinaryIO
    sha256: str
    size: int


class ReceiveOutcome(enum.Enum):
    """What the receiver did with one image of a transaction."""

    STORED = "stored"  # ingested (new or replacing an instance), recorded with its number
    DUPLICATE = "duplicate"  # that sequence number was received before: nothing done
    REJECTED = "rejected"  # not acceptable DICOM: counted as received, not stored


@attrs.frozen
class _Receiving:
    box_id: int
    box_name: str
    transaction_id: int
    sequence_number: int
    total: int
    sha256: str


class _AlreadyReceived(Exception):
    """Raised inside the ingest transaction to roll a re-delivered image back."""


# The image being received in this thread: read by the ingest hook, which records it in the
# ingest's own transaction (set and reset around one ``images.add`` call).
_receiving: ContextVar[_Receiving | None] = ContextVar("slicebox_box_receiving", default=None)


class BoxService:
    """Boxes and transfers.

    Args:
        db: the index.
        images: ingest and stored files.
        anonymization: anonymizes outgoing images and records their keys.
        log: the system log (subject ``Box``), also ``system_log`` for the worker.
        events: ``SourceAdded``, ``SourceDeleted`` and ``ImagesSent`` are published on it.
        config: timings and sizes.

    Attributes:
        peer_factory: makes the :class:`~.peer.BoxPeer` of a PUSH box; set by the server/CLI
            (core does not speak HTTP). Without it the worker transfers nothing.
        on_queued: called with a box id after a send queued images (wakes an in-process
            worker; a worker in another process sees them at its next scan).
    """

    def __init__(
        self,
        db: Database,
        images: ImageService,
        anonymization: AnonymizationService,
        log: LogService,
        events: EventBus,
        *,
        config: BoxConfig = BoxConfig(),
    ) -> None:
        self._db = db
        self._images = images
        self._anonymization = anonymization
        self.system_log = log
        self._events = events
        self.config = config
        self.peer_factory: PeerFactory | None = None
        self.on_queued: list[Callable[[int], None]] = []
        self._touched: dict[int, float] = {}

    # --- boxes (spec §3.8) ------------------------------------------------------------------

    def list(self, *, start_index: int = 0, count: int = 20) -> builtins.list[Box]:
        """Boxes by id, paged, each with its token and online status.

        Raises:
            InvalidInput: negative paging.
        """
        check_paging(start_index, count)
        stmt = select(BoxRow).order_by(BoxRow.id).offset(start_index).limit(count)
        with self._db.read() as session:
            rows = session.scalars(stmt).all()
        now = now_ms()
        return [_box(row, now, self.config.online_timeout_s) for row in rows]

    def get(self, box_id: int) -> Box:
        """Raises NotFound ("No box found for id N")."""
        with self._db.read() as session:
            row = session.get(BoxRow, box_id)
        if row is None:
            raise NotFound(f"No box found for id {box_id}")
        return _box(row, now_ms(), self.config.online_timeout_s)

    def _by_name(self, session: Session, name: str) -> BoxRow | None:
        return session.scalars(select(BoxRow).where(BoxRow.name == name)).one_or_none()

    @staticmethod
    def _check_name(name: str) -> str:
        name = name.strip() if isinstance(name, str) else ""
        if not name or len(name) > NAME_MAX:
            raise InvalidInput(f"A box needs a name of 1..{NAME_MAX} characters")
        return name

    def _insert_box(self, values: dict[str, Any]) -> tuple[Box, bool]:
        """Insert a box unless one has its name; (the box by that name, inserted)."""
        with self._db.write() as session:
            new_id = insert_ignore(session, BoxRow.__table__, values, ["name"])  # type: ignore[arg-type]
            row = self._by_name(session, values["name"])
            assert row is not None
            box = _box(row, now_ms(), self.config.online_timeout_s)
        return box, new_id is not None

    def create_connection(
        self, name: str, default_profile: AnonymizationProfile, *, api_base: str
    ) -> Box:
        """Create a POLL box: the remote will poll us and push to us with its token (§5.5.1).

        Args:
            name: the remote's name here.
            default_profile: used when forwarding to the box and offered when sending.
            api_base: our public API base, e.g. ``https://sbx.example.org/api``; the box's
                URL is ``<api_base>/transactions/<token>``.

        Returns:
            The new box, or the POLL box of that name if it exists (as the original does).

        Raises:
            InvalidInput: no name, or a PUSH box has the name.
        """
        name = self._check_name(name)
        token = protocol.new_token()
        box, created = self._insert_box(
            {
                "name": name,
                "token": token,
                "baseurl": protocol.transactions_url(api_base, token),
                "sendmethod": SendMethod.POLL.value,
                "defaultprofile": profile_text(default_profile),
                "online": False,
                "last_poll": None,
            }
        )
        if box.send_method != SendMethod.POLL:
            raise InvalidInput(f"A box named {name!r} already exists with send method PUSH")
        if created:
            self.system_log.info(SUBJECT, f"Box {box.name} created (poll)")
            self._events.publish(SourceAdded(Source(SourceType.BOX, box.name, box.id)))
        return box

    def connect(self, remote: RemoteBox) -> Box:
        """Create a PUSH box from the URL the public side gave us (spec §5.5.1 step 2).

        Returns:
            The new box, or the existing PUSH box with the same name and URL.

        Raises:
            InvalidInput: "Malformed box base url"; the name is taken by a POLL box or by a
                box with another URL.
        """
        name = self._check_name(remote.name)
        url = remote.base_url.strip()
        parsed = protocol.parse_base_url(url)
        box, created = self._insert_box(
            {
                "name": name,
                "token": parsed.token,
                "baseurl": url,
                "sendmethod": SendMethod.PUSH.value,
                "defaultprofile": profile_text(remote.default_profile),
                "online": False,
                "last_poll": None,
            }
        )
        if box.send_method != SendMethod.PUSH or box.base_url != url:
            raise InvalidInput(f"A box named {name!r} already exists with another connection")
        if created:
            self.system_log.info(SUBJECT, f"Box {box.name} connected (push)")
            self._events.publish(SourceAdded(Source(SourceType.BOX, box.name, box.id)))
        return box

    def delete(self, box_id: int) -> None:
        """Delete a box; its transactions stay. An unknown id does nothing."""
        with self._db.write() as session:
            row = session.get(BoxRow, box_id)
            name = row.name if row is not None else ""
            result = session.execute(delete(BoxRow).where(BoxRow.id == box_id))
            deleted = bool(result.rowcount)  # type: ignore[attr-defined]
        if deleted:
            self.system_log.info(SUBJECT, f"Box {name} removed")
            self._events.publish(SourceDeleted(SourceType.BOX.value, box_id))

    def push_boxes(self) -> builtins.list[Box]:
        """The PUSH boxes: the ones a worker pushes to and polls."""
        stmt = select(BoxRow).where(BoxRow.sendmethod == SendMethod.PUSH.value)
        with self._db.read() as session:
            rows = session.scalars(stmt.order_by(BoxRow.id)).all()
        now = now_ms()
        return [_box(row, now, self.config.online_timeout_s) for row in rows]

    def box_for_token(self, token: str) -> Box:
        """The POLL box whose token a remote presents (spec §3.9).

        Raises:
            Unauthorized: "No box found for token T".
        """
        stmt = select(BoxRow).where(
            BoxRow.token == token, BoxRow.sendmethod == SendMethod.POLL.value
        )
        with self._db.read() as session:
            row = session.scalars(stmt.limit(1)).one_or_none()
        if row is None:
            raise Unauthorized(f"No box found for token {token}")
        return _box(row, now_ms(), self.config.online_timeout_s)

    def set_online(self, box_id: int, online: bool) -> None:
        """Record whether a PUSH box's remote answered its last poll."""
        self._db.run_write(
            lambda session: session.execute(
                update(BoxRow)
                .where(BoxRow.id == box_id, BoxRow.online.is_not(online))
                .values(online=online)
            )
        )

    def sources(self) -> builtins.list[Source]:
        """Every box as an image source (a ``SystemService.source_providers`` entry)."""
        with self._db.read() as session:
            rows = session.execute(select(BoxRow.id, BoxRow.name).order_by(BoxRow.id)).all()
        return [Source(SourceType.BOX, name, box_id) for box_id, name in rows]

    def destinations(self) -> builtins.list[Destination]:
        """Every box as a destination (a ``SystemService.destination_providers`` entry)."""
        with self._db.read() as session:
            rows = session.execute(select(BoxRow.id, BoxRow.name).order_by(BoxRow.id)).all()
        return [Destination("box", name, box_id) for box_id, name in rows]

    # --- queueing and listings (spec §3.8, §5.5.2) ------------------------------------------

    def send(self, box_id: int, data: BulkAnonymizationData) -> OutgoingTransaction:
        """Queue images for a box in one transaction; nothing is anonymized yet (§5.5.2).

        Image ids are not checked (an image gone by the time it is due is skipped); an
        empty list makes an empty transaction.

        Raises:
            NotFound: "No box found for id N".
            InvalidInput: an option the anonymizer does not implement.
        """
        transaction: OutgoingTransaction = self._db.run_write(
            lambda session: self.queue(session, box_id, data)
        )
        self.queued(transaction)
        return transaction

    def queue(
        self, session: Session, box_id: int, data: BulkAnonymizationData
    ) -> OutgoingTransaction:
        """:meth:`send` inside the caller's transaction: the outgoing transaction commits or
        rolls back with the caller's own rows. Forwarding uses it to record which batch became
        which transaction in the same commit, so a batch is never queued twice. Call
        :meth:`queued` after the commit.

        Raises:
            NotFound: "No box found for id N".
            InvalidInput: an option the anonymizer does not implement.
        """
        box_row = session.get(BoxRow, box_id)
        if box_row is None:
            raise NotFound(f"No box found for id {box_id}")
        profile = data.profile.with_basic()
        resolve_profile(profile)  # refuse now what could never be sent
        entries = data.image_tag_values_set
        now = now_ms()
        tx_id = session.execute(
            insert(OT)
            .values(
                boxid=box_row.id,
                boxname=box_row.name,
                profile=profile_text(profile),
                sentimagecount=0,
                totalimagecount=len(entries),
                created=now,
                updated=now,
                status=TransactionStatus.WAITING.value,
                allow_burned_in=bool(data.allow_burned_in_annotations),
            )
            .returning(OT.c.id)
        ).scalar_one()
        if entries:
            rows = session.execute(
                insert(OI).returning(OI.c.id, sort_by_parameter_order=True),
                [
                    {
                        "outgoingtransactionid": tx_id,
                        "imageid": entry.image_id,
                        "sequencenumber": number,
                        "sent": False,
                        "attempts": 0,
                        "next_attempt_at": 0,
                        "last_error": "",
                    }
                    for number, entry in enumerate(entries, start=1)
                ],
            ).all()
            values = [
                {"outgoingimageid": image_id, "tagpath": str(tv.tag_path), "value": tv.value}
                for (image_id,), entry in zip(rows, entries, strict=True)
                for tv in entry.tag_values
            ]
            if values:
                session.execute(insert(OutgoingTagValueRow), values)
        return _outgoing(session.get_one(OutgoingTransactionRow, tx_id))

    def queued(self, transaction: OutgoingTransaction) -> None:
        """After :meth:`queue` committed: log the send and wake an in-process worker."""
        self.system_log.info(
            SUBJECT, f"Sending {transaction.total_image_count} images to box {transaction.box_name}"
        )
        for wake in self.on_queued:
            wake(transaction.box_id)

    def outgoing(
        self, *, start_index: int = 0, count: int = 20
    ) -> builtins.list[OutgoingTransaction]:
        """Outgoing transactions, most recently updated first, paged."""
        check_paging(start_index, count)
        stmt = (
            select(OutgoingTransactionRow)
            .order_by(OutgoingTransactionRow.updated.desc(), OutgoingTransactionRow.id.desc())
            .offset(start_index)
            .limit(count)
        )
        with self._db.read() as session:
            return [_outgoing(row) for row in session.scalars(stmt)]

    def get_outgoing(self, transaction_id: int) -> OutgoingTransaction:
        """Raises NotFound."""
        with self._db.read() as session:
            row = session.get(OutgoingTransactionRow, transaction_id)
        if row is None:
            raise NotFound(f"No outgoing transaction found for id {transaction_id}")
        return _outgoing(row)

    def delete_outgoing(self, transaction_id: int) -> None:
        """Delete an outgoing transaction with its images and tag values: its transfer stops.
        An unknown id does nothing."""
        self._db.run_write(
            lambda session: session.execute(
                delete(OutgoingTransactionRow).where(OutgoingTransactionRow.id == transaction_id)
            )
        )

    def outgoing_images(self, transaction_id: int) -> builtins.list[Image]:
        """The images of an outgoing transaction that still exist, in sequence order."""
        stmt = (
            select(ImageRow)
            .join(OutgoingImageRow, OutgoingImageRow.imageid == ImageRow.id)
            .where(OutgoingImageRow.outgoingtransactionid == transaction_id)
            .order_by(OutgoingImageRow.sequencenumber)
        )
        with self._db.read() as session:
            return [image_from_row(row) for row in session.scalars(stmt)]

    def outgoing_transaction_images(self, transaction_id: int) -> builtins.list[OutgoingImage]:
        """The outgoing image rows of a transaction (sent or not), in sequence order."""
        stmt = (
            select(OutgoingImageRow)
            .where(OutgoingImageRow.outgoingtransactionid == transaction_id)
            .order_by(OutgoingImageRow.sequencenumber)
        )
        with self._db.read() as session:
            return [_outgoing_image(row) for row in session.scalars(stmt)]

    def incoming(
        self, *, start_index: int = 0, count: int = 20
    ) -> builtins.list[IncomingTransaction]:
        """Incoming transactions, most recently updated first, paged."""
        check_paging(start_index, count)
        stmt = (
            select(IncomingTransactionRow)
            .order_by(IncomingTransactionRow.updated.desc(), IncomingTransactionRow.id.desc())
            .offset(start_index)
            .limit(count)
        )
        with self._db.read() as session:
            return [_incoming(row) for row in session.scalars(stmt)]

    def delete_incoming(self, transaction_id: int) -> None:
        """Delete an incoming transaction and its image rows (the images stay). If the
        transfer goes on, its next image starts a new incoming transaction."""
        self._db.run_write(
            lambda session: session.execute(
                delete(IncomingTransactionRow).where(IncomingTransactionRow.id == transaction_id)
            )
        )

    def incoming_images(self, transaction_id: int) -> builtins.list[Image]:
        """The images of an incoming transaction that still exist, in sequence order."""
        stmt = (
            select(ImageRow)
            .join(IncomingImageRow, IncomingImageRow.imageid == ImageRow.id)
            .where(IncomingImageRow.incomingtransactionid == transaction_id)
            .order_by(IncomingImageRow.sequencenumber)
        )
        with self._db.read() as session:
            return [image_from_row(row) for row in session.scalars(stmt)]

    # --- the sending side: claims, anonymization, delivery ---------------------------------

    def claim_outgoing(
        self, box_id: int, *, owner: str, limit: int, lease_s: float | None = None
    ) -> builtins.list[ClaimedImage]:
        """Claim up to ``limit`` due, unsent images of ``box_id``'s transactions that have not
        failed, oldest transaction first, then by sequence number (spec §5.5.2 queue order).

        Safe from several processes: rows locked or leased by another claimant are skipped.
        """
        now = now_ms()
        lease_ms = int((self.config.lease_s if lease_s is None else lease_s) * 1000)
        candidates = (
            select(OI.c.id)
            .join(OT, OT.c.id == OI.c.outgoingtransactionid)
            .where(
                OT.c.boxid == box_id,
                OT.c.status != TransactionStatus.FAILED.value,
                OI.c.sent.is_(False),
                OI.c.next_attempt_at <= now,
                claimable(OI, now),
            )
            .order_by(OT.c.created, OT.c.id, OI.c.sequencenumber)
            .limit(limit)
        )
        with self._db.read() as session:  # an idle queue costs a read, not a write
            if session.execute(candidates.limit(1)).first() is None:
                return []
        claim = claim_rows(OI, candidates, owner=owner, now_ms=now, lease_ms=lease_ms).returning(
            OI.c.id
        )

        def write(session: Session) -> builtins.list[ClaimedImage]:
            ids = [row.id for row in session.execute(claim)]
            if not ids:
                return []
            rows = session.execute(
                select(OutgoingImageRow, OutgoingTransactionRow)
                .join(
                    OutgoingTransactionRow,
                    OutgoingTransactionRow.id == OutgoingImageRow.outgoingtransactionid,
                )
                .where(OutgoingImageRow.id.in_(ids))
                .order_by(
                    OutgoingTransactionRow.created,
                    OutgoingTransactionRow.id,
                    OutgoingImageRow.sequencenumber,
                )
            ).all()
            values: dict[int, builtins.list[TagValue]] = {}
            for image_id, path, value in session.execute(
                select(
                    OutgoingTagValueRow.outgoingimageid,
                    OutgoingTagValueRow.tagpath,
                    OutgoingTagValueRow.value,
                )
                .where(OutgoingTagValueRow.outgoingimageid.in_(ids))
                .order_by(OutgoingTagValueRow.id)
            ):
                values.setdefault(image_id, []).append(TagValue(parse_tag_path(path), value))
            return [
                ClaimedImage(
                    OutgoingTransactionImage(_outgoing(tx), _outgoing_image(image)),
                    image.attempts,
                    bool(tx.allow_burned_in),
                    owner,
                    tuple(values.get(image.id, ())),
                )
                for image, tx in rows
            ]

        claimed: builtins.list[ClaimedImage] = self._db.run_write(write)
        return claimed

    def tag_values(self, outgoing_image_id: int) -> builtins.list[TagValue]:
        """The custom values of one outgoing image (spec §5.4.4)."""
        stmt = (
            select(OutgoingTagValueRow.tagpath, OutgoingTagValueRow.value)
            .where(OutgoingTagValueRow.outgoingimageid == outgoing_image_id)
            .order_by(OutgoingTagValueRow.id)
        )
        with self._db.read() as session:
            rows = session.execute(stmt).all()
        return [TagValue(parse_tag_path(path), value) for path, value in rows]

    @contextlib.contextmanager
    def prepare(
        self,
        item: OutgoingTransactionImage,
        *,
        allow_burned_in: bool = False,
        tag_values: Sequence[TagValue] | None = None,
    ) -> Iterator[PreparedImage]:
        """Anonymize one outgoing image into a spooled temporary file (spec §5.4.3).

        The anonymization key is committed before this yields: the bytes never leave
        without their key. Memory holds at most one image (larger ones spill to disk).

        Raises:
            NotFound: the image or its file is gone.
            InvalidInput: the image cannot be anonymized (e.g. burned-in annotations).
        """
        if tag_values is None:
            tag_values = self.tag_values(item.image.id)
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            writer = protocol.HashingWriter(spool)  # type: ignore[arg-type]
            with self._images.open(item.image.image_id) as source:
                self._anonymization.anonymize_file(
                    source,
                    writer,  # type: ignore[arg-type]
                    item.transaction.profile,
                    tag_values,
                    item.image.image_id,
                    allow_burned_in=allow_burned_in,
                )
            spool.seek(0)
            yield PreparedImage(spool, writer.sha256, writer.size)  # type: ignore[arg-type]
        finally:
            spool.close()

    def record_delivery(self, claimed: ClaimedImage, outcome: PushOutcome) -> bool:
        """Mark a claimed image delivered (also a rejected or removed one, spec §5.5.3).

        Returns:
            True when this delivery finished the transaction (``ImagesSent`` published).
        """
        if outcome != PushOutcome.STORED:
            what = "rejected" if outcome == PushOutcome.REJECTED else "removed"
            self.system_log.warn(
                SUBJECT,
                f"Box {claimed.transaction.box_name}: ignoring {what} image "
                f"{claimed.image.image_id} of transaction {claimed.transaction.id}",
            )
        return self._deliver(claimed.transaction.id, claimed.image.id)

    def _deliver(
        self, transaction_id: int, outgoing_image_id: int, *, box_id: int | None = None
    ) -> bool:
        """Mark one image sent (when it is the transaction's, and the transaction is
        ``box_id``'s if given); the last one finishes the transaction."""
        of_transaction = OI.c.outgoingtransactionid == transaction_id
        if box_id is not None:
            of_transaction = OI.c.outgoingtransactionid.in_(
                select(OT.c.id).where(OT.c.id == transaction_id, OT.c.boxid == box_id)
            )

        def write(session: Session) -> tuple[OutgoingTransactionRow, builtins.list[int]] | None:
            marked = session.execute(
                update(OI)
                .where(OI.c.id == outgoing_image_id, of_transaction, OI.c.sent.is_(False))
                .values(sent=True, claimed_by=None, lease_until=None, last_error="")
            )
            if not marked.rowcount:  # type: ignore[attr-defined]
                return None  # delivered before, or removed meanwhile
            tx = session.execute(
                select(OutgoingTransactionRow)
                .where(OutgoingTransactionRow.id == transaction_id)
                .with_for_update()
            ).scalar_one()
            before = TransactionStatus(tx.status)
            counts = protocol.after_sent(tx.sentimagecount, tx.totalimagecount, before)
            tx.sentimagecount = counts.done
            tx.status = counts.status.value
            tx.updated = now_ms()
            if counts.status != TransactionStatus.FINISHED or before == counts.status:
                return None
            image_ids = session.scalars(
                select(OI.c.imageid)
                .where(OI.c.outgoingtransactionid == transaction_id)
                .order_by(OI.c.sequencenumber)
            ).all()
            return tx, list(image_ids)

        finished = self._db.run_write(write)
        if finished is None:
            return False
        tx, image_ids = finished
        self.system_log.info(
            SUBJECT, f"Finished sending {tx.totalimagecount} images to box {tx.boxname}"
        )
        self._events.publish(ImagesSent(Destination("box", tx.boxname, tx.boxid), tuple(image_ids)))
        return True

    def record_failure(self, claimed: ClaimedImage, error: str) -> bool:
        """A claimed image could not be delivered: retry it after a back-off, or, after
        ``max_attempts``, fail its transaction.

        Returns:
            True when this call marked the transaction FAILED.
        """
        now = now_ms()
        gave_up = protocol.gives_up(claimed.attempts, self.config.max_attempts)
        delay = protocol.backoff_s(
            claimed.attempts, base_s=self.config.retry_interval_s, cap_s=self.config.max_backoff_s
        )

        def write(session: Session) -> bool:
            session.execute(
                update(OI)
                .where(OI.c.id == claimed.image.id, OI.c.claimed_by == claimed.owner)
                .values(
                    claimed_by=None,
                    lease_until=None,
                    next_attempt_at=now + int(delay * 1000),
                    last_error=error[:2000],
                )
            )
            if not gave_up:
                return False
            result = session.execute(
                update(OT)
                .where(
                    OT.c.id == claimed.transaction.id,
                    OT.c.status != TransactionStatus.FAILED.value,
                )
                .values(status=TransactionStatus.FAILED.value, updated=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

        failed: bool = self._db.run_write(write)
        if failed:
            self.system_log.error(
                SUBJECT,
                f"Sending transaction {claimed.transaction.id} to box "
                f"{claimed.transaction.box_name} failed after {claimed.attempts} attempts "
                f"of image {claimed.image.image_id}",
            )
        return failed

    def release(self, claimed: ClaimedImage) -> None:
        """Give a claimed image back untried (a worker stopping)."""
        self._db.run_write(
            lambda session: session.execute(
                update(OI)
                .where(OI.c.id == claimed.image.id, OI.c.claimed_by == claimed.owner)
                .values(claimed_by=None, lease_until=None, attempts=OI.c.attempts - 1)
            )
        )

    def release_dead_claims(self) -> int:
        """Release the claims of workers on this host whose process is gone (a crash), so
        their images need not wait for the lease. Returns how many images were released."""
        prefix = f"{socket.gethostname()}:"
        with self._db.read() as session:
            owners = session.scalars(
                select(OI.c.claimed_by).where(OI.c.claimed_by.startswith(prefix)).distinct()
            ).all()
        dead = []
        for owner in owners:
            try:
                pid = int(owner[len(prefix) :].split(":", 1)[0])
            except ValueError:
                continue
            if not _pid_alive(pid):
                dead.append(owner)
        if not dead:
            return 0

        def write(session: Session) -> int:
            result = session.execute(
                update(OI)
                .where(OI.c.claimed_by.in_(dead), OI.c.sent.is_(False))
                .values(claimed_by=None, lease_until=None)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

        released: int = self._db.run_write(write)
        return released

    # --- the POLL-box side: a remote polls us (spec §5.5.5) ---------------------------------

    def _touch(self, box_id: int) -> None:
        """Record that the remote of a POLL box called (at most once a second per process:
        the online timeout is 15 s, and a write per image would slow transfers)."""
        now = time.monotonic()
        if now - self._touched.get(box_id, float("-inf")) < 1.0:
            return
        self._touched[box_id] = now
        self._db.run_write(
            lambda session: session.execute(
                update(BoxRow).where(BoxRow.id == box_id).values(last_poll=now_ms())
            )
        )

    def poll(self, box: Box, n: int) -> builtins.list[OutgoingTransactionImage]:
        """Up to ``n`` images queued for ``box``, leased to the poller for ``lease_s``.

        Records the poll time (the box's online status). An image polled more than
        ``max_attempts`` times without a ``done`` fails its transaction.
        """
        self._touch(box.id)
        owner = f"poll:{box.id}"
        claimed = self.claim_outgoing(box.id, owner=owner, limit=max(0, n))
        items = []
        for claim in claimed:
            if claim.attempts > self.config.max_attempts:
                self.record_failure(claim, "polled without being confirmed")
                continue
            items.append(claim.item)
        return items

    def _outgoing_item(
        self, box: Box, transaction_id: int, outgoing_image_id: int
    ) -> tuple[OutgoingTransactionImage, bool] | None:
        """The pair if it is ``box``'s, with the send's ``allow_burned_in``."""
        stmt = (
            select(OutgoingImageRow, OutgoingTransactionRow)
            .join(
                OutgoingTransactionRow,
                OutgoingTransactionRow.id == OutgoingImageRow.outgoingtransactionid,
            )
            .where(
                OutgoingImageRow.id == outgoing_image_id,
                OutgoingTransactionRow.id == transaction_id,
                OutgoingTransactionRow.boxid == box.id,
            )
        )
        with self._db.read() as session:
            row = session.execute(stmt).one_or_none()
        if row is None:
            return None
        image, tx = row
        item = OutgoingTransactionImage(_outgoing(tx), _outgoing_image(image))
        return item, bool(tx.allow_burned_in)

    @contextlib.contextmanager
    def serve_outgoing(
        self, box: Box, transaction_id: int, outgoing_image_id: int
    ) -> Iterator[PreparedImage]:
        """The anonymized bytes of one queued image for the remote of ``box`` (anonymized,
        and its key recorded, on every request as in the original).

        Raises:
            NotFound: the pair is not ``box``'s, or the image is gone.
            InvalidInput: the image cannot be anonymized.
        """
        found = self._outgoing_item(box, transaction_id, outgoing_image_id)
        if found is None:
            raise NotFound(f"No outgoing image {outgoing_image_id} in transaction {transaction_id}")
        item, allow = found
        with self.prepare(item, allow_burned_in=allow) as prepared:
            yield prepared

    def outgoing_done(self, box: Box, item: OutgoingTransactionImage) -> None:
        """The remote stored an image we queued (``outgoing/done``); an unknown pair or a
        repeated call does nothing."""
        self._touch(box.id)
        self._deliver(item.transaction.id, item.image.id, box_id=box.id)

    def outgoing_failed(self, box: Box, failed: FailedOutgoingTransactionImage) -> None:
        """The remote gave up a transaction (``outgoing/failed``): mark it FAILED, which
        takes its remaining images out of the queue."""
        tx_id = failed.transaction_image.transaction.id
        self._db.run_write(
            lambda session: session.execute(
                update(OT)
                .where(OT.c.id == tx_id, OT.c.boxid == box.id)
                .values(status=TransactionStatus.FAILED.value, updated=now_ms())
            )
        )
        self.system_log.error(
            SUBJECT, f"Box {box.name}: transaction {tx_id} failed: {failed.message}"
        )

    def incoming_status(self, box: Box, transaction_id: int) -> TransactionStatus:
        """Raises NotFound when ``box`` has no incoming transaction with the sender's id."""
        row = self._incoming_row(box.id, transaction_id)
        if row is None:
            raise NotFound(f"No incoming transaction {transaction_id} from box {box.name}")
        return TransactionStatus(row.status)

    def _incoming_row(self, box_id: int, transaction_id: int) -> IncomingTransactionRow | None:
        stmt = select(IncomingTransactionRow).where(
            IncomingTransactionRow.boxid == box_id,
            IncomingTransactionRow.outgoingtransactionid == transaction_id,
        )
        with self._db.read() as session:
            return session.scalars(stmt).one_or_none()

    def set_incoming_status(self, box: Box, transaction_id: int, status: TransactionStatus) -> None:
        """Set the status the sender reports; FINISHED also completes the received count.

        Raises:
            NotFound: no such incoming transaction.
        """

        def write(session: Session) -> int:
            values: dict[str, Any] = {"status": status.value, "updated": now_ms()}
            if status == TransactionStatus.FINISHED:
                values["receivedimagecount"] = IncomingTransactionRow.totalimagecount
            result = session.execute(
                update(IncomingTransactionRow)
                .where(
                    IncomingTransactionRow.boxid == box.id,
                    IncomingTransactionRow.outgoingtransactionid == transaction_id,
                )
                .values(**values)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

        if not self._db.run_write(write):
            raise NotFound(f"No incoming transaction {transaction_id} from box {box.name}")

    # --- receiving (pushed to a POLL box, or polled by a PUSH box's worker) ---------------

    def receive_image(
        self,
        box: Box,
        transaction_id: int,
        sequence_number: int,
        total_image_count: int,
        body: BinaryIO | Iterable[bytes],
        *,
        sha256: str | None = None,
    ) -> ReceiveOutcome:
        """Store one pushed image: inflate the deflated ``body`` while spooling it, verify
        its SHA-256 when announced, ingest it with source box, and record it under the
        sender's (transaction, sequence number) in the same transaction (spec §5.5.4).

        Raises:
            CorruptTransfer: damaged in transit; nothing stored, the sender should resend.
            InvalidInput: a malformed checksum header.
        """
        digest = protocol.check_sha256(sha256)
        if self.has_received(box.id, transaction_id, sequence_number):
            protocol.drain(body)
            return ReceiveOutcome.DUPLICATE
        stream = cast(BinaryIO, protocol.InflatingReader(body, digest))
        return self.store_image(
            box, transaction_id, sequence_number, total_image_count, stream, sha256=digest
        )

    def has_received(self, box_id: int, transaction_id: int, sequence_number: int) -> bool:
        """True if that (sender transaction, sequence number) of ``box`` was received."""
        stmt = (
            select(IncomingImageRow.id)
            .join(
                IncomingTransactionRow,
                IncomingTransactionRow.id == IncomingImageRow.incomingtransactionid,
            )
            .where(
                IncomingTransactionRow.boxid == box_id,
                IncomingTransactionRow.outgoingtransactionid == transaction_id,
                IncomingImageRow.sequencenumber == sequence_number,
            )
        )
        with self._db.read() as session:
            return session.execute(stmt.limit(1)).first() is not None

    def incoming_finished(self, box_id: int, transaction_id: int) -> bool:
        """True once every image of the sender's transaction was received."""
        row = self._incoming_row(box_id, transaction_id)
        return row is not None and row.status == TransactionStatus.FINISHED.value

    def store_image(
        self,
        box: Box,
        transaction_id: int,
        sequence_number: int,
        total_image_count: int,
        stream: BinaryIO,
        *,
        sha256: str | None = None,
    ) -> ReceiveOutcome:
        """Ingest the (inflated) ``stream`` as image ``sequence_number`` of the sender's
        transaction: source box, Secondary Capture accepted, reverse anonymization on.

        Raises:
            CorruptTransfer: the stream found itself damaged; nothing stored.
        """
        receiving = _Receiving(
            box.id, box.name, transaction_id, sequence_number, total_image_count, sha256 or ""
        )
        token = _receiving.set(receiving)
        try:
            self._images.add(
                stream,
                source=Source(SourceType.BOX, box.name, box.id),
                secondary_capture=True,
                max_bytes=0,
            )
            return ReceiveOutcome.STORED
        except _AlreadyReceived:
            return ReceiveOutcome.DUPLICATE
        except protocol.CorruptTransfer:
            self.system_log.warn(
                SUBJECT,
                f"Box {box.name}: image {sequence_number} of transaction {transaction_id} "
                "was damaged in transit; not stored",
            )
            raise
        except InvalidDicom as exc:
            self.system_log.warn(
                SUBJECT,
                f"Ignoring rejected image from {box.name} in transaction {transaction_id}: {exc}",
            )
            return self.record_rejected(box, transaction_id, sequence_number, total_image_count)
        finally:
            _receiving.reset(token)

    def record_rejected(
        self, box: Box, transaction_id: int, sequence_number: int, total_image_count: int
    ) -> ReceiveOutcome:
        """Count an image of the sender's transaction as received but not stored (the remote
        refused to serve it, or it was not acceptable DICOM)."""
        receiving = _Receiving(
            box.id, box.name, transaction_id, sequence_number, total_image_count, ""
        )
        try:
            self._db.run_write(lambda session: self._update_incoming(session, receiving))
        except _AlreadyReceived:
            return ReceiveOutcome.DUPLICATE
        return ReceiveOutcome.REJECTED

    def record_received(self, session: Session, result: IngestResult, source: Source) -> None:
        """``ImageService.in_transaction`` hook: record an image being received from a box
        (``UpdateIncoming``, spec §5.5.4) in the ingest's own transaction.

        Raises:
            _AlreadyReceived: the sequence number is recorded already (a concurrent
                re-delivery); the ingest rolls back.
        """
        receiving = _receiving.get()
        if (
            receiving is None
            or source.source_type != SourceType.BOX
            or source.source_id != receiving.box_id
        ):
            return
        self._update_incoming(session, receiving, result)

    def _update_incoming(
        self, session: Session, receiving: _Receiving, result: IngestResult | None = None
    ) -> None:
        now = now_ms()
        find = (
            select(IncomingTransactionRow)
            .where(
                IncomingTransactionRow.boxid == receiving.box_id,
                IncomingTransactionRow.outgoingtransactionid == receiving.transaction_id,
            )
            .with_for_update()
        )
        tx = session.execute(find).scalar_one_or_none()
        if tx is None:  # the transaction's first image (or a concurrent one creates it)
            insert_ignore(
                session,
                IncomingTransactionRow.__table__,  # type: ignore[arg-type]
                {
                    "boxid": receiving.box_id,
                    "boxname": receiving.box_name,
                    "outgoingtransactionid": receiving.transaction_id,
                    "receivedimagecount": 0,
                    "addedimagecount": 0,
                    "totalimagecount": receiving.total,
                    "created": now,
                    "updated": now,
                    "status": TransactionStatus.WAITING.value,
                },
                ["boxid", "outgoingtransactionid"],
                returning=False,
            )
            tx = session.execute(find).scalar_one()
        recorded = insert_ignore(
            session,
            IncomingImageRow.__table__,  # type: ignore[arg-type]
            {
                "incomingtransactionid": tx.id,
                "imageid": result.image.id if result is not None else None,
                "sequencenumber": receiving.sequence_number,
                "overwrite": bool(result.overwrite) if result is not None else False,
                "sha256": receiving.sha256,
            },
            ["incomingtransactionid", "sequencenumber"],
        )
        if recorded is None:
            raise _AlreadyReceived()
        counts = protocol.after_received(
            tx.receivedimagecount,
            tx.addedimagecount,
            receiving.total,
            is_new=result is not None and not result.overwrite,
        )
        tx.receivedimagecount = counts.done
        tx.addedimagecount = counts.added
        tx.totalimagecount = counts.total
        tx.status = counts.status.value
        tx.updated = now

    # --- events and housekeeping (spec §5.5.7, §5.19) -------------------------------------

    def on_images_deleted(self, image_ids: Iterable[int]) -> None:
        """``ImagesDeleted``: drop the images' outgoing and incoming rows."""
        ids = list(image_ids)
        if not ids:
            return

        def write(session: Session) -> None:
            for chunk in _chunks(ids):
                session.execute(delete(OutgoingImageRow).where(OutgoingImageRow.imageid.in_(chunk)))
                session.execute(delete(IncomingImageRow).where(IncomingImageRow.imageid.in_(chunk)))

        self._db.run_write(write)

    def housekeeping(self, now: int | None = None) -> int:
        """Set PROCESSING transactions without progress for ``stall_timeout_s`` back to
        WAITING (spec §5.5.7). Returns how many were changed."""
        cutoff = (now_ms() if now is None else now) - int(self.config.stall_timeout_s * 1000)
        tables = (OutgoingTransactionRow, IncomingTransactionRow)

        def stalled(table: Any) -> Any:
            return (table.status == TransactionStatus.PROCESSING.value) & (table.updated < cutoff)

        with self._db.read() as session:  # usually nothing: then no write transaction
            if not any(
                session.execute(select(t.id).where(stalled(t)).limit(1)).first() for t in tables
            ):
                return 0

        def write(session: Session) -> int:
            changed = 0
            for table in tables:
                result = session.execute(
                    update(table)
                    .where(stalled(table))
                    .values(status=TransactionStatus.WAITING.value)
                )
                changed += int(result.rowcount)  # type: ignore[attr-defined]
            return changed

        changed: int = self._db.run_write(write)
        return changed

    def pending(self, box_id: int | None = None) -> int:
        """Unsent images of transactions that have not failed (all boxes when None)."""
        stmt = (
            select(func.count())
            .select_from(OI.join(OT, OT.c.id == OI.c.outgoingtransactionid))
            .where(OI.c.sent.is_(False), OT.c.status != TransactionStatus.FAILED.value)
        )
        if box_id is not None:
            stmt = stmt.where(OT.c.boxid == box_id)
        with self._db.read() as session:
            return int(session.scalar(stmt) or 0)
