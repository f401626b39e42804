"""SCP/SCU routes (spec §3.10, §3.11) and query/retrieve routes, through HTTP and the client.

The SCU side talks to a real slicebox SCP on loopback (pynetdicom on both sides).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import falcon
import httpx
import pytest

from slicebox_client import SliceboxClient
from slicebox_client.network import NetworkMixin
from slicebox_core import InvalidInput, NotFound, PeerUnavailable, Slicebox
from slicebox_core.models.network import (
    QueryRetrieveLevel,
    RemoteQuery,
    RetrieveMethod,
    RetrieveProgress,
    RetrieveRequest,
    RetrieveTarget,
    ScpData,
)
from slicebox_core.network import NetworkService
from slicebox_server import create_app
from tests.core.network.conftest import free_port, network_for
from tests.core.network.helpers import mixed_datasets
from tests.factories import dicom_bytes, to_bytes

from .fixtures import BASE_URL, PASSWORD, SUPERUSER, http_for

Client = SliceboxClient  # the network methods are part of the client (NetworkMixin)
assert issubclass(Client, NetworkMixin)


@pytest.fixture
def net(box: Slicebox) -> Iterator[NetworkService]:
    if not hasattr(box, "network"):  # until the facade builds it
        box.network = network_for(box)  # type: ignore[attr-defined]
    try:
        yield box.network  # type: ignore[attr-defined]
    finally:
        box.network.stop_listeners()  # type: ignore[attr-defined]


@pytest.fixture
def app(box: Slicebox, net: NetworkService) -> falcon.App:
    return create_app(box)


@pytest.fixture
def api(app: falcon.App) -> Iterator[Client]:
    with Client(BASE_URL, SUPERUSER, PASSWORD, transport=httpx.WSGITransport(app=app)) as c:
        yield c


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[tuple[Slicebox, int]]:
    """Another slicebox with a running SCP ``REMOTE`` holding one 3-image study."""
    sb = Slicebox.open(tmp_path / "remote")
    net = network_for(sb)
    port = free_port()
    net.create_scp("remote", "REMOTE", port)
    net.start_listeners(poll_interval=0)
    for ds in mixed_datasets(3, patient_id="R1"):
        sb.images.add(to_bytes(ds))
    try:
        yield sb, port
    finally:
        net.stop_listeners()
        sb.close()


def test_scp_routes(api: Client, http: httpx.Client) -> None:
    scp = api.create_scp("in", "SLICEBOX", 11112)
    assert scp == ScpData(scp.id, "in", "SLICEBOX", 11112)
    assert api.scps() == [scp]
    raw = http.get("/api/scps")
    assert raw.json() == [{"id": scp.id, "name": "in", "aeTitle": "SLICEBOX", "port": 11112}]
    for port in (-1, 66000):
        with pytest.raises(InvalidInput):
            api.create_scp("bad", "AE", port)
    with pytest.raises(InvalidInput):
        api.create_scp("bad", "A" * 17, 104)
    ok = api.create_scp("trim", "  " + "B" * 16 + "  ", 104)
    assert ok.ae_title == "  " + "B" * 16 + "  "
    assert http.post("/api/scps", json={"name": "x", "aeTitle": "AE"}).status_code == 400
    assert (
        http.post("/api/scps", json={"id": -1, "name": "n", "aeTitle": "AE", "port": 1}).status_code
        == 201
    )
    api.delete_scp(scp.id)
    assert http.delete(f"/api/scps/{scp.id}").status_code == 204
    assert [s.name for s in api.scps()] == ["trim", "n"]
    sources = http.get("/api/sources").json()
    assert {"sourceType": "scp", "sourceName": "trim", "sourceId": ok.id} in sources


def test_scu_routes(api: Client, http: httpx.Client) -> None:
    scu = api.create_scu("pacs", "PACS", "127.0.0.1", free_port())
    assert api.scus() == [scu]
    assert http.get("/api/destinations").json() == [
        {"destinationType": "scu", "destinationName": "pacs", "destinationId": scu.id}
    ]
    with pytest.raises(InvalidInput):
        api.create_scu("again", "PACS", scu.host, scu.port)
    with pytest.raises(NotFound):
        api.scu_send(scu.id + 100, [1])
    with pytest.raises(PeerUnavailable, match="Connection refused") as caught:
        api.scu_send(scu.id, [1])
    assert caught.value.status == 502  # type: ignore[attr-defined]
    with pytest.raises(PeerUnavailable):
        api.scu_echo(scu.id)
    api.delete_scu(scu.id)
    assert api.scus() == []


def test_roles(app: falcon.App) -> None:
    from slicebox_core.models import Role
    from slicebox_server.resources import network as resources

    assert resources.Scps.roles == {"GET": Role.USER, "POST": Role.ADMINISTRATOR}
    assert resources.ScuItem.roles == {"DELETE": Role.ADMINISTRATOR}
    for cls in (resources.ScuSend, resources.ScuEcho, resources.ScuFind, resources.ScuRetrieve):
        assert cls.roles == {"POST": Role.USER}
    anon = http_for(app, auth=False)
    assert anon.get("/api/scps").status_code == 401
    assert anon.post("/api/scus/1/find", json={}).status_code == 401


def test_send_find_retrieve_through_http(
    api: Client,
    box: Slicebox,
    net: NetworkService,
    remote: tuple[Slicebox, int],
) -> None:
    remote_sb, remote_port = remote
    pacs = api.create_scu("pacs", "REMOTE", "127.0.0.1", remote_port)
    api.scu_echo(pacs.id)
    # send
    image = box.images.add(dicom_bytes(patient_id="LOCAL")).image
    api.scu_send(pacs.id, [image.id, 999])  # unknown ids are skipped
    assert {p.patient_id for p in remote_sb.index.patients()} == {"R1", "LOCAL"}
    # find
    studies = api.scu_find(
        pacs.id,
        RemoteQuery(QueryRetrieveLevel.STUDY, {"PatientID": "R1", "StudyInstanceUID": ""}),
    )
    assert len(studies) == 1
    study_uid = studies[0]["StudyInstanceUID"]
    with pytest.raises(InvalidInput, match="unknown DICOM keyword"):
        api.scu_find(pacs.id, RemoteQuery(attributes={"NoSuchKeyword": ""}))
    # retrieve by C-GET, streamed progress
    seen: list[RetrieveProgress] = []
    result = api.scu_retrieve(
        pacs.id,
        RetrieveRequest((RetrieveTarget(study_uid),), method=RetrieveMethod.GET),
        progress=seen.append,
    )
    assert (result.completed, result.failed, len(result.image_ids)) == (3, 0, 3)
    assert seen[0].targets_done == 0 and seen[-1].targets_done == 1
    # retrieve by C-MOVE needs this slicebox's SCP, known to the remote
    with pytest.raises(InvalidInput, match="SCP"):
        api.scu_retrieve(pacs.id, RetrieveRequest((RetrieveTarget(study_uid),)))
    port = free_port()
    api.create_scp("in", "LOCALSB", port)
    net.start_listeners(poll_interval=0)
    with pytest.raises(PeerUnavailable, match="destination") as caught:
        api.scu_retrieve(pacs.id, RetrieveRequest((RetrieveTarget(study_uid),)))
    assert caught.value.status == 502  # type: ignore[attr-defined]
    streamed: list[RetrieveProgress] = []  # the same failure after the stream started
    with pytest.raises(PeerUnavailable, match="destination") as caught:
        api.scu_retrieve(
            pacs.id, RetrieveRequest((RetrieveTarget(study_uid),)), progress=streamed.append
        )
    assert caught.value.status == 502  # type: ignore[attr-defined]
    assert streamed[0].targets_done == 0
    network_for(remote_sb).create_scu("back", "LOCALSB", "127.0.0.1", port)
    result = api.scu_retrieve(pacs.id, RetrieveRequest((RetrieveTarget(study_uid),)))
    assert (result.completed, len(result.image_ids)) == (3, 3)


def test_retrieve_stream_reports_early_errors_as_statuses(http: httpx.Client) -> None:
    body = {"targets": [{"studyInstanceUID": "1.2.3"}]}
    headers = {"Accept": "application/x-ndjson"}
    assert http.post("/api/scus/77/retrieve", json=body, headers=headers).status_code == 404
    empty = http.post("/api/scus/77/retrieve", json={"targets": []}, headers=headers)
    assert empty.status_code == 404  # the SCU is looked up first
