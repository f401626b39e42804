"""Slicebox's SCP and SCU against Debian's dcmtk (echoscu, storescu, findscu, movescu,
getscu, storescp), started by the tests on loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread

from slicebox_core import Slicebox
from slicebox_core.network import NetworkService
from tests.core.network.conftest import network_for
from tests.core.network.helpers import wait_for

from .dicom_peers import (
    digests,
    free_port,
    have_dcmtk,
    mixed_corpus,
    pixel_digest,
    run,
    storescp,
    storescu_mixed_args,
    syntax_of,
    tool,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_dcmtk(), reason="dcmtk is not installed"),
]

AET = "SLICEBOX"


@pytest.fixture
def node(sb_sqlite: Slicebox) -> Iterator[tuple[Slicebox, NetworkService, int]]:
    """A slicebox with a running SCP ``SLICEBOX``: (sb, network, port)."""
    net = network_for(sb_sqlite)
    port = free_port()
    net.create_scp("dcmtk-facing", AET, port)
    net.start_listeners(poll_interval=0)
    try:
        yield sb_sqlite, net, port
    finally:
        net.stop_listeners()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return mixed_corpus(tmp_path_factory.mktemp("corpus"))


def stored(sb: Slicebox) -> list[bytes]:
    from sqlalchemy import select

    from slicebox_core.db.tables import ImageRow

    with sb.db.read() as session:
        ids = list(session.scalars(select(ImageRow.id).order_by(ImageRow.id)))
    return [sb.images.read_bytes(i) for i in ids]


def log_messages(sb: Slicebox) -> list[str]:
    return [e.message for e in sb.log.list(count=200)]


def test_echoscu(node: tuple[Slicebox, NetworkService, int]) -> None:
    sb, _, port = node
    result = run(tool("echoscu"), "-aet", "ECHOSCU", "-aec", AET, "127.0.0.1", str(port))
    assert result.returncode == 0, result.stderr
    wait_for(lambda: any("ECHOSCU@127.0.0.1" in m and "1 C-ECHO" in m for m in log_messages(sb)))


def test_storescu_mixed_syntaxes(
    node: tuple[Slicebox, NetworkService, int], corpus: list[Path], tmp_path: Path
) -> None:
    sb, _, port = node
    result = run(
        tool("storescu"), *storescu_mixed_args(tmp_path), "-aec", AET, "127.0.0.1", str(port),
        *map(str, corpus),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    files = stored(sb)
    assert len(files) == len(corpus)
    assert dict(pixel_digest(f) for f in files) == digests(corpus)
    # stored as received: every transfer syntax kept, compressed ones included
    assert dict(syntax_of(f) for f in files) == dict(syntax_of(p) for p in corpus)
    assert len({ts for _, ts in map(syntax_of, corpus)}) == 6
    wait_for(lambda: any(f"{len(corpus)} stored, 0 rejected" in m for m in log_messages(sb)))


def test_findscu_at_each_level(
    node: tuple[Slicebox, NetworkService, int], corpus: list[Path], tmp_path: Path
) -> None:
    sb, _, port = node
    for path in corpus:
        sb.images.add(path)
    study_uid = str(dcmread(corpus[0]).StudyInstanceUID)
    series_uid = str(dcmread(corpus[0]).SeriesInstanceUID)

    def findscu(model: str, *keys: str) -> list:
        out = tmp_path / f"find{len(list(tmp_path.iterdir()))}"
        out.mkdir()
        args = [a for k in keys for a in ("-k", k)]
        result = run(
            tool("findscu"), model, "-aec", AET, "-X", "-od", str(out), *args,
            "127.0.0.1", str(port),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return [dcmread(p) for p in sorted(out.iterdir())]

    patients = findscu("-P", "QueryRetrieveLevel=PATIENT", "PatientName=mix*", "PatientID",
                       "NumberOfPatientRelatedInstances")  # fmt: skip
    assert [(p.PatientID, p.NumberOfPatientRelatedInstances) for p in patients] == [
        ("MIX", len(corpus))
    ]
    for model in ("-P", "-S"):
        studies = findscu(model, "QueryRetrieveLevel=STUDY", "PatientID=MIX",
                          "StudyInstanceUID", "StudyDate=20190101-20201231",
                          "ModalitiesInStudy")  # fmt: skip
        assert [(s.StudyInstanceUID, s.ModalitiesInStudy) for s in studies] == [(study_uid, "CT")]
    series = findscu("-S", "QueryRetrieveLevel=SERIES", f"StudyInstanceUID={study_uid}",
                     "SeriesInstanceUID", "Modality", "NumberOfSeriesRelatedInstances")  # fmt: skip
    assert [(s.SeriesInstanceUID, s.NumberOfSeriesRelatedInstances) for s in series] == [
        (series_uid, len(corpus))
    ]
    images = findscu("-S", "QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={study_uid}",
                     f"SeriesInstanceUID={series_uid}", "SOPInstanceUID")  # fmt: skip
    assert {i.SOPInstanceUID for i in images} == {str(dcmread(p).SOPInstanceUID) for p in corpus}
    none = findscu("-S", "QueryRetrieveLevel=STUDY", "PatientID=NOBODY", "StudyInstanceUID")
    assert none == []


def test_movescu_and_getscu(
    node: tuple[Slicebox, NetworkService, int], corpus: list[Path], tmp_path: Path
) -> None:
    sb, net, port = node
    for path in corpus:
        sb.images.add(path)
    study_uid = str(dcmread(corpus[0]).StudyInstanceUID)
    # C-MOVE to movescu itself: slicebox must know it as an SCU (the move destination)
    move_port = free_port()
    net.create_scu("movescu", "MOVESCU", "127.0.0.1", move_port)
    moved = tmp_path / "moved"
    moved.mkdir()
    result = run(
        tool("movescu"), "-S", "-aet", "MOVESCU", "-aec", AET, "--port", str(move_port),
        "+xa", "-od", str(moved), "-k", "QueryRetrieveLevel=STUDY",
        "-k", f"StudyInstanceUID={study_uid}", "127.0.0.1", str(port),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    received = sorted(moved.iterdir())
    assert digests(received) == digests(corpus)
    # unknown destination: 0xA801
    result = run(
        tool("movescu"), "-S", "-aec", AET, "-aem", "NOBODY", "-k", "QueryRetrieveLevel=STUDY",
        "-k", f"StudyInstanceUID={study_uid}", "127.0.0.1", str(port),
    )  # fmt: skip
    assert "movedestinationunknown" in result.stderr.lower()  # 0xA801
    # C-GET of the series: getscu proposes uncompressed syntaxes only, so compressed
    # instances are decompressed for it
    got = tmp_path / "got"
    got.mkdir()
    series_uid = str(dcmread(corpus[0]).SeriesInstanceUID)
    result = run(
        tool("getscu"), "-S", "-aec", AET, "-od", str(got), "-k", "QueryRetrieveLevel=SERIES",
        "-k", f"StudyInstanceUID={study_uid}", "-k", f"SeriesInstanceUID={series_uid}",
        "127.0.0.1", str(port),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert digests(sorted(got.iterdir())) == digests(corpus)
    wait_for(lambda: any("MOVESCU" in m and "(7 sent, 0 failed)" in m for m in log_messages(sb)))
    wait_for(lambda: any("GETSCU" in m and "(7 sent, 0 failed)" in m for m in log_messages(sb)))


@pytest.mark.parametrize("accept_all", [False, True])
def test_slicebox_scu_to_storescp(
    node: tuple[Slicebox, NetworkService, int],
    corpus: list[Path],
    tmp_path: Path,
    accept_all: bool,
) -> None:
    sb, net, _ = node
    ids = [sb.images.add(p).image.id for p in corpus]
    out = tmp_path / "storescp"
    with storescp(out, *(["+xa"] if accept_all else [])) as port:
        scu = net.create_scu("storescp", "STORESCP", "127.0.0.1", port)
        net.echo(scu.id)
        net.send(scu.id, ids)
    received = sorted(out.iterdir())
    assert digests(received) == digests(corpus)
    syntaxes = {ts for _, ts in map(syntax_of, received)}
    if accept_all:  # stored files sent as they are
        assert dict(map(syntax_of, received)) == dict(map(syntax_of, corpus))
    else:  # storescp's default accepts uncompressed syntaxes only: decompressed on the way
        assert syntaxes <= {"1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.1.99"}
    assert any(f"Finished sending {len(ids)} images" in m for m in log_messages(sb))
