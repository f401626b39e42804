"""§3.2 system, sources, destinations and the DICOM dictionary."""

from __future__ import annotations

import httpx
import pytest
from falcon import testing

from slicebox_client import SliceboxClient
from slicebox_core.errors import NotFound
from slicebox_core.models import Multiplicity, SourceType


def test_health_and_information(anon: SliceboxClient) -> None:
    assert anon.health()
    assert anon.information().version


def test_sources_and_destinations(client: SliceboxClient) -> None:
    sources = client.sources()
    assert [(s.source_type, s.source_name) for s in sources] == [(SourceType.USER, "admin")]
    assert client.destinations() == []


def test_dictionary(anon: SliceboxClient) -> None:
    assert "PatientName" in anon.keywords()
    assert anon.keywords("patientna") == ["PatientName"] or "PatientName" in anon.keywords(
        "patientna"
    )
    sequences = anon.keywords(kind="sequence")
    assert "ReferencedImageSequence" in sequences and "PatientName" not in sequences
    assert "PatientName" in anon.keywords(kind="nonsequence")
    assert anon.vr(0x00100010).name == "PN"
    assert anon.vr(0x00091234).name == "UN"
    assert anon.vm(0x00100010) == Multiplicity(1, 1)
    assert anon.vm(0x00091234) == Multiplicity(1, None)
    assert anon.keyword(0x00100010) == "PatientName"
    assert anon.tag("PatientName") == 0x00100010
    with pytest.raises(NotFound):
        anon.tag("NoSuchKeyword")
    with pytest.raises(NotFound):
        anon.keyword(0x00091234)


def test_dictionary_parameters(sim: testing.TestClient) -> None:
    assert sim.simulate_get("/api/dicom/dictionary/vr").status_code == 404  # missing tag
    assert sim.simulate_get("/api/dicom/dictionary/vr", params={"tag": "PN"}).status_code == 400
    assert sim.simulate_get("/api/dicom/dictionary/tag").status_code == 404
    vm = sim.simulate_get("/api/dicom/dictionary/vm", params={"tag": 0x00091234})
    assert vm.json == {"min": 1}


def test_unknown_route_and_method(http: httpx.Client) -> None:
    assert http.get("/api/system/nothing").status_code == 404
    assert http.delete("/api/system/health").status_code == 405
