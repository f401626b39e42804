"""Bad input gets a precise 4xx, stores nothing, and the server keeps serving."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from slicebox_client import SliceboxClient
from slicebox_core import Slicebox

from ..factories import dicom_bytes

EMPTY = {"patients": 0, "studies": 0, "series": 0, "images": 0}


@pytest.fixture
def stored(client: SliceboxClient) -> Iterator[None]:
    """One image stored before the bad request (so "nothing changed" is meaningful)."""
    client.upload(dicom_bytes())
    yield


def counts(box: Slicebox) -> dict[str, int]:
    return {k: v for k, v in box.index.counts().items() if k in EMPTY}


def still_serving(http: httpx.Client) -> None:
    assert http.get("/api/system/health").status_code == 200
    assert http.get("/api/metadata/patients").status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not dicom at all" * 100, "application/octet-stream"),
        (b"", "application/octet-stream"),
        (b"\x00" * 128 + b"DICM", "application/octet-stream"),  # preamble, nothing after
        (dicom_bytes()[:300], "application/octet-stream"),  # truncated
        (dicom_bytes()[:-500], "application/octet-stream"),  # pixel data cut short
    ],
    ids=["garbage", "empty", "preamble-only", "truncated-header", "truncated-pixels"],
)
def test_bad_dicom_uploads(
    http: httpx.Client, box: Slicebox, stored: None, body: bytes, content_type: str
) -> None:
    before = counts(box)
    response = http.post("/api/images", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400, response.text
    assert response.text.startswith("Invalid DICOM data")
    assert response.headers["content-type"].startswith("text/plain")
    assert counts(box) == before
    still_serving(http)


def test_multipart_without_file_part(http: httpx.Client, box: Slicebox, stored: None) -> None:
    before = counts(box)
    response = http.post("/api/images", files={"other": ("x.dcm", dicom_bytes())})
    assert response.status_code == 400
    assert "file" in response.text
    assert counts(box) == before
    still_serving(http)


def test_malformed_multipart(http: httpx.Client, box: Slicebox, stored: None) -> None:
    before = counts(box)
    response = http.post(
        "/api/images",
        content=b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 400
    no_boundary = http.post(
        "/api/images", content=b"x", headers={"Content-Type": "multipart/form-data"}
    )
    assert no_boundary.status_code == 400
    assert counts(box) == before
    still_serving(http)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/metadata/patients/query", b"{"),
        ("/api/metadata/patients/query", b'{"startIndex": 0}'),  # count missing
        ("/api/metadata/patients/query", b'{"startIndex": "0", "count": 10}'),
        ("/api/metadata/patients/query", b"[]"),
        ("/api/metadata/patients/query", b""),
        (
            "/api/metadata/studies/query",
            b'{"startIndex": 0, "count": 1, "queryProperties":'
            b' [{"propertyName": "x", "operator": "~", "propertyValue": "y"}]}',
        ),
        ("/api/images/delete", b'["a"]'),
        ("/api/images/delete", b'{"ids": [1]}'),
        ("/api/images/export", b"[1,"),
        ("/api/metadata/seriestags", b'{"name": 5, "id": -1}'),
        ("/api/metadata/seriestags", b"\xff\xfe"),
        ("/api/users/login", b'{"user": "admin"}'),
    ],
)
def test_malformed_or_incomplete_json(
    http: httpx.Client, box: Slicebox, stored: None, path: str, body: bytes
) -> None:
    before = counts(box)
    response = http.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, (path, body, response.text)
    assert response.text
    assert counts(box) == before
    still_serving(http)


def test_json_error_message_names_the_path(http: httpx.Client) -> None:
    body = {"startIndex": 0, "count": 10, "queryProperties": [{"propertyName": "patientName"}]}
    response = http.post("/api/metadata/patients/query", json=body)
    assert response.status_code == 400
    assert "[0]" in response.text and "operator" in response.text


def test_json_error_message_uses_wire_names(http: httpx.Client) -> None:
    body = {"startIndex": 0, "count": 10, "queryProperties": [{"propertyName": "patientName"}]}
    response = http.post("/api/metadata/patients/query", json=body)
    assert response.status_code == 400
    assert "queryProperties[0]" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/images/999",
        "/api/images/999/attributes",
        "/api/images/999/imageinformation",
        "/api/images/999/png",
        "/api/metadata/series/999/source",
        "/api/metadata/seriestags/999",
    ],
)
def test_unknown_ids_are_404(http: httpx.Client, stored: None, path: str) -> None:
    assert http.get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/metadata/patients",
        "/api/metadata/flatseries",
        "/api/metadata/studies?patientid=1",
        "/api/metadata/series?studyid=1",
        "/api/metadata/images?seriesid=1",
        "/api/metadata/seriestags",
    ],
)
@pytest.mark.parametrize(
    "params",
    ["startindex=-1", "count=-5", "startindex=x", "count=1.5", "orderascending=maybe"],
)
def test_bad_paging(http: httpx.Client, stored: None, path: str, params: str) -> None:
    if params.startswith("orderascending") and ("studies" in path or "series?" in path):
        pytest.skip("studies and series listings have no ordering parameters (spec §3.4)")
    sep = "&" if "?" in path else "?"
    response = http.get(f"{path}{sep}{params}")
    assert response.status_code == 400, (path, params, response.text)
    still_serving(http)


@pytest.mark.parametrize(
    "orderby",
    ["nosuchcolumn", 'id; DROP TABLE "Patients"', "patientName--", "1=1", '"Patients".id'],
)
@pytest.mark.parametrize("path", ["/api/metadata/patients", "/api/metadata/flatseries"])
def test_orderby_not_a_column(
    http: httpx.Client, box: Slicebox, stored: None, path: str, orderby: str
) -> None:
    before = counts(box)
    response = http.get(path, params={"orderby": orderby})
    assert response.status_code == 400, (orderby, response.text)
    assert counts(box) == before
    still_serving(http)


def test_query_property_not_a_column(http: httpx.Client, box: Slicebox, stored: None) -> None:
    body = {
        "startIndex": 0,
        "count": 10,
        "queryProperties": [
            {"propertyName": 'x"; DROP TABLE "Images', "operator": "=", "propertyValue": "1"}
        ],
    }
    before = counts(box)
    assert http.post("/api/metadata/images/query", json=body).status_code == 400
    assert counts(box) == before


@pytest.mark.parametrize(
    "sources",
    ["user", "user:", "user:x", "nosuch:1", ":1", "user:1,box", "user:1:2"],
)
def test_malformed_sources_param(http: httpx.Client, stored: None, sources: str) -> None:
    response = http.get("/api/metadata/patients", params={"sources": sources})
    assert response.status_code == 400, (sources, response.text)
    assert "sources" in response.text or "source type" in response.text


@pytest.mark.parametrize("param", ["seriestypes", "seriestags"])
def test_malformed_id_lists(http: httpx.Client, param: str) -> None:
    response = http.get("/api/metadata/patients", params={param: "1,two"})
    assert response.status_code == 400
    assert param in response.text


@pytest.mark.parametrize(
    "path",
    ["/api/metadata/studies", "/api/metadata/series", "/api/metadata/images"],
)
def test_missing_required_parent_id_is_404_and_non_integer_400(
    http: httpx.Client, path: str
) -> None:
    missing = http.get(path)
    assert missing.status_code == 404
    assert "missing required query parameter" in missing.text
    name = {"studies": "patientid", "series": "studyid", "images": "seriesid"}[path.split("/")[-1]]
    assert http.get(path, params={name: "abc"}).status_code == 400


def test_oversized_json_body_is_413(tmp_path, stored: None) -> None:  # type: ignore[no-untyped-def]
    from slicebox_server import create_app

    from .fixtures import http_for, open_box

    sb = open_box(tmp_path / "small", **{"server.max_body_bytes": 100})
    try:
        with http_for(create_app(sb)) as http:
            response = http.post("/api/images/delete", json=list(range(100)))
            assert response.status_code == 413
            assert http.post("/api/images/delete", json=[1]).status_code == 204
    finally:
        sb.close()


def test_oversized_upload_is_413_and_stores_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from slicebox_server import create_app

    from .fixtures import http_for, open_box

    sb = open_box(tmp_path / "small", **{"server.max_upload_bytes": 1000})
    try:
        with http_for(create_app(sb)) as http:
            response = http.post("/api/images", content=dicom_bytes())
            assert response.status_code == 413
            assert sb.index.counts()["images"] == 0
            assert http.get("/api/system/health").status_code == 200
    finally:
        sb.close()


def test_count_is_capped_at_the_max_page_size(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from slicebox_server import create_app

    from .fixtures import client_for, open_box

    sb = open_box(tmp_path / "capped", **{"server.max_page_size": 2})
    try:
        with client_for(create_app(sb)) as client:
            for i in range(3):
                client.upload(dicom_bytes(patient_id=f"P{i}"))
            from slicebox_core.models import ListQuery

            assert len(client.patients(ListQuery(count=100))) == 2
    finally:
        sb.close()
