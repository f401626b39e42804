"""Forwarding to a box (``sb`` pushes to an in-process ``public`` slicebox): one box
transaction per batch with the box's default profile, delivery read from the transaction's
status, retries, cancellation, and exactly-once queueing (spec §5.5.2, §5.6)."""

from __future__ import annotations

import time

import pydicom
import pytest
from sqlalchemy import select, update

from slicebox_core import Slicebox
from slicebox_core.db.tables import ForwardingTransactionRow, ImageRow, OutgoingTransactionRow
from slicebox_core.errors import NotFound
from slicebox_core.forwarding.service import Batch, _LeaseLost
from slicebox_core.models.anonymization import ConfidentialityOption
from slicebox_core.models.boxes import TransactionStatus

from .conftest import BoxPair, add, rule, scp_source, worker


def public_datasets(public: Slicebox) -> list[pydicom.Dataset]:
    with public.db.read() as session:
        ids = list(session.scalars(select(ImageRow.id).order_by(ImageRow.id)))
    return [public.images.dataset(i, stop_before_pixels=True) for i in ids]


def push_all(pair: BoxPair) -> None:
    loops = pair.loops()
    for _ in range(20):
        if not loops.push_once():
            return


def test_box_batch_becomes_one_transaction_and_arrives_anonymized(pair: BoxPair) -> None:
    sb = pair.hospital
    source = scp_source(sb)
    sb.forwarding.create(rule(source, pair.destination))  # type: ignore[attr-defined]
    ids = [add(sb, source, patient_name="Real^Name", patient_id="REAL-1") for _ in range(3)]
    w = worker(sb)
    assert w.run_once().dispatched == 1
    [outgoing] = pair.boxes.outgoing()
    assert outgoing.total_image_count == 3
    assert outgoing.box_id == pair.push_box.id
    names = {o.name for o in outgoing.profile.options}
    assert names == {"BASIC_PROFILE", ConfidentialityOption.RETAIN_UIDS.name}
    assert [i.image_id for i in pair.boxes.outgoing_transaction_images(outgoing.id)] == ids
    [batch] = sb.forwarding.transactions()  # type: ignore[attr-defined]
    assert batch.outgoing_transaction_id == outgoing.id and batch.enroute
    assert w.run_once().busy is False  # not yet transferred: still enroute, nothing sent twice
    assert len(pair.boxes.outgoing()) == 1
    push_all(pair)
    assert pair.boxes.get_outgoing(outgoing.id).status == TransactionStatus.FINISHED
    result = w.run_once()
    assert result.delivered == 1 and result.finalized == 1
    assert sb.forwarding.transactions() == []  # type: ignore[attr-defined]
    received = public_datasets(pair.public)
    assert len(received) == 3
    for ds in received:
        assert str(ds.PatientName) != "Real^Name" and ds.PatientID != "REAL-1"
        assert ds.PatientIdentityRemoved == "YES"
    assert sorted(ds.SOPInstanceUID for ds in received) == sorted(
        sb.images.dataset(i, stop_before_pixels=True).SOPInstanceUID for i in ids
    )  # RETAIN_UIDS of the box's default profile
    assert [sb.images.get(i).id for i in ids] == ids  # kept


def test_keep_images_false_deletes_after_the_box_transaction_finished(pair: BoxPair) -> None:
    sb = pair.hospital
    source = scp_source(sb)
    sb.forwarding.create(rule(source, pair.destination, keep=False))  # type: ignore[attr-defined]
    ids = [add(sb, source) for _ in range(2)]
    w = worker(sb)
    w.run_once()
    assert [sb.images.get(i).id for i in ids] == ids  # not yet delivered
    push_all(pair)
    w.run_once()
    for image_id in ids:
        with pytest.raises(NotFound):
            sb.images.get(image_id)
    assert len(public_datasets(pair.public)) == 2


def test_failed_box_transaction_is_queued_again(pair: BoxPair) -> None:
    sb = pair.hospital
    source = scp_source(sb)
    sb.forwarding.create(rule(source, pair.destination))  # type: ignore[attr-defined]
    add(sb, source)
    w = worker(sb)
    w.run_once()
    [first] = pair.boxes.outgoing()
    with sb.db.write() as session:  # the box transfer gave up
        session.execute(
            update(OutgoingTransactionRow)
            .where(OutgoingTransactionRow.id == first.id)
            .values(status=TransactionStatus.FAILED.value)
        )
    w.run_once()  # sees FAILED: back-off
    [batch] = sb.forwarding.transactions()  # type: ignore[attr-defined]
    assert batch.outgoing_transaction_id is None and batch.enroute
    warnings = [e.message for e in sb.log.list(count=100) if e.subject == "Forwarding"]
    assert any("Trying again later" in m for m in warnings)
    time.sleep(sb.forwarding.config.retry_interval_s * 2)  # type: ignore[attr-defined]
    w.run_once()
    transactions = pair.boxes.outgoing()
    assert len(transactions) == 2
    [batch] = sb.forwarding.transactions()  # type: ignore[attr-defined]
    assert batch.outgoing_transaction_id == max(t.id for t in transactions)


def test_deleted_box_transaction_cancels_the_batch(pair: BoxPair) -> None:
    sb = pair.hospital
    source = scp_source(sb)
    sb.forwarding.create(rule(source, pair.destination))  # type: ignore[attr-defined]
    image_id = add(sb, source)
    w = worker(sb)
    w.run_once()
    [outgoing] = pair.boxes.outgoing()
    pair.boxes.delete_outgoing(outgoing.id)
    w.run_once()
    assert sb.forwarding.transactions() == []  # type: ignore[attr-defined]
    assert sb.images.get(image_id).id == image_id
    assert any("was cancelled" in e.message for e in sb.log.list(count=100))


def test_deleted_box_is_retried_not_lost(pair: BoxPair) -> None:
    sb = pair.hospital
    source = scp_source(sb)
    sb.forwarding.create(rule(source, pair.destination))  # type: ignore[attr-defined]
    add(sb, source)
    pair.boxes.delete(pair.push_box.id)
    worker(sb).run_once()
    [batch] = sb.forwarding.transactions()  # type: ignore[attr-defined]
    assert batch.enroute and batch.outgoing_transaction_id is None
    assert pair.boxes.outgoing() == []


def test_a_batch_taken_over_is_not_queued_by_the_old_owner(pair: BoxPair) -> None:
    """The old owner's lease ran out and another worker claimed the batch: the old owner's
    box transaction rolls back with its failed mark, so the box gets the batch once."""
    sb = pair.hospital
    service = sb.forwarding  # type: ignore[attr-defined]
    source = scp_source(sb)
    service.create(rule(source, pair.destination))
    add(sb, source)
    [claimed] = service._claim_due(owner="old", limit=10)
    with sb.db.write() as session:
        session.execute(update(ForwardingTransactionRow).values(claimed_by="new"))
    rule_obj, image_ids = service._load(claimed.id, claimed.rule_id)
    with pytest.raises(_LeaseLost):
        service._send_to_box(
            Batch(claimed.id, claimed.rule_id, 1), rule_obj, image_ids, owner="old"
        )
    assert pair.boxes.outgoing() == []
    [batch] = service.transactions()
    assert batch.outgoing_transaction_id is None
