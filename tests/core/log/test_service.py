"""The log on a real index: newest first, paging, filters, delete one, clear."""

from __future__ import annotations

from slicebox_core import Slicebox
from slicebox_core.models import LogEntryType


def test_list_filters_delete_clear(auto: Slicebox) -> None:
    log = auto.log
    first = log.info("Directory", "one")
    log.warn("Import", "two")
    third = log.error("Directory", "three")
    log.add(LogEntryType.DEFAULT, "System", "four")
    assert [e.message for e in log.list()] == ["four", "three", "two", "one"]
    assert [e.message for e in log.list(start_index=1, count=2)] == ["three", "two"]
    assert [e.message for e in log.list(subject="Directory")] == ["three", "one"]
    assert [e.message for e in log.list(entry_type=LogEntryType.WARN)] == ["two"]
    assert log.list(subject="Directory", entry_type=LogEntryType.ERROR) == [third]
    assert log.list(subject="Nobody") == []
    log.delete(first.id)
    log.delete(999)
    assert [e.message for e in log.list(subject="Directory")] == ["three"]
    log.clear()
    assert log.list() == []


def test_automation_writes_the_log(auto: Slicebox) -> None:
    s = auto.imports.create("s", user_id=1, user="alice")
    try:
        auto.imports.add(s.id, b"not dicom", filename="a.txt")
    except Exception:
        pass
    error, created = auto.log.list(subject="Import")
    assert error.entry_type == LogEntryType.ERROR and "a.txt" in error.message
    assert created.entry_type == LogEntryType.INFO
    assert created.message == f"Import session {s.id} created by user 1"
