"""Boxes over HTTP, in-process: the user-facing routes (spec §3.8), the token-authenticated
box protocol (§3.9) and ``HttpBoxPeer`` between two apps (the WSGI transport instead of TCP)."""

from __future__ import annotations

import hashlib
import io
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import falcon
import httpx
import pydicom
import pytest

from slicebox_client import SliceboxClient
from slicebox_client.boxes import BoxesMixin
from slicebox_client.peer import HttpBoxPeer
from slicebox_core import Slicebox
from slicebox_core.boxes.protocol import SHA256_HEADER, CorruptTransfer
from slicebox_core.boxes.worker import BoxLoops
from slicebox_core.errors import InvalidInput, NotFound
from slicebox_core.models.anonymization import (
    AnonymizationProfile,
    BulkAnonymizationData,
    ImageTagValues,
    TagValue,
)
from slicebox_core.models.boxes import RemoteBox, SendMethod, TransactionStatus
from slicebox_core.models.dicom import TagPath
from slicebox_server import create_app
from tests.boxes_wiring import wire_boxes
from tests.factories import dicom_bytes

from .fixtures import BASE_URL, PASSWORD, SUPERUSER, open_box

FAST = {"retry_interval_s": 0.05, "max_backoff_s": 0.1, "lease_s": 30.0, "parallelism": 2}


Client = SliceboxClient  # the client includes BoxesMixin
assert issubclass(Client, BoxesMixin)


