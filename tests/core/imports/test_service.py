"""Import sessions on a real index: ownership, counters, images, events, atomicity."""

from __future__ import annotations

import pytest
from pydicom.uid import SecondaryCaptureImageStorage

from slicebox_core import Slicebox
from slicebox_core.errors import InvalidDicom, InvalidInput, NotFound
from slicebox_core.events import SourceAdded, SourceDeleted
from slicebox_core.models import LogEntryType, Source, SourceType

from ...factories import dicom_bytes


def counters(sb: Slicebox, session_id: int) -> tuple[int, int, int]:
    s = sb.imports.get(session_id)
    return s.files_imported, s.files_added, s.files_rejected


def test_create_get_list_delete(auto: Slicebox) -> None:
    events: list[object] = []
    auto.events.subscribe(SourceAdded, events.append)
    auto.events.subscribe(SourceDeleted, events.append)
    s = auto.imports.create("batch 1", user_id=1, user="alice")
    assert (s.name, s.user_id, s.user) == ("batch 1", 1, "alice")
    assert counters(auto, s.id) == (0, 0, 0) and s.created == s.last_updated > 0
    assert auto.imports.create("batch 1", user_id=1, user="alice") == s  # same user: same one
    with pytest.raises(InvalidInput, match="another user"):
        auto.imports.create("batch 1", user_id=2, user="bob")
    with pytest.raises(InvalidInput):
        auto.imports.create(" ", user_id=1, user="alice")
    other = auto.imports.create("batch 2", user_id=2, user="bob")
    assert auto.imports.list() == [s, other]
    assert auto.imports.list(start_index=1, count=5) == [other]
    assert Source(SourceType.IMPORT, "batch 2", other.id) in auto.imports.sources()
    with pytest.raises(NotFound):
        auto.imports.get(999)
    auto.imports.delete(s.id)
    auto.imports.delete(999)  # unknown: nothing happens
    assert auto.imports.list() == [other]
    assert events == [
        SourceAdded(Source(SourceType.IMPORT, "batch 1", s.id)),
        SourceAdded(Source(SourceType.IMPORT, "batch 2", other.id)),
        SourceDeleted(SourceType.IMPORT, s.id),
    ]


def test_upload_counters_and_images(auto: Slicebox) -> None:
    s = auto.imports.create("s", user_id=1, user="alice")
    data = dicom_bytes()
    first = auto.imports.add(s.id, data)
    assert not first.overwrite
    assert counters(auto, s.id) == (1, 1, 0)
    again = auto.imports.add(s.id, data)
    assert again.overwrite and again.image.id == first.image.id
    assert counters(auto, s.id) == (2, 1, 0)
    second = auto.imports.add(s.id, dicom_bytes(patient_id="P2")).image
    assert auto.imports.images(s.id) == [first.image, second]
    assert auto.index.series_source(second.series_id) == Source(SourceType.IMPORT, "s", s.id)
    auto.images.delete(second.id)
    assert auto.imports.images(s.id) == [first.image]  # only images that still exist
    auto.imports.delete(s.id)
    assert auto.images.get(first.image.id) == first.image  # images stay
    assert auto.imports.images(s.id) == []


def test_rejections_are_counted_and_logged(auto: Slicebox) -> None:
    s = auto.imports.create("s", user_id=1, user="alice")
    with pytest.raises(InvalidDicom) as raised:
        auto.imports.add(s.id, b"\xff\xd8\xff\xe0 a jpeg", filename="photo.jpg")
    assert str(raised.value).startswith("photo.jpg: Invalid DICOM data: ")
    with pytest.raises(InvalidDicom, match="unsupported SOP class"):
        auto.imports.add(s.id, dicom_bytes(sop_class=SecondaryCaptureImageStorage))
    assert counters(auto, s.id) == (0, 0, 2)
    entries = auto.log.list(subject="Import", entry_type=LogEntryType.ERROR)  # newest first
    assert len(entries) == 2
    assert "photo.jpg: Invalid DICOM data" in entries[1].message
    with pytest.raises(NotFound):
        auto.imports.add(999, dicom_bytes())


def test_counters_commit_with_the_image(auto: Slicebox) -> None:
    s = auto.imports.create("s", user_id=1, user="alice")

    def boom(*_: object) -> None:
        raise RuntimeError("crash before the commit")

    auto.images.in_transaction.append(boom)
    with pytest.raises(RuntimeError):
        auto.imports.add(s.id, dicom_bytes())
    auto.images.in_transaction.remove(boom)
    assert counters(auto, s.id) == (0, 0, 1)  # rejected, never half-counted
    assert auto.imports.images(s.id) == []
    assert auto.index.counts()["images"] == 0
