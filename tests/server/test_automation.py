"""§3.6, §3.12, §3.14, §3.15, §3.16 over HTTP: series types, directory watches, tag filters,
import sessions and the log (typed client with the automation mixin, and raw requests)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import falcon
import httpx
import pytest

from slicebox_client import SliceboxClient
from slicebox_client.automation import AutomationMixin
from slicebox_core import Slicebox
from slicebox_core.db.tables import UserRow
from slicebox_core.errors import Forbidden, InvalidDicom, InvalidInput, NotFound
from slicebox_core.models import LogEntryType, Role, Source, SourceType
from slicebox_core.models.filters import TagFilterType, TagTree
from slicebox_core.outbox import AutomationWorker
from slicebox_core.users.passwords import hash_password
from slicebox_server import create_app

from ..automation import wire
from ..factories import dicom_bytes
from .fixtures import BASE_URL, PASSWORD, SUPERUSER

MODALITY = 0x00080060


Client = SliceboxClient  # the automation methods are part of the client (AutomationMixin)
assert issubclass(Client, AutomationMixin)


@pytest.fixture
def app(box: Slicebox) -> falcon.App:
    return create_app(wire(box))


@pytest.fixture
def client(app: falcon.App) -> Iterator[Client]:
    with Client(BASE_URL, SUPERUSER, PASSWORD, transport=httpx.WSGITransport(app=app)) as c:
        yield c


@pytest.fixture
def user(box: Slicebox, app: falcon.App) -> Iterator[Client]:
    """A client with role USER."""
    with box.db.write() as session:
        session.add(UserRow(user="joe", role=Role.USER.value, password=hash_password("pw")))
    with Client(BASE_URL, "joe", "pw", transport=httpx.WSGITransport(app=app)) as c:
        yield c


# §3.6 series types ------------------------------------------------------------------------------
def test_series_types_end_to_end(client: Client, box: Slicebox) -> None:
    st = client.create_series_type("CT")
    assert client.series_types() == [st]
    assert client.get_series_type(st.id) == st
    client.rename_series_type(st.id, "CT images")
    assert client.get_series_type(st.id).name == "CT images"
    with pytest.raises(InvalidInput):
        client.create_series_type("CT images")
    rule = client.add_series_type_rule(st.id)
    assert client.series_type_rules(st.id) == [rule]
    assert not client.series_types_updating()
    attribute = client.add_series_type_rule_attribute(rule.id, tag=MODALITY, values="CT")
    assert attribute.name == "Modality"
    assert client.series_type_rule_attributes(rule.id) == [attribute]
    image, _ = client.upload(dicom_bytes())
    assert client.series_types_updating()
    AutomationWorker(box, watch=False).run_pending()
    AutomationWorker(box, watch=False).run_pending()
    assert not client.series_types_updating()
    found = client.series_types_for([image.series_id, 4711])
    assert [(f.series_id, f.series_type.name) for f in found] == [(image.series_id, "CT images")]
    client.delete_series_type_rule_attribute(rule.id, attribute.id)
    client.delete_series_type_rule(rule.id)
    client.delete_series_type(st.id)
    assert client.series_types() == []


def test_series_type_wire_shapes(client: Client, http: httpx.Client) -> None:
    response = http.post("/api/seriestypes", json={"id": -1, "name": "MR"})
    assert response.status_code == 201
    type_id = response.json()["id"]
    response = http.post("/api/seriestypes/rules", json={"id": -1, "seriesTypeId": type_id})
    assert response.status_code == 201
    rule_id = response.json()["id"]
    assert response.json() == {"id": rule_id, "seriesTypeId": type_id}
    body = {"id": -1, "seriesTypeRuleId": 999, "tag": 528434 + 0, "name": "", "values": "x"}
    body["tag"] = 0x00080100
    body["tagPath"] = "528434"
    response = http.post(f"/api/seriestypes/rules/{rule_id}/attributes", json=body)
    assert response.status_code == 201
    assert response.json() == {
        "id": response.json()["id"],
        "seriesTypeRuleId": rule_id,  # the path's rule, not the body's
        "tag": 0x00080100,
        "name": "CodeValue",
        "values": "x",
        "tagPath": "528434",
        "namePath": "ProcedureCodeSequence",
    }
    assert http.get("/api/seriestypes/rules/updatestatus").json() == {"running": True}
    response = http.post("/api/seriestypes/series/query", json={"ids": [1, 2]})
    assert response.json() == {"seriesIdSeriesTypes": []}
    assert http.put(f"/api/seriestypes/{type_id}", json={"id": 0, "name": "MR2"}).status_code == 204
    assert http.get("/api/seriestypes/rules").status_code == 404  # missing seriestypeid


def test_bad_rule_attribute_is_400_with_message(client: Client, http: httpx.Client) -> None:
    st = client.create_series_type("T")
    rule = client.add_series_type_rule(st.id)
    body = {"id": -1, "seriesTypeRuleId": rule.id, "tag": MODALITY, "name": "PatientName"}
    body["values"] = "CT"
    response = http.post(f"/api/seriestypes/rules/{rule.id}/attributes", json=body)
    assert response.status_code == 400
    assert "PatientName" in response.text and "Modality" in response.text
    with pytest.raises(NotFound):
        client.add_series_type_rule_attribute(4711, tag=MODALITY, values="CT")


def test_roles(user: Client) -> None:
    assert user.series_types() == []
    with pytest.raises(Forbidden):
        user.create_series_type("x")
    with pytest.raises(Forbidden):
        user.create_tag_filter("x", TagFilterType.BLACKLIST)
    with pytest.raises(Forbidden):
        user.create_directory_watch("x", "/tmp")
    with pytest.raises(Forbidden):
        user.clear_log()
    assert user.create_import_session("mine").user == "joe"
    user.delete_log_entry(4711)  # any user may delete one entry


# §3.12 directory watches -----------------------------------------------------------------------
def test_directory_watches(client: Client, box: Slicebox, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (tmp_path / "a-file").write_bytes(b"")
    w = client.create_directory_watch("inbox", str(inbox))
    assert client.create_directory_watch("inbox", str(inbox)) == w
    assert client.directory_watches() == [w]
    assert Source(SourceType.DIRECTORY, "inbox", w.id) in client.sources()
    for bad in (str(tmp_path / "a-file"), "/", str(tmp_path)):
        with pytest.raises(InvalidInput):
            client.create_directory_watch("other", bad)
    with pytest.raises(InvalidInput, match="already watched"):
        client.create_directory_watch("other", str(inbox))
    worker = AutomationWorker(box, poll_interval_s=0.2)
    worker.start()
    try:
        (inbox / "one.dcm").write_bytes(dicom_bytes())
        deadline = time.monotonic() + 10
        while not box.index.counts()["images"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        worker.stop()
    client.delete_directory_watch(w.id)
    assert client.directory_watches() == []


# §3.14 tag filters ---------------------------------------------------------------------
def test_tag_filters(client: Client, http: httpx.Client, box: Slicebox) -> None:
    f = client.create_tag_filter("no names", TagFilterType.BLACKLIST)
    assert client.tag_filters() == [f]
    path = client.add_tag_filter_path(f.id, TagTree(name="PatientName"))
    assert path.tag_path == TagTree(0x00100010, "PatientName")
    assert client.tag_filter_paths(f.id) == [path]
    response = http.post(
        f"/api/filtering/filters/{f.id}/tagpaths",
        json={"id": -1, "tagFilterId": f.id, "tagPath": {"name": "NoSuchKeyword"}},
    )
    assert response.status_code == 400
    assert "NoSuchKeyword" in response.text
    response = http.post(
        f"/api/filtering/filters/{f.id}/tagpaths",
        json={
            "id": -1,
            "tagFilterId": f.id,
            "tagPath": {
                "tag": 528720,
                "previous": {"name": "ReferencedImageSequence", "item": "*"},
            },
        },
    )
    assert response.status_code == 201
    assert response.json()["tagPath"] == {
        "tag": 528720,
        "name": "ReferencedSOPClassUID",
        "previous": {"tag": 528704, "name": "ReferencedImageSequence", "item": "*"},
    }
    me = next(s for s in client.sources() if s.source_type == SourceType.USER)
    association = client.associate_tag_filter(me, f.id)
    assert association.tag_filter_name == "no names"
    assert client.tag_filter_associations() == [association]
    image, _ = client.upload(dicom_bytes(patient_name="Secret^Name"))
    assert "PatientName" not in box.images.dataset(image.id)
    assert client.get_patient(client.patients()[0].id).patient_name == ""
    client.delete_tag_filter_association(association.id)
    client.delete_tag_filter_path(f.id, path.id)
    client.delete_tag_filter(f.id)
    with pytest.raises(NotFound):
        client.get_tag_filter(f.id)
    bad = {"id": -1, "sourceType": "fax", "sourceName": "x", "sourceId": 1, "tagFilterId": 1}
    bad["tagFilterName"] = ""
    assert http.post("/api/filtering/associations", json=bad).status_code == 400


# §3.15 import sessions ---------------------------------------------------------------------------
def test_import_sessions(client: Client, user: Client) -> None:
    s = client.create_import_session("batch")
    assert s.user == SUPERUSER and (s.files_imported, s.files_added, s.files_rejected) == (0, 0, 0)
    assert client.create_import_session("batch") == s
    with pytest.raises(InvalidInput, match="another user"):
        user.create_import_session("batch")
    data = dicom_bytes()
    first = client.import_upload(s.id, data)
    assert first.created
    second = client.import_upload(s.id, data, filename="again.dcm")
    assert not second.created
    got = client.get_import_session(s.id)
    assert (got.files_imported, got.files_added, got.files_rejected) == (2, 1, 0)
    # 400; InvalidInput, not InvalidDicom: the client recognizes the latter by the message
    # start, which the file name prefix (spec §3.15) hides
    with pytest.raises(InvalidInput) as raised:
        client.import_upload(s.id, b"\xff\xd8\xff\xe0jpeg", filename="photo.jpg")
    assert str(raised.value).startswith("photo.jpg: Invalid DICOM data")
    assert client.get_import_session(s.id).files_rejected == 1
    assert client.import_session_images(s.id) == [first.image]
    assert client.import_sessions() == [client.get_import_session(s.id)]
    with pytest.raises(InvalidDicom):
        client.import_upload(s.id, b"no file name, no prefix")
    with pytest.raises(NotFound):
        client.import_upload(4711, data)
    with pytest.raises(NotFound):
        client.get_import_session(4711)
    client.delete_import_session(s.id)
    client.delete_import_session(s.id)  # again: 204
    assert client.import_sessions() == []


def test_import_upload_streams_a_file(client: Client, tmp_path: Path) -> None:
    s = client.create_import_session("files")
    path = tmp_path / "one.dcm"
    path.write_bytes(dicom_bytes(rows=256, columns=256))
    with open(path, "rb") as f:
        assert client.import_upload(s.id, f).created
    assert client.import_upload(s.id, path, filename="one.dcm").image.id > 0


# §3.16 log ------------------------------------------------------------------------------------
def test_log(client: Client, http: httpx.Client, box: Slicebox) -> None:
    box.log.info("Directory", "one")
    box.log.error("Import", "two")
    box.log.error("Directory", "three")
    assert [e.message for e in client.log()] == ["three", "two", "one"]
    assert [e.message for e in client.log(subject="Directory")] == ["three", "one"]
    assert [e.message for e in client.log(entry_type=LogEntryType.ERROR)] == ["three", "two"]
    assert [e.message for e in client.log(subject="Directory", entry_type="ERROR")] == ["three"]
    assert [e.message for e in client.log(start_index=1, count=1)] == ["two"]
    entry = http.get("/api/log", params={"count": 1}).json()[0]
    assert set(entry) == {"id", "created", "entryType", "subject", "message"}
    assert http.get("/api/log", params={"type": "LOUD"}).status_code == 400
    assert http.get("/api/log", params={"startindex": -1}).status_code == 400
    client.delete_log_entry(entry["id"])
    # deletions are audited (subject "Audit"): the trail says who deleted what
    assert [e.message for e in client.log() if e.subject != "Audit"] == ["two", "one"]
    client.clear_log()
    assert [e.message for e in client.log()] == [
        "DELETE /api/log by user 'admin' (id 1) from 127.0.0.1: 204"
    ]


def test_openapi_documents_the_routes(client: SliceboxClient) -> None:
    paths = client.openapi()["paths"]
    assert paths["/api/log"]["delete"]["x-slicebox-role"] == "ADMINISTRATOR"
    assert "/api/seriestypes/rules/{id}/attributes/{attribute_id}" in paths
    assert "/api/import/sessions/{id}/images" in paths