def terminated(app: falcon.App) -> Callable[..., Any]:
    """``app`` as gunicorn runs it: a chunked request body is terminated (readable to EOF)."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return app({**environ, "wsgi.input_terminated": True}, start_response)

    return wsgi


def transport(app: falcon.App) -> httpx.WSGITransport:
    return httpx.WSGITransport(app=terminated(app))


@pytest.fixture
def public(tmp_path: Path, template: Path) -> Iterator[Slicebox]:
    sb = open_box(tmp_path / "public", template=template)
    wire_boxes(sb, **FAST)
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture
def hospital(tmp_path: Path, template: Path) -> Iterator[Slicebox]:
    sb = open_box(tmp_path / "hospital", template=template)
    wire_boxes(sb, **FAST)
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture
def public_app(public: Slicebox) -> falcon.App:
    return create_app(public)


@pytest.fixture
def api(public_app: falcon.App) -> Iterator[Client]:
    with Client(BASE_URL, SUPERUSER, PASSWORD, transport=transport(public_app)) as client:
        yield client


@pytest.fixture
def raw(public_app: falcon.App) -> Iterator[httpx.Client]:
    """Unauthenticated: the box protocol needs no user."""
    with httpx.Client(base_url=BASE_URL, transport=transport(public_app)) as client:
        yield client


def deflate(data: bytes) -> bytes:
    return zlib.compress(data)


def anonymous_dicom(**kwargs: Any) -> bytes:
    return dicom_bytes(PatientIdentityRemoved="YES", **kwargs)


# --- user-facing routes ------------------------------------------------------------------


def test_connections(api: Client) -> None:
    poll = api.create_connection("hospital")
    assert poll.send_method == SendMethod.POLL
    assert poll.base_url == f"{BASE_URL}/api/transactions/{poll.token}"
    assert api.create_connection("hospital") == poll
    push = api.connect("upstream", poll.base_url.replace("hospital", "x"))
    assert push.send_method == SendMethod.PUSH
    assert api.connect("upstream", push.base_url) == push
    assert api.connect("other", push.base_url).id != push.id
    for name, url in (("upstream", push.base_url + "0"), ("hospital", push.base_url)):
        with pytest.raises(InvalidInput):
            api.connect(name, url)
    with pytest.raises(InvalidInput, match="Malformed box base url"):
        api.connect("bad", "")
    with pytest.raises(InvalidInput):
        api.create_connection("upstream")  # a PUSH box has the name
    assert [b.name for b in api.boxes()] == ["hospital", "upstream", "other"]
    assert [b.name for b in api.boxes(start_index=2, count=5)] == ["other"]
    api.delete_box(push.id)
    api.delete_box(push.id)
    assert len(api.boxes()) == 2


def test_malformed_connection_bodies(public_app: falcon.App) -> None:
    with httpx.Client(
        base_url=BASE_URL, transport=transport(public_app), auth=(SUPERUSER, PASSWORD)
    ) as http:
        for body in ({}, {"name": "x"}, {"name": 5, "defaultProfile": {"options": []}}):
            assert http.post("/api/boxes/createconnection", json=body).status_code == 400
        answer = http.post("/api/boxes/send", json={})  # no id: not a route
        assert answer.status_code in (404, 405)


def test_send_and_transactions(api: Client, public: Slicebox) -> None:
    box = api.connect("upstream", f"http://x/api/transactions/{'1' * 8}-1111-1111-1111-{'1' * 12}")
    image = api.upload(dicom_bytes()).image
    api.send_to_box(box.id, [image.id, 424242])
    api.send_to_box(box.id, [])  # an empty transaction
    with pytest.raises(NotFound, match="No box found for id 999"):
        api.send_to_box(999, [image.id])
    empty, tx = api.outgoing_transactions()  # newest first
    assert (tx.total_image_count, empty.total_image_count) == (2, 0)
    assert [i.id for i in api.outgoing_transaction_images(tx.id)] == [image.id]
    api.delete_outgoing_transaction(tx.id)
    assert [t.id for t in api.outgoing_transactions()] == [empty.id]
    assert api.incoming_transactions() == []


# --- the box protocol --------------------------------------------------------------------


def test_tokens_authenticate_the_protocol(api: Client, raw: httpx.Client) -> None:
    box = api.create_connection("hospital")
    bad = "00000000-0000-0000-0000-000000000000"
    for method, path in (
        ("POST", "image?transactionid=1&sequencenumber=1&totalimagecount=1"),
        ("GET", "status?transactionid=1"),
        ("GET", "outgoing/poll"),
        ("GET", "outgoing?transactionid=1&imageid=1"),
    ):
        answer = raw.request(method, f"/api/transactions/{bad}/{path}", content=b"x")
        assert answer.status_code == 401 and answer.text == f"No box found for token {bad}"
        assert "WWW-Authenticate" not in answer.headers
    push = api.connect("upstream", box.base_url.replace(box.token, bad))
    answer = raw.get(f"/api/transactions/{push.token}/outgoing/poll")
    assert answer.status_code == 401  # a PUSH box's token authenticates nobody
    assert raw.get(f"/api/transactions/{box.token}/outgoing/poll").status_code == 404


def test_pushed_images(api: Client, raw: httpx.Client, public: Slicebox) -> None:
    box = api.create_connection("hospital")
    base = f"/api/transactions/{box.token}"
    data = anonymous_dicom()
    params = {"transactionid": 12, "sequencenumber": 1, "totalimagecount": 2}
    sha = hashlib.sha256(data).hexdigest()
    answer = raw.post(f"{base}/image", params=params, content=deflate(data))
    assert answer.status_code == 204
    (incoming,) = api.incoming_transactions()
    assert (incoming.received_image_count, incoming.total_image_count) == (1, 2)
    assert incoming.status == TransactionStatus.PROCESSING
    assert len(api.incoming_transaction_images(incoming.id)) == 1
    # a re-delivery (chunked, with checksum) is recognised and not stored again
    again = raw.post(
        f"{base}/image",
        params=params,
        content=iter([deflate(data)[:10], deflate(data)[10:]]),
        headers={SHA256_HEADER: sha},
    )
    assert again.status_code == 204
    assert api.incoming_transactions()[0].received_image_count == 1
    # tampered: 400 marked corrupt, nothing stored
    other = anonymous_dicom(patient_id="OTHER")
    params2 = {**params, "sequencenumber": 2}
    damaged = raw.post(
        f"{base}/image",
        params=params2,
        content=deflate(other),
        headers={SHA256_HEADER: hashlib.sha256(other + b"x").hexdigest()},
    )
    assert damaged.status_code == 400 and damaged.headers["X-Slicebox-Error"] == "corrupt"
    broken = bytearray(deflate(other))
    broken[len(broken) // 2] ^= 0xFF
    damaged = raw.post(f"{base}/image", params=params2, content=bytes(broken))
    assert damaged.status_code == 400
    assert api.incoming_transactions()[0].received_image_count == 1
    bad_header = raw.post(
        f"{base}/image", params=params2, content=deflate(other), headers={SHA256_HEADER: "x"}
    )
    assert bad_header.status_code == 400
    # not DICOM: 204 all the same, counted as received
    junk = raw.post(f"{base}/image", params=params2, content=deflate(b"junk"))
    assert junk.status_code == 204
    (incoming,) = api.incoming_transactions()
    assert (incoming.received_image_count, incoming.added_image_count) == (2, 1)
    assert incoming.status == TransactionStatus.FINISHED
    assert raw.post(f"{base}/image", content=deflate(data)).status_code == 404  # no params


def test_status(api: Client, raw: httpx.Client) -> None:
    box = api.create_connection("hospital")
    base = f"/api/transactions/{box.token}"
    params = {"transactionid": 3, "sequencenumber": 1, "totalimagecount": 4}
    raw.post(f"{base}/image", params=params, content=deflate(anonymous_dicom()))
    assert raw.get(f"{base}/status", params={"transactionid": 3}).json() == {"status": "PROCESSING"}
    assert raw.get(f"{base}/status", params={"transactionid": 4}).status_code == 404
    put = raw.put(f"{base}/status", params={"transactionid": 3}, json={"status": "FAILED"})
    assert put.status_code == 204
    assert raw.get(f"{base}/status", params={"transactionid": 3}).json()["status"] == "FAILED"
    unknown = raw.put(f"{base}/status", params={"transactionid": 4}, json={"status": "FAILED"})
    assert unknown.status_code == 404
    for status in ("UNKNOWN", "done"):
        bad = raw.put(f"{base}/status", params={"transactionid": 3}, json={"status": status})
        assert bad.status_code == 400
    raw.put(f"{base}/status", params={"transactionid": 3}, json={"status": "FINISHED"})
    (incoming,) = api.incoming_transactions()
    assert incoming.received_image_count == 4


def test_polling(api: Client, raw: httpx.Client) -> None:
    box = api.create_connection("hospital")
    base = f"/api/transactions/{box.token}"
    assert raw.get(f"{base}/outgoing/poll").status_code == 404
    image = api.upload(dicom_bytes(patient_name="Real^Name", PatientSex="F")).image
    values = {
        image.id: [
            TagValue(TagPath.of(0x00100010), "anon 001"),
            TagValue(TagPath.of(0x00100020), "ID 001"),
            TagValue(TagPath.of(0x00100030), "19000101"),
        ]
    }
    api.send_to_box(box.id, values)
    (item,) = raw.get(f"{base}/outgoing/poll", params={"n": 5}).json()
    assert item["transaction"]["sentImageCount"] == 0
    assert item["transaction"]["totalImageCount"] == 1
    assert item["transaction"]["status"] == "WAITING"
    assert item["transaction"]["profile"]["options"][0]["name"] == "BASIC_PROFILE"
    assert item["image"]["sent"] is False
    assert api.boxes()[0].online
    params = {"transactionid": item["transaction"]["id"], "imageid": item["image"]["id"]}
    served = raw.get(f"{base}/outgoing", params=params)
    assert served.status_code == 200
    data = zlib.decompress(served.content)
    assert hashlib.sha256(data).hexdigest() == served.headers[SHA256_HEADER]
    ds = pydicom.dcmread(io.BytesIO(data))
    assert (str(ds.PatientName), ds.PatientID, ds.PatientBirthDate) == (
        "anon 001",
        "ID 001",
        "19000101",
    )
    assert not ds.get("PatientSex")  # removed by the Basic Profile
    missing = raw.get(f"{base}/outgoing", params={**params, "imageid": 999})
    assert missing.status_code == 404 and missing.text
    assert raw.post(f"{base}/outgoing/done", json=item).status_code == 204
    assert raw.get(f"{base}/outgoing/poll").status_code == 404
    (tx,) = api.outgoing_transactions()
    assert tx.status == TransactionStatus.FINISHED and tx.sent_image_count == 1
    assert [i.id for i in api.outgoing_transaction_images(tx.id)] == [image.id]
    # failed: the transaction FAILS and is not offered again
    api.send_to_box(box.id, [image.id])
    (item,) = raw.get(f"{base}/outgoing/poll").json()
    failed = raw.post(f"{base}/outgoing/failed", json={"transactionImage": item, "message": "no"})
    assert failed.status_code == 204
    assert api.outgoing_transactions()[0].status == TransactionStatus.FAILED
    assert raw.get(f"{base}/outgoing/poll").status_code == 404
    assert raw.post(f"{base}/outgoing/done", json={"bad": 1}).status_code == 400


# --- HttpBoxPeer between two apps ----------------------------------------------------------


def test_http_peer_transfers_both_ways(
    public: Slicebox, public_app: falcon.App, hospital: Slicebox
) -> None:
    poll_box = public.boxes.create_connection(  # type: ignore[attr-defined]
        "hospital", AnonymizationProfile(), api_base=f"{BASE_URL}/api"
    )
    h = hospital.boxes  # type: ignore[attr-defined]
    push_box = h.connect(RemoteBox("public", poll_box.base_url, AnonymizationProfile()))
    up = [hospital.images.add(dicom_bytes(patient_id=f"H{i}")).image.id for i in range(4)]
    down = [public.images.add(dicom_bytes(patient_id=f"U{i}")).image.id for i in range(3)]

    def bulk(ids: list[int]) -> BulkAnonymizationData:
        return BulkAnonymizationData(
            AnonymizationProfile(), tuple(ImageTagValues(i, ()) for i in ids)
        )

    to_public = h.send(push_box.id, bulk(up))
    to_hospital = public.boxes.send(poll_box.id, bulk(down))  # type: ignore[attr-defined]
    peer = HttpBoxPeer.for_url(poll_box.base_url, h.config, transport=transport(public_app))
    loops = BoxLoops(h, push_box, peer, owner="test")
    try:
        deadline = time.monotonic() + 30
        while h.get_outgoing(to_public.id).status != TransactionStatus.FINISHED:
            loops.push_once() or time.sleep(0.05)
            assert time.monotonic() < deadline
        while loops.poll_once():
            pass
        assert peer.get_status(to_public.id) == TransactionStatus.FINISHED
        assert peer.get_status(123_456) is None
        with pytest.raises(NotFound), peer.fetch(1, 999_999):
            pass
    finally:
        loops.stop()
    pub_out = public.boxes.get_outgoing(to_hospital.id)  # type: ignore[attr-defined]
    assert pub_out.status == TransactionStatus.FINISHED
    assert len(public.boxes.incoming_images(public.boxes.incoming()[0].id)) == 4  # type: ignore[attr-defined]
    assert h.incoming()[0].received_image_count == 3


def test_http_peer_reports_damage(public: Slicebox, public_app: falcon.App) -> None:
    poll_box = public.boxes.create_connection(  # type: ignore[attr-defined]
        "hospital", AnonymizationProfile(), api_base=f"{BASE_URL}/api"
    )
    peer = HttpBoxPeer(poll_box.base_url, transport=transport(public_app))
    data = anonymous_dicom()
    with pytest.raises(CorruptTransfer):
        peer.push_image(1, 1, 1, io.BytesIO(data), sha256=hashlib.sha256(b"x").hexdigest())
    assert peer.push_image(1, 1, 1, io.BytesIO(data), sha256=hashlib.sha256(data).hexdigest())
    assert peer.poll(3) == []
