"""Forwarding to an SCU (a pynetdicom storage SCP on loopback): delivery in arrival order,
retry after a failure, and deletion of images a rule does not keep (spec §5.6, §5.13)."""

from __future__ import annotations

import time

import attrs
from pydicom.uid import generate_uid
from sqlalchemy import update

from slicebox_core import Slicebox
from slicebox_core.db.tables import ForwardingTransactionRow
from slicebox_core.errors import NotFound
from slicebox_core.forwarding.service import ForwardingService, now_ms
from slicebox_core.models import LogEntryType

from .conftest import StoreScp, add, free_port, rule, scp_source, scu_destination, worker


def sop_uids(sb: Slicebox, image_ids: list[int]) -> list[str]:
    return [sb.images.dataset(i, stop_before_pixels=True).SOPInstanceUID for i in image_ids]


def log_messages(sb: Slicebox, entry_type: LogEntryType | None = None) -> list[str]:
    return [
        e.message
        for e in sb.log.list(count=1000)
        if e.subject == "Forwarding" and (entry_type is None or e.entry_type == entry_type)
    ]


def test_scu_batch_is_sent_in_order_and_finalized(
    sb: Slicebox, fwd: ForwardingService, store_scp: StoreScp
) -> None:
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, store_scp.port), keep=True))
    study = generate_uid()
    ids = [add(sb, source, study_uid=study, InstanceNumber=5 - i) for i in range(5)]
    result = worker(sb).run_once()
    assert result.dispatched == 1 and result.finalized == 1
    assert store_scp.received == sop_uids(sb, ids)  # arrival order, once each
    assert fwd.transactions() == []
    assert [sb.images.get(i).id for i in ids] == ids  # kept
    messages = log_messages(sb)
    assert "Forwarding 5 images from scp modality to scu pacs." in messages
    assert "Finalized 1 transactions." in messages
    assert worker(sb).run_once().busy is False
    assert len(store_scp.received) == 5


def test_keep_images_false_deletes_them_after_delivery(
    sb: Slicebox, fwd: ForwardingService, store_scp: StoreScp
) -> None:
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, store_scp.port), keep=False))
    ids = [add(sb, source) for _ in range(3)]
    uids = sop_uids(sb, ids)
    worker(sb).run_once()
    assert store_scp.received == uids
    for image_id in ids:
        try:
            sb.images.get(image_id)
            raise AssertionError(f"image {image_id} was kept")
        except NotFound:
            pass
    assert fwd.transactions() == []


def test_delete_waits_for_every_rule_of_the_source(
    sb: Slicebox, fwd: ForwardingService, store_scp: StoreScp
) -> None:
    """Two rules share a source; the deleting one delivers, the keeping one cannot reach
    its node: the images stay until both delivered, then go (delete wins)."""
    source = scp_source(sb)
    down_port = free_port()
    fwd.create(rule(source, scu_destination(sb, store_scp.port, "up"), keep=False))
    fwd.create(rule(source, scu_destination(sb, down_port, "down"), keep=True))
    image_id = add(sb, source)
    w = worker(sb)
    w.run_once()
    assert len(store_scp.received) == 1
    assert sb.images.get(image_id).id == image_id  # the other rule's batch is undelivered
    delivered = [b for b in fwd.transactions() if b.delivered]
    assert len(delivered) == 1
    with sb.db.write() as session:  # a finalizer died holding the blocked batch
        session.execute(
            update(ForwardingTransactionRow)
            .where(ForwardingTransactionRow.id == delivered[0].id)
            .values(claimed_by="dead:1:x", lease_until=1)
        )
        session.execute(  # and the undelivered batch backs off for a while
            update(ForwardingTransactionRow)
            .where(ForwardingTransactionRow.delivered.is_(False))
            .values(next_attempt_at=now_ms() + 60_000)
        )
    due = fwd.next_due_s()  # the back-off, not "now" for ever (a busy loop)
    assert due is not None and 50 < due <= 60
    assert w.run_once().busy is False
    with sb.db.write() as session:
        session.execute(update(ForwardingTransactionRow).values(next_attempt_at=0))
    late = StoreScp(down_port).start()
    try:
        deadline = time.monotonic() + 10
        while fwd.transactions() and time.monotonic() < deadline:
            w.run_once()
            time.sleep(0.05)
        assert late.received == store_scp.received
    finally:
        late.stop()
    assert fwd.transactions() == []
    try:
        sb.images.get(image_id)
        raise AssertionError("the image was kept")
    except NotFound:
        pass


def test_failure_is_retried_later_and_delivered_once(sb: Slicebox, fwd: ForwardingService) -> None:
    fwd.config = attrs.evolve(fwd.config, retry_interval_s=1.0, max_backoff_s=1.0)
    port = free_port()
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, port), keep=True))
    ids = [add(sb, source) for _ in range(2)]
    w = worker(sb)
    w.run_once()  # nobody listens
    [batch] = fwd.transactions()
    assert batch.enroute and not batch.delivered and batch.attempts == 1
    warnings = log_messages(sb, LogEntryType.WARN)
    assert any("Trying again later" in m for m in warnings)
    assert w.run_once().dispatched == 0  # backing off
    due = fwd.next_due_s()
    assert due is not None and due <= fwd.config.retry_interval_s
    scp = StoreScp(port).start()
    try:
        deadline = time.monotonic() + 10
        while fwd.transactions() and time.monotonic() < deadline:
            w.run_once()
            time.sleep(0.02)
        assert scp.received == sop_uids(sb, ids)
    finally:
        scp.stop()
    assert fwd.transactions() == []


def test_unknown_scu_is_retried_not_lost(sb: Slicebox, fwd: ForwardingService) -> None:
    source = scp_source(sb)
    destination = scu_destination(sb, free_port())
    fwd.create(rule(source, destination))
    add(sb, source)
    sb.network.delete_scu(destination.destination_id)
    worker(sb).run_once()
    [batch] = fwd.transactions()
    assert batch.enroute and not batch.delivered
    assert any("NotFound" in m for m in log_messages(sb, LogEntryType.WARN))


def test_the_worker_thread_forwards(
    sb: Slicebox, fwd: ForwardingService, store_scp: StoreScp
) -> None:
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, store_scp.port)))
    w = worker(sb)
    w.start()
    try:
        ids = [add(sb, source) for _ in range(3)]
        deadline = time.monotonic() + 10
        while (len(store_scp.received) < 3 or fwd.transactions()) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        w.stop()
    assert store_scp.received == sop_uids(sb, ids)
    assert fwd.transactions() == []
