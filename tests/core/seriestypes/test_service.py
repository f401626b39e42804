"""Series types on a real index (SQLite and PostgreSQL): CRUD, validation, durable evaluation."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from slicebox_core import Slicebox
from slicebox_core.db.tables import WorkItemRow
from slicebox_core.errors import InvalidInput, NotFound
from slicebox_core.models import SeriesType
from slicebox_core.outbox import AutomationWorker, Outbox
from slicebox_core.seriestypes import ALL, SERIES

from ...automation import wire
from ...factories import dicom_bytes

MODALITY = 0x00080060
BODY_PART = 0x00180015


def worker(sb: Slicebox, **kwargs: object) -> AutomationWorker:
    return AutomationWorker(sb, watch=False, **kwargs)  # type: ignore[arg-type]


def drain(sb: Slicebox) -> int:
    w = worker(sb)
    total = 0
    while n := w.run_pending():
        total += n
    return total


def types_of(sb: Slicebox, series_id: int) -> list[str]:
    return [t.name for t in sb.index.series_types_of(series_id)]


def work_rows(sb: Slicebox) -> int:
    with sb.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(WorkItemRow)) or 0)


def ct_type(sb: Slicebox, name: str = "CT", value: str = "CT") -> SeriesType:
    st = sb.series_types.create(name)
    rule = sb.series_types.add_rule(st.id)
    sb.series_types.add_attribute(rule.id, tag=MODALITY, values=value)
    return st


# CRUD and validation ------------------------------------------------------------------------
def test_types_crud(auto: Slicebox) -> None:
    sts = auto.series_types
    a = sts.create("A")
    b = sts.create(" B ")
    assert b.name == "B"
    assert [t.name for t in sts.list()] == ["A", "B"]
    assert [t.name for t in sts.list(start_index=1, count=1)] == ["B"]
    with pytest.raises(InvalidInput, match="already exists"):
        sts.create("A")
    with pytest.raises(InvalidInput):
        sts.create("  ")
    with pytest.raises(InvalidInput):
        sts.list(start_index=-1)
    assert sts.rename(a.id, "A2") == SeriesType(a.id, "A2")
    with pytest.raises(InvalidInput, match="already exists"):
        sts.rename(a.id, "B")
    with pytest.raises(NotFound):
        sts.rename(999, "C")
    with pytest.raises(NotFound):
        sts.get(999)
    assert sts.get(a.id).name == "A2"
    sts.delete(a.id)
    sts.delete(12345)  # unknown: no error
    assert [t.name for t in sts.list()] == ["B"]


def test_rules_and_attributes_cascade(auto: Slicebox) -> None:
    sts = auto.series_types
    st = sts.create("T")
    rule = sts.add_rule(st.id)
    assert sts.rules(st.id) == [rule]
    attribute = sts.add_attribute(rule.id, tag=MODALITY, values="MR")
    assert attribute.name == "Modality"  # filled in from the dictionary
    assert attribute.tag_path is None
    assert sts.attributes(rule.id) == [attribute]
    with pytest.raises(NotFound):
        sts.add_rule(999)
    with pytest.raises(NotFound):
        sts.add_attribute(999, tag=MODALITY, values="MR")
    sts.delete_attribute(rule.id, attribute.id)
    assert sts.attributes(rule.id) == []
    sts.add_attribute(rule.id, tag=MODALITY, values="MR")
    sts.delete(st.id)
    assert sts.rules(st.id) == []
    assert sts.attributes(rule.id) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tag": -1}, "tag must be an integer"),
        ({"tag": 2**32}, "tag must be an integer"),
        ({"tag": 0xFFFEE000}, "item"),
        ({"tag": 0x00081032}, "is a sequence"),
        ({"tag": MODALITY, "name": "PatientName"}, "keyword of \\(0010,0010\\)"),
        ({"tag": MODALITY, "name": "NoSuchKeyword"}, "not a DICOM keyword"),
        ({"tag": MODALITY, "tag_path": "abc"}, "decimal tag numbers"),
        ({"tag": MODALITY, "tag_path": str(MODALITY)}, "is not a sequence"),
    ],
)
def test_invalid_rule_attributes(auto: Slicebox, kwargs: dict, message: str) -> None:
    st = auto.series_types.create("T")
    rule = auto.series_types.add_rule(st.id)
    with pytest.raises(InvalidInput, match=message):
        auto.series_types.add_attribute(rule.id, values="x", **kwargs)


def test_tag_path_and_name_path(auto: Slicebox) -> None:
    st = auto.series_types.create("T")
    rule = auto.series_types.add_rule(st.id)
    attribute = auto.series_types.add_attribute(
        rule.id, tag=0x00080100, values="X1", tag_path=" 528434 "
    )
    assert attribute.tag_path == "528434"
    assert attribute.name_path == "ProcedureCodeSequence"
    private = auto.series_types.add_attribute(rule.id, tag=0x00091001, values="v", name="Mine")
    assert private.name == "Mine"  # an unknown tag keeps the given name


# evaluation -------------------------------------------------------------------------------------
def test_ingest_evaluates_series(auto: Slicebox) -> None:
    ct_type(auto)
    ct = auto.images.add(dicom_bytes(modality="CT")).image
    mr = auto.images.add(dicom_bytes(modality="MR")).image
    assert auto.series_types.update_running()
    drain(auto)
    assert not auto.series_types.update_running()
    assert types_of(auto, ct.series_id) == ["CT"]
    assert types_of(auto, mr.series_id) == []
    assert work_rows(auto) == 0


def test_multi_attribute_rule_needs_all(auto: Slicebox) -> None:
    st = auto.series_types.create("CT head")
    rule = auto.series_types.add_rule(st.id)
    auto.series_types.add_attribute(rule.id, tag=MODALITY, values="CT")
    auto.series_types.add_attribute(rule.id, tag=BODY_PART, values="HEAD")
    head = auto.images.add(dicom_bytes(BodyPartExamined="HEAD")).image
    knee = auto.images.add(dicom_bytes(BodyPartExamined="KNEE")).image
    drain(auto)
    assert types_of(auto, head.series_id) == ["CT head"]
    assert types_of(auto, knee.series_id) == []


def test_evaluation_replaces_manual_and_stale_assignments(auto: Slicebox) -> None:
    ct = ct_type(auto)
    other = auto.series_types.create("Other")
    image = auto.images.add(dicom_bytes(modality="CT")).image
    drain(auto)
    auto.index.add_series_type(image.series_id, other.id)  # by hand
    assert types_of(auto, image.series_id) == ["CT", "Other"]
    auto.series_types.request_update(image.series_id)
    drain(auto)
    assert types_of(auto, image.series_id) == ["CT"]  # spec §5.7: manual ones are replaced
    assert auto.series_types.series_types_for([image.series_id, 999])[0].series_type == ct


def test_rule_changes_reevaluate_every_series(auto: Slicebox) -> None:
    images = [auto.images.add(dicom_bytes(modality=m)).image for m in ("CT", "MR", "CT")]
    drain(auto)  # no types yet: nothing was even queued
    st = auto.series_types.create("CT")
    rule = auto.series_types.add_rule(st.id)
    assert not auto.series_types.update_running()  # creating types and rules: no evaluation
    attribute = auto.series_types.add_attribute(rule.id, tag=MODALITY, values="CT")
    assert auto.series_types.update_running()
    drain(auto)
    assert [types_of(auto, i.series_id) for i in images] == [["CT"], [], ["CT"]]
    auto.series_types.delete_attribute(rule.id, attribute.id)  # now matches everything
    drain(auto)
    assert [types_of(auto, i.series_id) for i in images] == [["CT"], ["CT"], ["CT"]]
    auto.series_types.delete_rule(rule.id)
    drain(auto)
    assert [types_of(auto, i.series_id) for i in images] == [[], [], []]


def test_deleting_series_removes_assignments_and_work(auto: Slicebox) -> None:
    ct_type(auto)
    image = auto.images.add(dicom_bytes()).image
    drain(auto)
    auto.images.delete(image.id)
    assert auto.series_types.series_types_for([image.series_id]) == []
    auto.series_types.request_update(image.series_id)
    assert drain(auto) == 1  # an unknown series is done at once
    assert work_rows(auto) == 0


def test_bursts_coalesce(auto: Slicebox) -> None:
    ct_type(auto)
    drain(auto)
    study, series = "1.2.3", "1.2.3.4"
    for _ in range(5):
        auto.images.add(dicom_bytes(study_uid=study, series_uid=series))
    assert auto.outbox.pending([SERIES]) == 1
    assert drain(auto) == 1


# durability --------------------------------------------------------------------------------------
def test_committed_ingest_is_evaluated_once_after_a_crash(db_url: str, tmp_path: Path) -> None:
    """Commit the ingest, never run the worker (the process dies), reopen, run the worker."""
    first = wire(Slicebox.open(tmp_path / "data", database_url=db_url))
    ct_type(first)
    drain(first)
    image = first.images.add(dicom_bytes()).image
    first.close()  # killed right after the commit: no in-memory state survives

    second = wire(Slicebox.open(tmp_path / "data", database_url=db_url))
    try:
        assert second.series_types.update_running()
        assert worker(second).run_pending() == 1
        assert worker(second).run_pending() == 0
        assert types_of(second, image.series_id) == ["CT"]
    finally:
        second.close()


def test_failed_ingest_leaves_no_work(auto: Slicebox) -> None:
    ct_type(auto)
    drain(auto)

    def boom(*_: object) -> None:
        raise RuntimeError("after the work row, before the commit")

    auto.images.in_transaction.append(boom)
    with pytest.raises(RuntimeError):
        auto.images.add(dicom_bytes())
    auto.images.in_transaction.remove(boom)
    assert work_rows(auto) == 0
    assert auto.index.counts()["images"] == 0


def test_dead_workers_claims_return_after_the_lease(auto: Slicebox) -> None:
    ct_type(auto)
    drain(auto)
    image = auto.images.add(dicom_bytes()).image
    dead = auto.outbox.claim([SERIES, ALL], owner="dead", limit=10, lease_s=0.5)
    assert len(dead) == 1
    alive = worker(auto)
    assert alive.run_pending() == 0  # still leased to the dead worker
    time.sleep(0.6)
    assert alive.run_pending() == 1
    assert types_of(auto, image.series_id) == ["CT"]


def test_rerequest_while_running_runs_again(auto: Slicebox) -> None:
    auto.outbox.request("test.kind", "k")
    (item,) = auto.outbox.claim(["test.kind"], owner="w", limit=5)
    auto.outbox.request("test.kind", "k")  # arrives while "w" works on it
    with auto.db.write() as session:
        assert not Outbox.complete(session, item, owner="w")
    (again,) = auto.outbox.claim(["test.kind"], owner="w", limit=5)
    with auto.db.write() as session:
        assert Outbox.complete(session, again, owner="w")
    assert auto.outbox.pending() == 0


def test_failing_work_is_retried_then_dropped_and_logged(auto: Slicebox) -> None:
    auto.outbox.retry_delay_s = 0.0
    auto.outbox.max_attempts = 3
    calls: list[str] = []

    def fail(item: object, complete: object) -> None:
        calls.append("x")
        raise OSError("disk on fire")

    w = worker(auto)
    w.handlers["test.fail"] = fail
    auto.outbox.request("test.fail", "1")
    for _ in range(5):
        w.run_pending()
    assert len(calls) == 3
    assert auto.outbox.pending() == 0
    (entry,) = auto.log.list(subject="System")
    assert "test.fail 1 after 3 attempts: OSError" in entry.message


def test_concurrent_workers_process_each_item_once(auto: Slicebox) -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def handle(item, complete) -> None:  # type: ignore[no-untyped-def]
        with lock:
            seen.append(item.key)
        time.sleep(0.001)

    with auto.db.write() as session:
        for i in range(60):
            Outbox.enqueue(session, "test.count", str(i))
    workers = [worker(auto) for _ in range(3)]
    for w in workers:
        w.handlers["test.count"] = handle

    def run(w: AutomationWorker) -> None:
        while w.run_pending(limit=7):
            pass

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen, key=int) == [str(i) for i in range(60)]
    assert auto.outbox.pending() == 0


def test_worker_thread_evaluates_soon_after_ingest(auto: Slicebox) -> None:
    ct_type(auto)
    w = worker(auto, poll_interval_s=30.0)
    w.start()
    try:
        time.sleep(0.2)
        image = auto.images.add(dicom_bytes()).image  # ImageAdded wakes the worker
        deadline = time.monotonic() + 10
        while types_of(auto, image.series_id) != ["CT"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        w.stop()
    assert not w.running
