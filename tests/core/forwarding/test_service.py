"""Rules and the enqueue side of forwarding, on SQLite and PostgreSQL: rule CRUD and
deduplication, batches written in the ingest transaction, batching (spec §3.13, §5.6)."""

from __future__ import annotations

import time
from pathlib import Path

import attrs
import pytest
from sqlalchemy.orm import Session

from slicebox_core import Slicebox
from slicebox_core.errors import InvalidInput, NotFound
from slicebox_core.forwarding import rules as r
from slicebox_core.forwarding.service import ForwardingService
from slicebox_core.models import Role
from slicebox_core.models.anonymization import AnonymizationProfile
from slicebox_core.models.index import Destination, IngestResult, Source, SourceType
from tests.boxes_wiring import wire_boxes
from tests.factories import dicom_bytes

from .conftest import add, free_port, rule, scp_source, scu_destination, worker


def test_rules_add_list_get_delete(sb: Slicebox, fwd: ForwardingService) -> None:
    source = scp_source(sb)
    destination = scu_destination(sb, free_port())
    created = fwd.create(rule(source, destination, keep=False))
    assert created.id > 0
    assert created.source == source and created.destination == destination
    assert created.keep_images is False
    assert fwd.list() == [created]
    assert fwd.get(created.id) == created
    fwd.delete(created.id)
    assert fwd.list() == []
    fwd.delete(created.id)  # unknown: nothing
    with pytest.raises(NotFound):
        fwd.get(created.id)


def test_duplicate_rule_returns_the_existing_one(sb: Slicebox, fwd: ForwardingService) -> None:
    source = scp_source(sb)
    destination = scu_destination(sb, free_port())
    first = fwd.create(rule(source, destination, keep=True))
    again = fwd.create(rule(source, destination, keep=False))  # keepImages differs
    assert again == first
    assert len(fwd.list()) == 1


def test_names_come_from_the_source_and_destination(sb: Slicebox, fwd: ForwardingService) -> None:
    source = scp_source(sb, "ct-room")
    destination = scu_destination(sb, free_port(), "archive")
    created = fwd.create(
        rule(
            Source(SourceType.SCP, "", source.source_id),
            Destination("scu", "whatever", destination.destination_id),
        )
    )
    assert created.source.source_name == "ct-room"
    assert created.destination.destination_name == "archive"


def test_unknown_source_or_destination_is_refused(sb: Slicebox, fwd: ForwardingService) -> None:
    source = scp_source(sb)
    destination = scu_destination(sb, free_port())
    with pytest.raises(InvalidInput, match="No source scp"):
        fwd.create(rule(Source(SourceType.SCP, "x", 999), destination))
    with pytest.raises(InvalidInput, match="No destination box"):
        fwd.create(rule(source, Destination("box", "x", 999)))
    with pytest.raises(InvalidInput):
        fwd.create(rule(source, Destination("directory", "x", 1)))
    assert fwd.list() == []


def test_paging(sb: Slicebox, fwd: ForwardingService) -> None:
    destination = scu_destination(sb, free_port())
    made = [fwd.create(rule(scp_source(sb, f"s{i}"), destination)) for i in range(3)]
    assert fwd.list(start_index=1, count=1) == [made[1]]
    with pytest.raises(InvalidInput):
        fwd.list(start_index=-1)


def test_no_rule_or_other_source_queues_nothing(sb: Slicebox, fwd: ForwardingService) -> None:
    source = scp_source(sb, "a")
    other = scp_source(sb, "b")
    add(sb, source)
    assert fwd.transactions() == []
    fwd.create(rule(other, scu_destination(sb, free_port())))
    add(sb, source)
    assert fwd.transactions() == []


def test_matching_rule_queues_the_image_in_one_batch(sb: Slicebox, fwd: ForwardingService) -> None:
    source = scp_source(sb)
    created = fwd.create(rule(source, scu_destination(sb, free_port())))
    image_id = add(sb, source)
    [batch] = fwd.transactions()
    assert batch.forwarding_rule_id == created.id
    assert batch.image_ids == (image_id,)
    assert (batch.enroute, batch.delivered, batch.outgoing_transaction_id) == (False, False, None)


def test_two_rules_with_the_same_source_make_two_batches(
    sb: Slicebox, fwd: ForwardingService
) -> None:
    source = scp_source(sb)
    one = fwd.create(rule(source, scu_destination(sb, free_port(), "one")))
    two = fwd.create(rule(source, scu_destination(sb, free_port(), "two")))
    image_id = add(sb, source)
    batches = fwd.transactions()
    assert sorted(b.forwarding_rule_id for b in batches) == [one.id, two.id]
    assert all(b.image_ids == (image_id,) for b in batches)


def test_several_images_join_one_batch_in_arrival_order(
    sb: Slicebox, fwd: ForwardingService
) -> None:
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, free_port())))
    ids = [add(sb, source, InstanceNumber=10 - i) for i in range(5)]
    [batch] = fwd.transactions()
    assert batch.image_ids == tuple(ids)


