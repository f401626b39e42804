"""Slicebox and Orthanc (Debian's, started by the test) as each other's PACS.

* slicebox sends to Orthanc (C-STORE);
* Orthanc queries slicebox (C-FIND) and C-MOVEs a study from it to itself;
* slicebox queries Orthanc and retrieves a study from it by C-MOVE and a series by C-GET.

Counts and pixel hashes are compared on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread

from slicebox_core import Slicebox
from slicebox_core.models.network import (
    QueryRetrieveLevel,
    RemoteQuery,
    RetrieveMethod,
    RetrieveRequest,
    RetrieveTarget,
)
from slicebox_core.network import NetworkService
from tests.core.network.conftest import network_for
from tests.core.network.helpers import wait_for

from .dicom_peers import Orthanc, digests, free_port, have_orthanc, mixed_corpus, pixel_digest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_orthanc(), reason="Orthanc is not installed"),
]

AET = "SLICEBOX"


@pytest.fixture
def node(sb_sqlite: Slicebox) -> Iterator[tuple[Slicebox, NetworkService, int]]:
    net = network_for(sb_sqlite)
    port = free_port()
    net.create_scp("orthanc-facing", AET, port)
    net.start_listeners(poll_interval=0)
    try:
        yield sb_sqlite, net, port
    finally:
        net.stop_listeners()


@pytest.fixture
def orthanc(node: tuple[Slicebox, NetworkService, int], tmp_path: Path) -> Iterator[Orthanc]:
    _, _, port = node
    server = Orthanc(tmp_path / "orthanc", {"slicebox": [AET, "127.0.0.1", port]})
    try:
        yield server
    finally:
        server.stop()


def stored_digests(sb: Slicebox) -> dict[str, str]:
    from sqlalchemy import select

    from slicebox_core.db.tables import ImageRow

    with sb.db.read() as session:
        ids = list(session.scalars(select(ImageRow.id)))
    return dict(pixel_digest(sb.images.read_bytes(i)) for i in ids)


def test_slicebox_sends_to_orthanc_and_orthanc_moves_from_slicebox(
    node: tuple[Slicebox, NetworkService, int], orthanc: Orthanc, tmp_path: Path
) -> None:
    sb, net, _ = node
    corpus = mixed_corpus(tmp_path / "a", patient_id="SENT")
    ids = [sb.images.add(p).image.id for p in corpus]
    pacs = net.create_scu("orthanc", orthanc.aet, "127.0.0.1", orthanc.dicom_port)
    net.echo(pacs.id)
    net.send(pacs.id, ids)
    assert dict(pixel_digest(f) for f in orthanc.files()) == digests(corpus)

    # Orthanc queries slicebox, then C-MOVEs another study from it to itself
    other = mixed_corpus(tmp_path / "b", patient_id="MOVED")
    for p in other:
        sb.images.add(p)
    study_uid = str(dcmread(other[0]).StudyInstanceUID)
    query = orthanc.http.post(
        "/modalities/slicebox/query",
        json={"Level": "Study", "Query": {"PatientID": "MOVED", "StudyInstanceUID": ""}},
    )
    assert query.status_code == 200, query.text
    answers = orthanc.http.get(f"/queries/{query.json()['ID']}/answers?expand").json()
    assert [a["0020,000d"]["Value"] for a in answers] == [study_uid]
    series = orthanc.http.post(
        "/modalities/slicebox/query",
        json={"Level": "Series", "Query": {"StudyInstanceUID": study_uid, "Modality": ""}},
    ).json()
    assert len(orthanc.http.get(f"/queries/{series['ID']}/answers").json()) == 1
    moved = orthanc.http.post(
        "/modalities/slicebox/move",
        json={"Level": "Study", "Resources": [{"StudyInstanceUID": study_uid}]},
    )
    assert moved.status_code == 200, moved.text
    assert len(orthanc.instances()) == len(corpus) + len(other)
    assert dict(pixel_digest(f) for f in orthanc.files()) == digests(corpus + other)
    wait_for(
        lambda: any(
            "ORTHANC@" in e.message and "C-MOVE/C-GET (7 sent, 0 failed)" in e.message
            for e in sb.log.list(subject="SCP", count=50)
        )
    )


def test_slicebox_queries_and_retrieves_from_orthanc(
    node: tuple[Slicebox, NetworkService, int], orthanc: Orthanc, tmp_path: Path
) -> None:
    sb, net, _ = node
    first = mixed_corpus(tmp_path / "a", patient_id="FIRST")
    second = mixed_corpus(tmp_path / "b", patient_id="SECOND")
    for p in first + second:
        orthanc.upload(p)
    pacs = net.create_scu("orthanc", orthanc.aet, "127.0.0.1", orthanc.dicom_port)
    studies = net.find(
        pacs.id,
        RemoteQuery(
            QueryRetrieveLevel.STUDY,
            {"PatientID": "FIRST", "StudyInstanceUID": "", "NumberOfStudyRelatedInstances": ""},
        ),
    )
    assert [(s["StudyInstanceUID"], s["NumberOfStudyRelatedInstances"]) for s in studies] == [
        (str(dcmread(first[0]).StudyInstanceUID), str(len(first)))
    ]
    # C-MOVE of a study: Orthanc sends to this slicebox's SCP (in its DicomModalities)
    result = net.retrieve(
        pacs.id, RetrieveRequest((RetrieveTarget(studies[0]["StudyInstanceUID"]),))
    )
    assert (result.completed, result.failed, len(result.image_ids)) == (len(first), 0, len(first))
    assert stored_digests(sb) == digests(first)
    # C-GET of a series
    images = net.find(
        pacs.id,
        RemoteQuery(
            QueryRetrieveLevel.SERIES,
            {"PatientID": "SECOND", "StudyInstanceUID": "", "SeriesInstanceUID": ""},
        ),
    )
    target = RetrieveTarget(images[0]["StudyInstanceUID"], images[0]["SeriesInstanceUID"])
    result = net.retrieve(pacs.id, RetrieveRequest((target,), method=RetrieveMethod.GET))
    assert (result.completed, result.failed, len(result.image_ids)) == (len(second), 0, len(second))
    assert stored_digests(sb) == digests(first + second)
