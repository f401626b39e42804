"""§3.13 over HTTP: forwarding rules through the typed client (ForwardingMixin) and raw
requests — roles, deduplication, validation, wire shape — and a forward to an SCU."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import falcon
import httpx
import pytest
from sqlalchemy import select

from slicebox_client import SliceboxClient
from slicebox_client.forwarding import ForwardingMixin
from slicebox_core import Slicebox
from slicebox_core.db.tables import UserRow
from slicebox_core.errors import Forbidden, InvalidInput
from slicebox_core.forwarding.worker import ForwardingWorker
from slicebox_core.models import Destination, Role, Source, SourceType
from slicebox_core.users.passwords import hash_password
from slicebox_server import create_app

from ..core.forwarding.conftest import FAST, StoreScp
from ..factories import dicom_bytes
from ..forwarding_wiring import wire_forwarding
from .fixtures import BASE_URL, PASSWORD, SUPERUSER

Client = SliceboxClient  # the client includes ForwardingMixin
assert issubclass(Client, ForwardingMixin)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def app(box: Slicebox) -> falcon.App:
    wire_forwarding(box, **FAST)
    return create_app(box)


@pytest.fixture
def client(app: falcon.App) -> Iterator[Client]:
    with Client(BASE_URL, SUPERUSER, PASSWORD, transport=httpx.WSGITransport(app=app)) as c:
        yield c


@pytest.fixture
def user(box: Slicebox, app: falcon.App) -> Iterator[Client]:
    with box.db.write() as session:
        session.add(UserRow(user="joe", role=Role.USER.value, password=hash_password("pw")))
    with Client(BASE_URL, "joe", "pw", transport=httpx.WSGITransport(app=app)) as c:
        yield c


def nodes(box: Slicebox, port: int | None = None) -> tuple[Source, Destination]:
    scp = box.network.create_scp("modality", "MODALITY", free_port())
    scu = box.network.create_scu("pacs", "FWDTEST", "127.0.0.1", port or free_port())
    return Source(SourceType.SCP, scp.name, scp.id), Destination("scu", scu.name, scu.id)


def test_rules_end_to_end(client: Client, user: Client, box: Slicebox) -> None:
    source, destination = nodes(box)
    created = client.create_forwarding_rule(source, destination, keep_images=False)
    assert (created.source, created.destination, created.keep_images) == (
        source,
        destination,
        False,
    )
    again = client.create_forwarding_rule(source, destination, keep_images=True)
    assert again == created
    assert client.forwarding_rules() == [created]
    assert user.forwarding_rules() == [created]
    with pytest.raises(Forbidden):
        user.create_forwarding_rule(source, destination)
    with pytest.raises(Forbidden):
        user.delete_forwarding_rule(created.id)
    client.delete_forwarding_rule(created.id)
    client.delete_forwarding_rule(created.id)  # unknown: 204 too
    assert client.forwarding_rules() == []


def test_wire_shape_and_status_codes(app: falcon.App, box: Slicebox) -> None:
    source, destination = nodes(box)
    body = {
        "id": -1,
        "source": {"sourceType": "scp", "sourceName": "", "sourceId": source.source_id},
        "destination": {
            "destinationType": "scu",
            "destinationName": "",
            "destinationId": destination.destination_id,
        },
        "keepImages": True,
    }
    with httpx.Client(
        base_url=BASE_URL, transport=httpx.WSGITransport(app=app), auth=(SUPERUSER, PASSWORD)
    ) as http:
        response = http.post("/api/forwarding/rules", json=body)
        assert response.status_code == 201
        rule_id = response.json()["id"]
        assert response.json() == {
            "id": rule_id,
            "source": {"sourceType": "scp", "sourceName": "modality", "sourceId": source.source_id},
            "destination": {
                "destinationType": "scu",
                "destinationName": "pacs",
                "destinationId": destination.destination_id,
            },
            "keepImages": True,
        }
        again = http.post("/api/forwarding/rules", json={**body, "keepImages": False})
        assert again.status_code == 201 and again.json()["id"] == rule_id
        unknown = {**body, "source": {**body["source"], "sourceId": 4711}}  # type: ignore[dict-item]
        response = http.post("/api/forwarding/rules", json=unknown)
        assert response.status_code == 400 and "No source scp" in response.text
        wrong = {**body, "destination": {**body["destination"], "destinationType": "scp"}}  # type: ignore[dict-item]
        assert http.post("/api/forwarding/rules", json=wrong).status_code == 400
        assert http.post("/api/forwarding/rules", json={"id": 1}).status_code == 400
        assert http.get("/api/forwarding/rules", params={"count": 1}).json()[0]["id"] == rule_id
        assert http.delete(f"/api/forwarding/rules/{rule_id}").status_code == 204


def test_uploads_are_forwarded(client: Client, box: Slicebox) -> None:
    """An uploaded image (source: the uploading user) reaches the SCU."""
    scp = StoreScp().start()
    try:
        scu = box.network.create_scu("pacs", "FWDTEST", "127.0.0.1", scp.port)
        with box.db.read() as session:
            admin_id = session.scalar(select(UserRow.id).where(UserRow.user == SUPERUSER))
        source = Source(SourceType.USER, SUPERUSER, int(admin_id))
        client.create_forwarding_rule(source, Destination("scu", scu.name, scu.id))
        client.upload(dicom_bytes(sop_uid="1.2.3.4.5"))
        worker = ForwardingWorker(box.forwarding, box.events)  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while not scp.received and time.monotonic() < deadline:
            worker.run_once()
            time.sleep(0.02)
        assert scp.received == ["1.2.3.4.5"]
    finally:
        scp.stop()


def test_bad_paging_is_400(client: Client) -> None:
    with pytest.raises(InvalidInput):
        client.forwarding_rules(start_index=-1)