def test_an_overwritten_image_is_queued_once(sb: Slicebox, fwd: ForwardingService) -> None:
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, free_port())))
    data = dicom_bytes()
    first = sb.images.add(data, source=source)
    again = sb.images.add(data, source=source)
    assert again.overwrite and again.image.id == first.image.id
    [batch] = fwd.transactions()
    assert batch.image_ids == (first.image.id,)


def test_every_source_type_is_forwarded(
    sb: Slicebox, fwd: ForwardingService, tmp_path: Path
) -> None:
    destination = scu_destination(sb, free_port())
    user = sb.users.add("alice", "a-long-password-1", role=Role.USER)
    box = wire_boxes(sb).create_connection(
        "remote", AnonymizationProfile(), api_base="http://x.example/api"
    )
    (tmp_path / "watched").mkdir()
    watch = sb.watches.create("inbox", str(tmp_path / "watched"))
    session = sb.imports.create("import-1", user_id=user.id, user=user.user)
    sources = {
        SourceType.USER: Source(SourceType.USER, user.user, user.id),
        SourceType.BOX: Source(SourceType.BOX, box.name, box.id),
        SourceType.DIRECTORY: Source(SourceType.DIRECTORY, watch.name, watch.id),
        SourceType.SCP: scp_source(sb),
        SourceType.IMPORT: Source(SourceType.IMPORT, session.name, session.id),
    }
    assert set(sources) == set(r.SOURCE_TYPES)
    for source_type, source in sources.items():
        created = fwd.create(rule(source, destination))
        assert created.source == source
        if source_type == SourceType.IMPORT:  # through the import service itself
            image_id = sb.imports.add(session.id, dicom_bytes()).image.id
        else:
            image_id = add(sb, source)
        [batch] = [b for b in fwd.transactions() if b.forwarding_rule_id == created.id]
        assert batch.image_ids == (image_id,)


def test_a_failed_ingest_queues_nothing(sb: Slicebox, fwd: ForwardingService) -> None:
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, free_port())))

    def fail(session: Session, result: IngestResult, source: Source) -> None:
        raise RuntimeError("disk on fire")

    sb.images.in_transaction.append(fail)
    try:
        with pytest.raises(RuntimeError):
            add(sb, source)
    finally:
        sb.images.in_transaction.remove(fail)
    assert fwd.transactions() == []
    assert fwd.pending() == 0


def test_a_batch_waits_until_idle(sb: Slicebox, fwd: ForwardingService) -> None:
    idle = 1.0
    fwd.config = attrs.evolve(fwd.config, batch_idle_s=idle)
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, free_port())))
    add(sb, source)
    w = worker(sb)
    assert fwd.dispatch_due(owner=w.owner) == 0  # recently updated: not sent
    due = fwd.next_due_s()
    assert due is not None and 0 < due <= idle
    [batch] = fwd.transactions()
    assert not batch.enroute
    time.sleep(0.5)
    last = time.monotonic()
    add(sb, source)  # a new image restarts the idle time
    time.sleep(0.5)
    assert fwd.dispatch_due(owner=w.owner) == 0  # 1.0 s after the first, 0.5 after the last
    while not fwd.dispatch_due(owner=w.owner):  # sent (and failed: nobody listens)
        assert time.monotonic() - last < 5 * idle
        time.sleep(0.02)
    assert time.monotonic() - last >= idle - 0.01
    [batch] = fwd.transactions()
    assert batch.enroute and not batch.delivered and len(batch.image_ids) == 2


def test_a_new_image_after_dispatch_starts_a_new_batch(
    sb: Slicebox, fwd: ForwardingService
) -> None:
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, free_port())))
    first = add(sb, source)
    fwd.dispatch_due(owner="w")  # nobody listens: the batch stays enroute, retried later
    second = add(sb, source)
    batches = fwd.transactions()
    assert [b.image_ids for b in batches] == [(first,), (second,)]
    assert [b.enroute for b in batches] == [True, False]


def test_deleted_images_leave_pending_batches(sb: Slicebox, fwd: ForwardingService) -> None:
    source = scp_source(sb)
    fwd.create(rule(source, scu_destination(sb, free_port())))
    ids = [add(sb, source) for _ in range(3)]
    sb.images.delete_many(ids[:2])
    [batch] = fwd.transactions()
    assert batch.image_ids == (ids[2],)
    sb.images.delete(ids[2])
    # an empty batch is dropped when it falls due
    assert fwd.dispatch_due(owner="w") == 1
    assert fwd.transactions() == []


def test_deleting_a_rule_drops_its_batches(sb: Slicebox, fwd: ForwardingService) -> None:
    source = scp_source(sb)
    created = fwd.create(rule(source, scu_destination(sb, free_port())))
    image_id = add(sb, source)
    fwd.delete(created.id)
    assert fwd.transactions() == []
    assert sb.images.get(image_id).id == image_id  # the image stays


def test_the_library_source_may_be_forwarded(sb: Slicebox, fwd: ForwardingService) -> None:
    """Images added in Python without a source come from user 0, "library"."""
    created = fwd.create(rule(Source(SourceType.USER, "", 0), scu_destination(sb, free_port())))
    assert created.source == Source(SourceType.USER, "library", 0)
    image_id = sb.images.add(dicom_bytes()).image.id
    [batch] = fwd.transactions()
    assert batch.image_ids == (image_id,)
