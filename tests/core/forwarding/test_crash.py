"""Crash safety and concurrency: an image whose ingest committed is forwarded exactly once,
whether the process stops right after the commit, dies while it holds a batch, or shares the
work with other workers (spec §5.6; issue 8)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import update

from slicebox_core import Slicebox
from slicebox_core.db.tables import ForwardingTransactionRow
from slicebox_core.forwarding.service import ForwardingService, now_ms
from tests.boxes_wiring import wire_boxes
from tests.forwarding_wiring import wire_forwarding

from .conftest import (
    BOX_FAST,
    FAST,
    BoxPair,
    StoreScp,
    add,
    rule,
    scp_source,
    scu_destination,
    worker,
)


def reopen(tmp_path: Path, db_url: str) -> Slicebox:
    """The same slicebox opened again, as a restarted process would."""
    sb = Slicebox.open(tmp_path / "data", database_url=db_url)
    wire_boxes(sb, **BOX_FAST)
    wire_forwarding(sb, **FAST)
    sb.forwarding.boxes = sb.boxes  # type: ignore[attr-defined]
    return sb


def test_box_batch_survives_a_stop_after_the_ingest_commit(
    pair: BoxPair, tmp_path: Path, db_url: str
) -> None:
    sb = pair.hospital
    source = scp_source(sb)
    sb.forwarding.create(rule(source, pair.destination))  # type: ignore[attr-defined]
    ids = [add(sb, source) for _ in range(3)]
    sb.close()  # no worker ran: the batch exists only as rows
    again = reopen(tmp_path, db_url)
    try:
        w = worker(again, owner="restarted")
        assert w.run_once().dispatched == 1
        assert w.run_once().dispatched == 0
        [outgoing] = again.boxes.outgoing()  # type: ignore[attr-defined]
        images = again.boxes.outgoing_transaction_images(outgoing.id)  # type: ignore[attr-defined]
        assert [i.image_id for i in images] == ids
    finally:
        again.close()


def test_scu_batch_survives_a_stop_after_the_ingest_commit(
    sb: Slicebox, fwd: ForwardingService, store_scp: StoreScp, tmp_path: Path, db_url: str
) -> None:
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, store_scp.port)))
    image_id = add(sb, source)
    uid = sb.images.dataset(image_id, stop_before_pixels=True).SOPInstanceUID
    sb.close()
    again = reopen(tmp_path, db_url)
    try:
        w = worker(again, owner="restarted")
        w.run_once()
        w.run_once()
        assert store_scp.received == [uid]
        assert again.forwarding.transactions() == []  # type: ignore[attr-defined]
    finally:
        again.close()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_batch_held_by_a_dead_worker_is_released(
    sb: Slicebox, fwd: ForwardingService, store_scp: StoreScp
) -> None:
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, store_scp.port)))
    add(sb, source)
    dead = f"{socket.gethostname()}:{dead_pid()}:deadbeef"
    assert len(fwd._claim_due(owner=dead, limit=10)) == 1  # the dead worker held it...
    w = worker(sb, owner="alive")
    assert w.run_once().dispatched == 0  # ...with a lease that has not run out
    assert fwd.release_dead_claims() == 1
    assert w.run_once().dispatched == 1
    assert len(store_scp.received) == 1


def test_an_expired_lease_is_taken_over(
    sb: Slicebox, fwd: ForwardingService, store_scp: StoreScp
) -> None:
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, store_scp.port)))
    add(sb, source)
    fwd._claim_due(owner="elsewhere:1:x", limit=10)
    with sb.db.write() as session:
        session.execute(update(ForwardingTransactionRow).values(lease_until=now_ms() - 1))
    assert worker(sb, owner="alive").run_once().dispatched == 1
    assert len(store_scp.received) == 1


def test_concurrent_workers_queue_each_batch_once(pair: BoxPair) -> None:
    sb = pair.hospital
    service = sb.forwarding  # type: ignore[attr-defined]
    sources = [scp_source(sb, f"modality-{i}") for i in range(8)]
    for source in sources:
        service.create(rule(source, pair.destination))
        add(sb, source)
        add(sb, source)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(owner: str) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                service.dispatch_due(owner=owner, limit=2)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"worker-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    outgoing = pair.boxes.outgoing(count=100)
    assert len(outgoing) == len(sources)
    assert sorted(t.total_image_count for t in outgoing) == [2] * len(sources)
    batches = service.transactions()
    assert len({b.outgoing_transaction_id for b in batches}) == len(sources)
