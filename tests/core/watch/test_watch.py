"""Directory watches on real temporary folders (watchdog), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest
from pydicom.uid import SecondaryCaptureImageStorage

from slicebox_core import Slicebox
from slicebox_core.errors import InvalidInput, NotFound
from slicebox_core.events import ImageAdded, SourceAdded, SourceDeleted
from slicebox_core.models import LogEntryType, Source, SourceType
from slicebox_core.watch import WatchRunner
from slicebox_core.watch.runner import WatchRunner as _Runner

from ...automation import FAST
from ...factories import dicom_bytes


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@contextmanager
def running(sb: Slicebox, owner: str = "test") -> Iterator[WatchRunner]:
    runner = sb.watches.runner(owner=owner)
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


def added_events(sb: Slicebox) -> list[ImageAdded]:
    events: list[ImageAdded] = []
    sb.events.subscribe(ImageAdded, events.append)
    return events


def errors(sb: Slicebox) -> list[str]:
    """Errors and warnings logged by the watches."""
    entries = sb.log.list(subject="Directory", count=1000)
    return [e.message for e in entries if e.entry_type in (LogEntryType.ERROR, LogEntryType.WARN)]


# the registry ---------------------------------------------------------------------------------
def test_create_list_delete_and_validations(auto: Slicebox, tmp_path: Path) -> None:
    events: list[object] = []
    auto.events.subscribe(SourceAdded, events.append)
    auto.events.subscribe(SourceDeleted, events.append)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (tmp_path / "file.dcm").write_bytes(b"x")
    w = auto.watches.create("inbox", str(inbox))
    assert w.path == str(inbox.resolve())
    assert auto.watches.create("inbox", str(inbox) + "/") == w  # same path, same name
    assert auto.watches.list() == [w]
    assert auto.watches.get(w.id) == w
    assert Source(SourceType.DIRECTORY, "inbox", w.id) in auto.watches.sources()
    cases = {
        str(inbox): "already watched under the name inbox",  # same path, other name
        str(tmp_path / "file.dcm"): "not a directory",
        str(tmp_path / "missing"): "not a directory",
        "/": "root",
        "relative": "absolute",
        str(tmp_path): "intersects existing directory inbox",
        str(inbox / "sub"): "intersects existing directory inbox",
        auto.config.data_dir: "own data",
    }
    (inbox / "sub").mkdir()
    for path, message in cases.items():
        with pytest.raises(InvalidInput, match=message):
            auto.watches.create("other", path)
    with pytest.raises(InvalidInput):
        auto.watches.create("", str(tmp_path / "x"))
    auto.watches.delete(w.id)
    auto.watches.delete(999)
    assert auto.watches.list() == []
    with pytest.raises(NotFound):
        auto.watches.get(w.id)
    assert events == [
        SourceAdded(Source(SourceType.DIRECTORY, "inbox", w.id)),
        SourceDeleted(SourceType.DIRECTORY, w.id),
    ]


# importing ----------------------------------------------------------------------------------------
def test_existing_later_and_nested_files_are_imported(auto: Slicebox, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "a" / "b").mkdir(parents=True)
    (inbox / "one.dcm").write_bytes(dicom_bytes(patient_id="P1"))
    (inbox / "a" / "b" / "two.dcm").write_bytes(dicom_bytes(patient_id="P2"))
    (inbox / ".hidden.dcm").write_bytes(dicom_bytes(patient_id="HIDDEN"))
    w = auto.watches.create("inbox", str(inbox))
    events = added_events(auto)
    with running(auto) as runner:
        wait_for(lambda: auto.index.counts()["images"] == 2)
        assert runner.watching == [w.id]
        (inbox / "three.dcm").write_bytes(dicom_bytes(patient_id="P3"))
        new = inbox / "new" / "deeper"
        new.mkdir(parents=True)
        (new / "four.dcm").write_bytes(dicom_bytes(patient_id="P4"))
        wait_for(lambda: auto.index.counts()["images"] == 4)
        wait_for(lambda: runner.idle)
        time.sleep(FAST.settle_s * 2)
    ids = sorted(p.patient_id for p in auto.index.patients())
    assert ids == ["P1", "P2", "P3", "P4"]
    assert len(events) == 4  # each once, although the files stay (delete_on_import off)
    assert {e.source for e in events} == {Source(SourceType.DIRECTORY, "inbox", w.id)}
    assert (inbox / "one.dcm").exists()


def test_delete_on_import(auto: Slicebox, tmp_path: Path) -> None:
    auto.watches.options = attrs.evolve(FAST, delete_on_import=True)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "one.dcm").write_bytes(dicom_bytes(patient_id="P1"))
    (inbox / "junk.txt").write_bytes(b"not dicom")
    auto.watches.create("inbox", str(inbox))
    with running(auto):
        wait_for(lambda: not (inbox / "one.dcm").exists())
        (inbox / "two.dcm").write_bytes(dicom_bytes(patient_id="P2"))
        wait_for(lambda: not (inbox / "two.dcm").exists())
    assert auto.index.counts()["images"] == 2
    assert (inbox / "junk.txt").exists()  # rejected files stay


def test_a_file_being_written_is_imported_once_complete(auto: Slicebox, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = dicom_bytes(rows=1024, columns=1024)  # 2 MiB of pixel data
    auto.watches.create("inbox", str(inbox))
    events = added_events(auto)
    with running(auto) as runner:
        wait_for(lambda: runner.watching)
        target = inbox / "big.dcm"
        chunks = 10
        step = len(data) // chunks + 1
        with open(target, "wb") as f:  # a slow writer: longer than settle_s in total
            for start in range(0, len(data), step):
                f.write(data[start : start + step])
                f.flush()
                os.fsync(f.fileno())
                time.sleep(FAST.settle_s / 3)
        wait_for(lambda: len(events) == 1)
        wait_for(lambda: runner.idle)
        time.sleep(FAST.settle_s * 2)
    assert len(events) == 1
    assert errors(auto) == []  # never tried while incomplete
    assert auto.images.read_bytes(events[0].image_id) == data


def test_rejected_files_stay_are_logged_once_and_retried_when_changed(
    auto: Slicebox, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = dicom_bytes()
    (inbox / "part.dcm").write_bytes(data[: len(data) // 2])  # truncated, then abandoned
    (inbox / "sc.dcm").write_bytes(dicom_bytes(sop_class=SecondaryCaptureImageStorage))
    (inbox / "notes.txt").write_text("hello")
    auto.watches.create("inbox", str(inbox))
    with running(auto) as runner:
        wait_for(lambda: len(errors(auto)) == 3)
        time.sleep(FAST.settle_s * 3)  # several ticks: no retry of unchanged files
        assert sorted(m.split(":")[0] for m in errors(auto)) == [
            "Could not add file notes.txt",
            "Could not add file part.dcm",
            "Could not add file sc.dcm",
        ]
        assert all(p.exists() for p in inbox.iterdir())
        (inbox / "part.dcm").write_bytes(data)  # completed later: imported now
        wait_for(lambda: auto.index.counts()["images"] == 1)
        wait_for(lambda: runner.idle)
    assert len(errors(auto)) == 3


def test_deleted_watch_stops_importing(auto: Slicebox, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    w = auto.watches.create("inbox", str(inbox))
    with running(auto) as runner:
        wait_for(lambda: runner.watching == [w.id])
        auto.watches.delete(w.id)
        wait_for(lambda: runner.watching == [])
        (inbox / "late.dcm").write_bytes(dicom_bytes())
        time.sleep(FAST.settle_s * 3)
    assert auto.index.counts()["images"] == 0


def test_missing_folder_waits_and_starts_when_it_appears(auto: Slicebox, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    w = auto.watches.create("inbox", str(inbox))
    shutil.rmtree(inbox)
    with running(auto) as runner:
        wait_for(lambda: any("not a directory; waiting" in m for m in errors(auto)))
        assert runner.watching == []
        inbox.mkdir()
        (inbox / "one.dcm").write_bytes(dicom_bytes())
        wait_for(lambda: auto.index.counts()["images"] == 1)
        assert runner.watching == [w.id]
    assert auto.watches.list() == [w]  # kept (the original deleted it silently)


def test_one_worker_per_watch(auto: Slicebox, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    w = auto.watches.create("inbox", str(inbox))
    with running(auto, "first") as first:
        wait_for(lambda: first.watching == [w.id])
        with running(auto, "second") as second:
            time.sleep(0.5)
            assert second.watching == []  # the lease is held by "first"
    with running(auto, "third") as third:  # released on stop: taken at once
        wait_for(lambda: third.watching == [w.id], timeout=5)
    assert isinstance(third, _Runner)
