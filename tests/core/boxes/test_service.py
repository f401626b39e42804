"""BoxService on SQLite and PostgreSQL: connections, queueing, claims with leases, receiving
(idempotent by sequence number, checksums), the POLL side's handlers, events, housekeeping."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading
import time

import pytest
from sqlalchemy import select, update

from slicebox_core import Slicebox
from slicebox_core.boxes.protocol import CorruptTransfer, deflate_chunks
from slicebox_core.boxes.service import BoxService, ReceiveOutcome
from slicebox_core.db.tables import ImageRow, IncomingTransactionRow, OutgoingTransactionRow
from slicebox_core.errors import InvalidInput, NotFound, Unauthorized
from slicebox_core.events import SourceAdded, SourceDeleted
from slicebox_core.images.service import image_from_row
from slicebox_core.models.anonymization import (
    AnonymizationProfile,
    BulkAnonymizationData,
    ImageTagValues,
    TagValue,
)
from slicebox_core.models.boxes import (
    FailedOutgoingTransactionImage,
    RemoteBox,
    SendMethod,
    TransactionStatus,
)
from slicebox_core.models.dicom import TagPath
from slicebox_core.models.index import Image, SourceType
from tests.factories import dicom_bytes

from .conftest import Pair

TOKEN = "a8d2f3c4-6a3e-4bd2-9c3e-1f2d3c4b5a69"
URL = f"http://public.example:5000/api/transactions/{TOKEN}"
NO_PROFILE = AnonymizationProfile()


def bulk(*image_ids: int, tag_values: dict[int, list[TagValue]] | None = None):  # type: ignore[no-untyped-def]
    values = tag_values or {}
    return BulkAnonymizationData(
        NO_PROFILE, tuple(ImageTagValues(i, tuple(values.get(i, ()))) for i in image_ids)
    )


def add_images(sb: Slicebox, n: int, **kwargs: object) -> list[int]:
    return [sb.images.add(dicom_bytes(**kwargs)).image.id for _ in range(n)]  # type: ignore[arg-type]


def all_images(sb: Slicebox) -> list[Image]:
    """Every stored image, by id."""
    with sb.db.read() as session:
        return [image_from_row(r) for r in session.scalars(select(ImageRow).order_by(ImageRow.id))]


def deflated(data: bytes) -> list[bytes]:
    return list(deflate_chunks(io.BytesIO(data)))


# --- connections ------------------------------------------------------------------------------


def test_create_connection_and_connect(sb: Slicebox, boxes: BoxService) -> None:
    events: list[object] = []
    sb.events.subscribe(SourceAdded, events.append)
    sb.events.subscribe(SourceDeleted, events.append)
    poll = boxes.create_connection("remote", NO_PROFILE, api_base="http://me:5000/api")
    assert poll.send_method == SendMethod.POLL and not poll.online
    assert poll.base_url == f"http://me:5000/api/transactions/{poll.token}"
    assert boxes.create_connection("remote", NO_PROFILE, api_base="http://x/api") == poll
    assert boxes.box_for_token(poll.token) == poll
    profile = AnonymizationProfile.of("RETAIN_UIDS")
    push = boxes.connect(RemoteBox("other", URL, profile))
    assert push.send_method == SendMethod.PUSH and push.token == TOKEN
    assert push.default_profile == profile
    assert boxes.connect(RemoteBox("other", URL, NO_PROFILE)) == push  # same name and URL
    assert boxes.connect(RemoteBox("third", URL, NO_PROFILE)).id != push.id  # URL shared
    with pytest.raises(InvalidInput):
        boxes.connect(RemoteBox("other", URL.replace("5000", "5001"), NO_PROFILE))
    with pytest.raises(InvalidInput):
        boxes.connect(RemoteBox("remote", URL, NO_PROFILE))  # a POLL box's name
    with pytest.raises(InvalidInput):
        boxes.create_connection("other", NO_PROFILE, api_base="http://x/api")  # a PUSH box's
    with pytest.raises(InvalidInput, match="Malformed box base url"):
        boxes.connect(RemoteBox("bad", "http://x/api/transactions/nope", NO_PROFILE))
    with pytest.raises(Unauthorized, match="No box found for token"):
        boxes.box_for_token(TOKEN)  # a PUSH box's token does not authenticate anyone
    assert [b.name for b in boxes.list()] == ["remote", "other", "third"]
    assert [b.name for b in boxes.list(start_index=1, count=1)] == ["other"]
    assert ("box", "third") in {
        (d.destination_type, d.destination_name) for d in sb.system.destinations()
    }
    assert any(s.source_type == SourceType.BOX for s in sb.system.sources())
    boxes.delete(push.id)
    boxes.delete(push.id)  # unknown: nothing
    assert [b.name for b in boxes.push_boxes()] == ["third"]
    assert sum(isinstance(e, SourceAdded) for e in events) == 3
    assert sum(isinstance(e, SourceDeleted) for e in events) == 1


def test_send_queues_one_transaction(sb: Slicebox, boxes: BoxService) -> None:
    box = boxes.connect(RemoteBox("other", URL, NO_PROFILE))
    ids = add_images(sb, 3)
    name = TagValue(TagPath.of(0x00100010), "anon 001")
    tx = boxes.send(box.id, bulk(*ids, 999_999, tag_values={ids[1]: [name]}))
    assert (tx.box_id, tx.box_name, tx.total_image_count, tx.sent_image_count) == (
        box.id,
        "other",
        4,
        0,
    )
    assert tx.status == TransactionStatus.WAITING
    assert tx.profile == AnonymizationProfile.basic()  # the Basic Profile is always added
    rows = boxes.outgoing_transaction_images(tx.id)
    assert [(r.image_id, r.sequence_number, r.sent) for r in rows] == [
        (ids[0], 1, False),
        (ids[1], 2, False),
        (ids[2], 3, False),
        (999_999, 4, False),
    ]
    assert boxes.tag_values(rows[1].id) == [name]
    assert [i.id for i in boxes.outgoing_images(tx.id)] == ids  # existing images only
    assert boxes.outgoing() == [tx]
    empty = boxes.send(box.id, bulk())
    assert empty.total_image_count == 0
    with pytest.raises(NotFound, match="No box found for id"):
        boxes.send(123_456, bulk(*ids))
    with pytest.raises(InvalidInput, match="not supported"):
        boxes.send(box.id, BulkAnonymizationData(AnonymizationProfile.of("CLEAN_PIXEL_DATA"), ()))
    boxes.delete_outgoing(tx.id)
    assert boxes.outgoing_transaction_images(tx.id) == []
    assert boxes.tag_values(rows[1].id) == []


# --- claims -----------------------------------------------------------------------------------


def test_claims_are_exclusive_leased_and_retried_with_back_off(
    sb: Slicebox, boxes: BoxService
) -> None:
    box = boxes.connect(RemoteBox("other", URL, NO_PROFILE))
    ids = add_images(sb, 4)
    first = boxes.send(box.id, bulk(*ids[:2]))
    second = boxes.send(box.id, bulk(*ids[2:]))
    a = boxes.claim_outgoing(box.id, owner="a", limit=3)
    assert [(c.transaction.id, c.image.sequence_number) for c in a] == [
        (first.id, 1),
        (first.id, 2),
        (second.id, 1),
    ]  # oldest transaction first, then by sequence number
    b = boxes.claim_outgoing(box.id, owner="b", limit=10)
    assert [(c.transaction.id, c.image.sequence_number) for c in b] == [(second.id, 2)]
    assert boxes.claim_outgoing(box.id, owner="c", limit=10) == []
    # a failure backs off: not claimable until its next attempt is due
    assert not boxes.record_failure(b[0], "PeerUnavailable: down")
    assert boxes.claim_outgoing(box.id, owner="c", limit=10) == []
    time.sleep(0.06)
    again = boxes.claim_outgoing(box.id, owner="c", limit=10)
    assert [c.image.id for c in again] == [b[0].image.id] and again[0].attempts == 2
    # an expired lease (a dead worker) makes the image claimable again
    boxes.release(again[0])
    short = boxes.claim_outgoing(box.id, owner="d", limit=10, lease_s=0.01)
    time.sleep(0.02)
    assert [c.image.id for c in boxes.claim_outgoing(box.id, owner="e", limit=10)] == [
        short[0].image.id
    ]


def test_a_transaction_fails_after_max_attempts(sb: Slicebox, boxes: BoxService) -> None:
    box = boxes.connect(RemoteBox("other", URL, NO_PROFILE))
    tx = boxes.send(box.id, bulk(*add_images(sb, 2)))
    failed = False
    for _ in range(boxes.config.max_attempts):
        time.sleep(boxes.config.max_backoff_s + 0.01)
        claimed = boxes.claim_outgoing(box.id, owner="w", limit=1)
        failed = boxes.record_failure(claimed[0], "PeerUnavailable: down")
    assert failed
    assert boxes.get_outgoing(tx.id).status == TransactionStatus.FAILED
    assert boxes.claim_outgoing(box.id, owner="w", limit=10) == []  # out of the queue
    assert boxes.pending(box.id) == 0
    assert any("failed after" in e.message for e in sb.log.list())


def test_concurrent_claims_never_overlap(sb: Slicebox, boxes: BoxService) -> None:
    box = boxes.connect(RemoteBox("other", URL, NO_PROFILE))
    image_ids = add_images(sb, 3)
    for _ in range(10):
        boxes.send(box.id, bulk(*image_ids))  # 30 images
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while True:
            batch = boxes.claim_outgoing(box.id, owner=name, limit=2)
            if not batch:
                return
            with lock:
                claimed.extend(c.image.id for c in batch)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == 30 and len(set(claimed)) == 30


def test_claims_of_dead_local_workers_are_released(sb: Slicebox, boxes: BoxService) -> None:
    box = boxes.connect(RemoteBox("other", URL, NO_PROFILE))
    boxes.send(box.id, bulk(*add_images(sb, 2)))
    host = socket.gethostname()
    dead = boxes.claim_outgoing(box.id, owner=f"{host}:999999999:x", limit=1)
    alive = boxes.claim_outgoing(box.id, owner=f"{host}:{os.getpid()}:y", limit=1)
    assert dead and alive
    assert boxes.release_dead_claims() == 1
    again = boxes.claim_outgoing(box.id, owner="new", limit=5)
    assert [c.image.id for c in again] == [dead[0].image.id]


# --- receiving --------------------------------------------------------------------------------


def test_receive_is_idempotent_by_sequence_number(pair: Pair) -> None:
    box = pair.poll_box
    data = dicom_bytes(patient_name="Anon^One", PatientIdentityRemoved="YES")
    sha = hashlib.sha256(data).hexdigest()
    first = pair.u.receive_image(box, 7, 1, 2, deflated(data), sha256=sha)
    again = pair.u.receive_image(box, 7, 1, 2, deflated(data), sha256=sha)
    assert (first, again) == (ReceiveOutcome.STORED, ReceiveOutcome.DUPLICATE)
    assert len(all_images(pair.public)) == 1
    (incoming,) = pair.u.incoming()
    assert (incoming.received_image_count, incoming.added_image_count) == (1, 1)
    assert incoming.status == TransactionStatus.PROCESSING
    assert incoming.outgoing_transaction_id == 7 and incoming.box_name == "hospital"
    second = dicom_bytes(patient_name="Anon^Two", PatientIdentityRemoved="YES")
    assert pair.u.receive_image(box, 7, 2, 2, deflated(second)) == ReceiveOutcome.STORED
    (incoming,) = pair.u.incoming()
    assert incoming.status == TransactionStatus.FINISHED
    assert len(pair.u.incoming_images(incoming.id)) == 2
    source = pair.public.images.series_source(all_images(pair.public)[0].series_id)
    assert source is not None and (source.source_type, source.source_id) == (
        SourceType.BOX,
        box.id,
    )


def test_concurrent_redeliveries_store_once(sb: Slicebox, boxes: BoxService) -> None:
    box = boxes.create_connection("sender", NO_PROFILE, api_base="http://me/api")
    data = dicom_bytes(PatientIdentityRemoved="YES")
    outcomes: list[ReceiveOutcome] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        # past the read-only check at once: the unique row decides inside the ingest
        outcomes.append(boxes.store_image(box, 1, 1, 1, io.BytesIO(data)))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.value for o in outcomes) == ["duplicate"] * 3 + ["stored"]
    assert len(all_images(sb)) == 1
    (incoming,) = boxes.incoming()
    assert incoming.received_image_count == 1
    orphans, missing = sb.images.check()
    assert orphans == [] and missing == []


def test_a_checksum_mismatch_stores_nothing(pair: Pair) -> None:
    data = dicom_bytes(PatientIdentityRemoved="YES")
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(CorruptTransfer):
        pair.u.receive_image(pair.poll_box, 1, 1, 1, deflated(data), sha256=wrong)
    assert all_images(pair.public) == [] and pair.u.incoming() == []
    assert pair.public.images.check() == ([], [])
    assert list(pair.public.storage.spool_dir.glob("tmp-*")) == []
    right = hashlib.sha256(data).hexdigest()
    outcome = pair.u.receive_image(pair.poll_box, 1, 1, 1, deflated(data), sha256=right)
    assert outcome == ReceiveOutcome.STORED  # the resend goes through


def test_not_dicom_counts_as_received_not_added(pair: Pair) -> None:
    outcome = pair.u.receive_image(pair.poll_box, 3, 1, 1, deflated(b"not dicom at all"))
    assert outcome == ReceiveOutcome.REJECTED
    (incoming,) = pair.u.incoming()
    assert (incoming.received_image_count, incoming.added_image_count) == (1, 0)
    assert incoming.status == TransactionStatus.FINISHED
    assert pair.u.receive_image(pair.poll_box, 3, 1, 1, deflated(b"x")) == ReceiveOutcome.DUPLICATE
    assert any("Ignoring rejected image" in e.message for e in pair.public.log.list())


def test_incoming_status_and_deletes(pair: Pair) -> None:
    box = pair.poll_box
    pair.u.receive_image(box, 5, 1, 3, deflated(dicom_bytes(PatientIdentityRemoved="YES")))
    assert pair.u.incoming_status(box, 5) == TransactionStatus.PROCESSING
    with pytest.raises(NotFound):
        pair.u.incoming_status(box, 6)
    with pytest.raises(NotFound):
        pair.u.set_incoming_status(box, 6, TransactionStatus.FAILED)
    pair.u.set_incoming_status(box, 5, TransactionStatus.FINISHED)
    (incoming,) = pair.u.incoming()
    assert incoming.status == TransactionStatus.FINISHED and incoming.received_image_count == 3
    pair.u.delete_incoming(incoming.id)
    assert pair.u.incoming() == []
    assert len(all_images(pair.public)) == 1  # the images stay
    # the transfer goes on: a new incoming transaction with the same sender id
    pair.u.receive_image(box, 5, 2, 3, deflated(dicom_bytes(PatientIdentityRemoved="YES")))
    (again,) = pair.u.incoming()
    assert again.id != incoming.id and again.outgoing_transaction_id == 5


# --- the POLL side: the remote polls ----------------------------------------------------------


def test_poll_serve_done_and_failed(pair: Pair) -> None:
    u, box = pair.u, pair.poll_box
    ids = add_images(pair.public, 3, patient_name="Real^Name", PatientSex="F")
    name = TagValue(TagPath.of(0x00100010), "anon 001")
    tx = u.send(box.id, bulk(*ids[:2], tag_values={ids[0]: [name]}))
    later = u.send(box.id, bulk(ids[2]))
    (item,) = u.poll(box, 1)
    assert (item.transaction.id, item.image.sequence_number) == (tx.id, 1)
    assert item.transaction.sent_image_count == 0 and item.transaction.total_image_count == 2
    assert item.transaction.status == TransactionStatus.WAITING
    assert u.list()[0].online  # polled just now
    with u.serve_outgoing(box, tx.id, item.image.id) as prepared:
        data = prepared.file.read()
    assert hashlib.sha256(data).hexdigest() == prepared.sha256 and len(data) == prepared.size
    assert b"anon 001" in data and b"Real^Name" not in data
    with pytest.raises(NotFound), u.serve_outgoing(box, later.id, item.image.id):
        pass
    u.outgoing_done(box, item)
    u.outgoing_done(box, item)  # repeated: nothing more
    assert u.get_outgoing(tx.id).sent_image_count == 1
    second, third = u.poll(box, 5)  # what was polled before is leased: not offered twice
    assert second.image.sequence_number == 2 and third.transaction.id == later.id
    assert u.poll(box, 5) == []
    u.outgoing_done(box, second)
    assert u.get_outgoing(tx.id).status == TransactionStatus.FINISHED
    assert [e.image_ids for e in pair.sent] == [tuple(ids[:2])]
    u.outgoing_failed(box, FailedOutgoingTransactionImage(third, "cannot store"))
    assert u.get_outgoing(later.id).status == TransactionStatus.FAILED
    assert u.poll(box, 5) == []


# --- events and housekeeping --------------------------------------------------------------


def test_deleted_images_leave_the_transactions(pair: Pair) -> None:
    ids = add_images(pair.hospital, 2)
    tx = pair.h.send(pair.push_box.id, bulk(*ids))
    pair.hospital.images.delete(ids[0])
    assert [r.image_id for r in pair.h.outgoing_transaction_images(tx.id)] == [ids[1]]
    pair.u.receive_image(
        pair.poll_box, 9, 1, 1, deflated(dicom_bytes(PatientIdentityRemoved="YES"))
    )
    (incoming,) = pair.u.incoming()
    (image,) = pair.u.incoming_images(incoming.id)
    pair.public.images.delete(image.id)
    assert pair.u.incoming_images(incoming.id) == []
    assert not pair.u.has_received(pair.poll_box.id, 9, 1)


def test_housekeeping_sets_stalled_transactions_waiting(pair: Pair) -> None:
    tx = pair.h.send(pair.push_box.id, bulk(*add_images(pair.hospital, 1)))
    old = int(time.time() * 1000) - 60_000
    with pair.hospital.db.write() as session:
        session.execute(
            update(OutgoingTransactionRow)
            .where(OutgoingTransactionRow.id == tx.id)
            .values(status="PROCESSING", updated=old)
        )
    pair.u.receive_image(
        pair.poll_box, 4, 1, 2, deflated(dicom_bytes(PatientIdentityRemoved="YES"))
    )
    assert pair.h.housekeeping() == 1
    assert pair.h.get_outgoing(tx.id).status == TransactionStatus.WAITING
    assert pair.u.housekeeping() == 0  # updated just now
    with pair.public.db.write() as session:
        session.execute(update(IncomingTransactionRow).values(updated=old))
    assert pair.u.housekeeping() == 1
    assert pair.u.incoming()[0].status == TransactionStatus.WAITING
