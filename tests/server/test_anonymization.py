"""§3.3 anonymize/anonymized and §3.7 anonymization over HTTP: in-place anonymization, the
anonymized download and its way back, options, keys and the CSV export (typed client with the
anonymization mixin, and raw requests for headers and wire compatibility)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import falcon
import httpx
import pytest
from pydicom import dcmread

from slicebox_client import SliceboxClient
from slicebox_client.anonymization import AnonymizationMixin
from slicebox_core import Slicebox
from slicebox_core.db.tables import UserRow
from slicebox_core.errors import Forbidden, InvalidInput, NotFound
from slicebox_core.models import ListQuery, LogEntryType, Role, TagPath
from slicebox_core.models.anonymization import (
    AnonymizationData,
    AnonymizationKeyQuery,
    AnonymizationProfile,
    BulkAnonymizationData,
    ImageTagValues,
    TagValue,
)
from slicebox_core.models.query import QueryOperator, QueryOrder, QueryProperty
from slicebox_core.users.passwords import hash_password

from ..factories import dicom_bytes, make_dataset, to_bytes
from .fixtures import BASE_URL, PASSWORD, SUPERUSER

BASIC = AnonymizationData(AnonymizationProfile.basic(), ())
CSV_HEADER = (
    "ID;Image ID;Created;Patient Name;Anonymous Patient Name;Patient ID;Anonymous Patient ID;"
    "Study Instance UID;Anonymous Study Instance UID;Series Instance UID;"
    "Anonymous Series Instance UID;SOP Instance UID;Anonymous SOP Instance UID;Tag Path;Value;"
    "Anonymized Value"
)


Client = SliceboxClient  # the anonymization methods are part of the client
assert issubclass(Client, AnonymizationMixin)


@pytest.fixture
def client(app: falcon.App) -> Iterator[Client]:
    c = Client(BASE_URL, SUPERUSER, PASSWORD, transport=httpx.WSGITransport(app=app))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def user(box: Slicebox, app: falcon.App) -> Iterator[Client]:
    """A client with role USER."""
    with box.db.write() as session:
        session.add(UserRow(user="joe", role=Role.USER.value, password=hash_password("pw")))
    c = Client(BASE_URL, "joe", "pw", transport=httpx.WSGITransport(app=app))
    try:
        yield c
    finally:
        c.close()


def audit(box: Slicebox) -> list[str]:
    return [
        e.message
        for e in box.log.list(subject="Anonymization", count=100)
        if e.entry_type is LogEntryType.INFO
    ]


# in place (spec §3.3, §5.18.7) ---------------------------------------------------------------
def test_anonymize_in_place(client: Client, box: Slicebox) -> None:
    old = client.upload(dicom_bytes(patient_name="Doe^John", patient_id="P1")).image
    new = client.anonymize_image(old.id, BASIC)
    assert new.id != old.id
    with pytest.raises(NotFound):
        client.get_image(old.id)
    [patient] = client.patients()
    assert patient.patient_id != "P1" and "Doe" not in patient.patient_name
    assert client.series_source(new.series_id).source_name == SUPERUSER
    [message] = audit(box)
    assert message == f"User admin anonymized image {old.id} in place as image {new.id}"


def test_anonymize_unknown_image_is_404_with_the_original_text(
    client: Client, http: httpx.Client
) -> None:
    with pytest.raises(NotFound):
        client.anonymize_image(999, BASIC)
    body = {"profile": {"options": [{"name": "BASIC_PROFILE"}]}, "tagValues": []}
    response = http.put("/api/images/999/anonymize", json=body)
    assert response.status_code == 404
    assert response.text == "No image meta data found for image id 999"


def test_burned_in_annotation_is_400_unless_the_body_allows_it(
    client: Client, http: httpx.Client
) -> None:
    image = client.upload(dicom_bytes(BurnedInAnnotation="YES")).image
    with pytest.raises(InvalidInput) as info:
        client.anonymize_image(image.id, BASIC)
    assert info.value.status == 400  # type: ignore[attr-defined]
    assert '"allowBurnedInAnnotations": true' in str(info.value)
    assert client.get_image(image.id) == image
    body = {
        "profile": {"options": [{"name": "BASIC_PROFILE"}]},
        "tagValues": [],
        "allowBurnedInAnnotations": True,
    }
    response = http.post(f"/api/images/{image.id}/anonymized", json=body)
    assert response.status_code == 200
    assert dcmread(io.BytesIO(response.content)).PatientIdentityRemoved == "YES"
    assert client.anonymize_image(image.id, BASIC, allow_burned_in=True).id != image.id


def test_bodies_in_the_original_shape_are_accepted(http: httpx.Client, box: Slicebox) -> None:
    image = box.images.add(dicom_bytes()).image
    # output-shaped options, no allowBurnedInAnnotations, an unknown extra field
    option = {"name": "RETAIN_UIDS", "title": "x", "description": "y", "rank": 1}
    body = {"profile": {"options": [option]}, "tagValues": [], "somethingNew": 1}
    response = http.put(f"/api/images/{image.id}/anonymize", json=body)
    assert response.status_code == 200, response.text
    new = response.json()
    assert new["sopInstanceUID"]["value"] == image.sop_instance_uid  # UIDs retained
    assert new["id"] != image.id


def test_bulk_anonymize(client: Client, box: Slicebox) -> None:
    ids = [client.upload(dicom_bytes(patient_id=f"P{i}")).image.id for i in range(3)]
    name = TagPath.of(0x00100010)
    data = BulkAnonymizationData(
        AnonymizationProfile(),
        (
            ImageTagValues(ids[0], (TagValue(name, "anon 001"),)),
            ImageTagValues(ids[1], ()),
            ImageTagValues(ids[2], ()),
            ImageTagValues(4242, ()),
        ),
    )
    new = client.anonymize_images(data)
    assert len(new) == 3 and not {i.id for i in new} & set(ids)
    names = {p.patient_name for p in client.patients()}
    assert "anon 001" in names and not any(n.startswith("Doe") for n in names)
    assert audit(box) == ["User admin anonymized 3 of 4 images in place"]


def test_bulk_anonymize_refuses_burned_in_before_changing_anything(client: Client) -> None:
    clean = client.upload(dicom_bytes()).image
    burned = client.upload(dicom_bytes(BurnedInAnnotation="YES")).image
    data = BulkAnonymizationData(
        AnonymizationProfile.basic(), (ImageTagValues(clean.id, ()), ImageTagValues(burned.id, ()))
    )
    with pytest.raises(InvalidInput, match=f"Image {burned.id} was not anonymized"):
        client.anonymize_images(data)
    assert client.get_image(clean.id) == clean
    assert len(client.anonymize_images(data, allow_burned_in=True)) == 2


# the anonymized download and its way back ----------------------------------------------------
def test_anonymized_round_trip_restores_the_real_identity(client: Client, box: Slicebox) -> None:
    original = make_dataset(patient_name="Doe^John", patient_id="P1", AccessionNumber="ACC9")
    data = to_bytes(original)
    image = client.upload(data).image

    anonymous = client.anonymized_bytes(image.id, BASIC)
    ds = dcmread(io.BytesIO(anonymous))
    assert ds.PatientIdentityRemoved == "YES"
    assert b"Doe^John" not in anonymous and b"ACC9" not in anonymous
    assert client.download(image.id) == data  # storage unchanged
    [key] = client.anonymization_keys()
    assert key.image_id == image.id and key.anon_patient_id == ds.PatientID

    back = client.upload(anonymous)  # as if it came back from a recipient
    assert not back.created and back.image.id == image.id
    [patient] = client.patients()
    assert (patient.patient_name, patient.patient_id) == ("Doe^John", "P1")
    restored = dcmread(io.BytesIO(client.download(image.id)))
    assert restored.SOPInstanceUID == original.SOPInstanceUID
    assert restored.StudyInstanceUID == original.StudyInstanceUID
    assert restored.AccessionNumber == "ACC9"


def test_anonymized_bytes_of_anonymous_data_are_unchanged(client: Client) -> None:
    data = dicom_bytes(PatientIdentityRemoved="YES")
    image = client.upload(data).image
    assert client.anonymized_bytes(image.id, BASIC) == data
    assert client.anonymization_keys() == []


def test_anonymized_is_octet_stream(http: httpx.Client, box: Slicebox) -> None:
    image = box.images.add(dicom_bytes()).image
    body = {"profile": {"options": []}, "tagValues": []}
    response = http.post(f"/api/images/{image.id}/anonymized", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"


# options and keys (spec §3.7) ------------------------------------------------------------------
def test_options(client: Client) -> None:
    options = client.anonymization_options()
    names = [o.name for o in options]
    # the spec's six, and whatever more the engine supports, never the Basic Profile
    assert {
        "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION",
        "RETAIN_PATIENT_CHARACTERISTICS",
        "RETAIN_DEVICE_IDENTITY",
        "RETAIN_INSTITUTION_IDENTITY",
        "RETAIN_UIDS",
        "RETAIN_SAFE_PRIVATE",
    } <= set(names)
    assert "BASIC_PROFILE" not in names
    assert [o.rank for o in options] == sorted(o.rank for o in options)
    uids = next(o for o in options if o.name == "RETAIN_UIDS")
    assert (uids.title, uids.rank) == ("Retain UIDs", 120)


@pytest.fixture
def keyed(client: Client, box: Slicebox) -> list[int]:
    """Three keys: Doe^John twice (two images), Roe^Jane once."""
    ids = []
    for name, pid in (("Doe^John", "P1"), ("Doe^John", "P1"), ("Roe^Jane", "P2")):
        image = box.images.add(dicom_bytes(patient_name=name, patient_id=pid)).image
        client.anonymized_bytes(image.id, BASIC)
        ids.append(image.id)
    return ids


def test_list_keys_with_paging_order_and_prefix_filter(client: Client, keyed: list[int]) -> None:
    keys = client.anonymization_keys()
    assert [k.image_id for k in keys] == keyed
    page = client.anonymization_keys(
        ListQuery(start_index=1, count=1, order_by="imageId", order_ascending=False)
    )
    assert [k.image_id for k in page] == [keyed[1]]
    assert len(client.anonymization_keys(ListQuery(filter="doe^"))) == 2
    assert client.anonymization_keys(ListQuery(filter="oe^John")) == []  # prefix, not substring
    anon = keys[2].anon_patient_id
    assert [k.id for k in client.anonymization_keys(ListQuery(filter=anon[:12]))] == [keys[2].id]
    with pytest.raises(InvalidInput):
        client.anonymization_keys(ListQuery(order_by="nope"))


def test_query_keys(client: Client, keyed: list[int]) -> None:
    query = AnonymizationKeyQuery(
        0,
        10,
        (QueryProperty("patientID", QueryOperator.EQUALS, "P1"),),
        QueryOrder("id", False),
    )
    found = client.query_anonymization_keys(query)
    assert [k.image_id for k in found] == [keyed[1], keyed[0]]
    like = AnonymizationKeyQuery(0, 10, (QueryProperty("patientName", QueryOperator.LIKE, "Jan"),))
    assert [k.image_id for k in client.query_anonymization_keys(like)] == [keyed[2]]
    bad = AnonymizationKeyQuery(0, 10, (QueryProperty("nope", QueryOperator.EQUALS, "x"),))
    with pytest.raises(InvalidInput):
        client.query_anonymization_keys(bad)


def test_get_delete_and_key_values(client: Client, http: httpx.Client, keyed: list[int]) -> None:
    key = client.anonymization_keys()[0]
    assert client.anonymization_key(key.id) == key
    values = client.anonymization_key_values(key.id)
    by_path = {str(v.tag_path): v for v in values}
    assert by_path["(0008,0050)"].value == "ACC1"  # AccessionNumber, a default key attribute
    assert all(v.anonymization_key_id == key.id for v in values)
    client.delete_anonymization_key(key.id)
    client.delete_anonymization_key(key.id)  # idempotent
    with pytest.raises(NotFound):
        client.anonymization_key(key.id)
    response = http.get(f"/api/anonymization/keys/{key.id}")
    assert response.status_code == 404 and response.content == b""
    assert client.anonymization_key_values(key.id) == []


def test_csv_export(client: Client, http: httpx.Client, box: Slicebox, keyed: list[int]) -> None:
    response = http.get("/api/anonymization/keys/export/csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=UTF-8"
    assert (
        response.headers["content-disposition"]
        == "attachment; filename=slicebox-anonymization-info.csv"
    )
    lines = response.text.splitlines()
    assert lines[0] == CSV_HEADER
    rows = list(csv.reader(lines[1:], delimiter=";"))
    keys = client.anonymization_keys()
    values = sum(len(client.anonymization_key_values(k.id)) for k in keys)
    assert len(rows) == values
    assert {int(r[1]) for r in rows} == set(keyed)
    assert {r[3] for r in rows} == {"Doe^John", "Roe^Jane"}
    out = io.BytesIO()
    assert client.download_anonymization_keys_csv(out) == len(response.content)
    assert client.anonymization_keys_csv() == response.text
    assert audit(box) == ["User admin exported the anonymization keys as CSV"] * 3


def test_csv_export_of_a_key_without_values(client: Client, box: Slicebox) -> None:
    from slicebox_core.anonymize.keys import Identifiers, insert_key

    ids = Identifiers("A", "B", "C", "D", "E")
    with box.db.write() as session:
        insert_key(session, image_id=5, real=ids, anonymous=ids, values=(), date_shift_days=None)
    lines = client.anonymization_keys_csv().splitlines()
    assert lines[1].split(";")[13:] == ["(0000,0000)", "", ""]


def test_csv_export_needs_administrator(user: Client, client: Client) -> None:
    client.upload(dicom_bytes())
    with pytest.raises(Forbidden):
        user.anonymization_keys_csv()
    with pytest.raises(Forbidden):
        user.download_anonymization_keys_csv(io.BytesIO())
    assert user.anonymization_keys() == []  # the other routes need USER only
    assert user.anonymization_options()


def test_openapi_documents_the_burned_in_override(client: Client) -> None:
    document = client.openapi()
    put = document["paths"]["/api/images/{id}/anonymize"]["put"]
    assert "allowBurnedInAnnotations" in put["description"]
    schema = document["components"]["schemas"]["AnonymizationData"]
    assert "allowBurnedInAnnotations" in schema["properties"]
    assert "allowBurnedInAnnotations" not in schema.get("required", [])
    csv_route = document["paths"]["/api/anonymization/keys/export/csv"]["get"]
    assert csv_route["x-slicebox-role"] == "ADMINISTRATOR"
