"""Property: PHI planted anywhere a de-identifier must look never reaches the output bytes.

Generated instances carry random PHI tokens in random Table E.1-1 attributes at depth 0-4
(inside table and non-table sequences), in private elements under random private creators, in
names with all three component groups, in names under tags unknown to the dictionary, and in
dates; after the Basic Profile (alone or with Clean Structured Content / Retain Safe Private)
no token may occur anywhere in the written file.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from slicebox_core.anonymize import anonymize
from tests.factories import make_dataset

from .support import assert_vr_valid, encode, roundtrip, uid_map

_TABLE = json.loads(
    resources.files("slicebox_core.anonymize").joinpath("ps315_annex_e.json").read_text()
)
_SKIP_VRS = {"SQ", "US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "AT", "DS", "IS"}


def _table_attributes() -> list[tuple[int, str]]:
    result = []
    for row in _TABLE["rows"]:
        if row["is_pattern"]:
            continue
        tag = int(row["tag"][1:5] + row["tag"][6:10], 16)
        if tag >> 16 in (0x0000, 0x0002):
            continue
        vr = dictionary_VR(tag).split(" or ")[0]
        if vr not in _SKIP_VRS:
            result.append((tag, vr))
    return result


TABLE_ATTRIBUTES = _table_attributes()
CONTAINERS = [  # sequences that keep their items under the Basic Profile, and some that do not
    0x00081140,  # ReferencedImageSequence (X/Z/U*: kept, UIDs replaced)
    0x00082112,  # SourceImageSequence (X/Z/U*)
    0x00082218,  # AnatomicRegionSequence (not in the table: kept)
    0x00081115,  # ReferencedSeriesSequence (not in the table: kept)
    0x00089215,  # DerivationCodeSequence (not in the table: kept)
    0x0040A730,  # ContentSequence (D)
    0x00400555,  # AcquisitionContextSequence (X/Z)
    0x00400275,  # RequestAttributesSequence (X)
]
UNKNOWN_TAGS = [t for t in range(0x00080001, 0x00080200) if not dictionary_has_tag(t)][:5]

token = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=13).map(
    lambda s: "PHI" + s
)
date = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2019, 12, 31)).map(
    lambda d: d.strftime("%Y%m%d")
)
path = st.lists(st.sampled_from(CONTAINERS), max_size=4)
plant = st.one_of(
    st.tuples(st.just("table"), path, st.sampled_from(TABLE_ATTRIBUTES), token),
    st.tuples(st.just("date"), path, st.sampled_from([0x00080020, 0x00181204, 0x00400244]), date),
    st.tuples(st.just("name"), path, st.sampled_from([*UNKNOWN_TAGS, 0x00142006]), token),
    st.tuples(st.just("private"), path, st.integers(0, 0xFF), token),
)
profiles = st.sampled_from(
    [["BASIC_PROFILE"], ["CLEAN_STRUCTURED_CONTENT"], ["RETAIN_SAFE_PRIVATE"]]
)


def _node(ds: Dataset, containers: list[int]) -> Dataset:
    node = ds
    for tag in containers:
        if tag not in node:
            node.add_new(tag, "SQ", Sequence([Dataset()]))
        node = node[tag].value[0]
    return node


def _plant(ds: Dataset, kind: str, containers: list[int], target: Any, value: str) -> list[str]:
    node = _node(ds, containers)
    if kind == "table":
        tag, vr = target
        if vr in ("OB", "OW", "OD", "OF", "OL", "OV", "UN"):
            node.add_new(tag, vr, value.encode())
        else:
            node.add_new(tag, vr, value)
        return [value]
    if kind == "date":
        node.add_new(target, "DA", value)
        return [value]
    if kind == "name":
        groups = f"{value}^A{value[3:]}={value}I^B={value}P^C"
        node.add_new(target, "PN", groups)
        return [value, f"A{value[3:]}"]
    # a private element with its creator, in a random block
    block = 0x10 + target % 0xF0
    group = 0x0009 + 2 * (target % 8)
    node.add_new((group << 16) | block, "LO", f"CREATOR {value}")
    node.add_new((group << 16) | (block << 8) | 0x01, "LO", value)
    node.add_new((group << 16) | (block << 8) | 0x02, "PN", f"{value}^X")
    return [value]


@pytest.mark.filterwarnings("ignore")
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    patient=token,
    plants=st.lists(plant, min_size=1, max_size=25),
    profile=profiles,
)
def test_no_planted_phi_survives(patient: str, plants: list[Any], profile: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = make_dataset(
            patient_name=f"{patient}^{patient[::-1]}={patient}I^X={patient}P^Y",
            patient_id=patient,
            AccessionNumber=patient[:16],
            PatientBirthDate="19610203",
        )
        secrets = [patient, patient[::-1], "19610203"]
        secrets += [ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID]
        for kind, containers, target, value in plants:
            secrets += _plant(ds, kind, containers, target, value)
        out = anonymize(ds, profile, uid_map=uid_map)
        data = encode(out)
    leaked = [s for s in secrets if s.encode() in data]
    assert not leaked, leaked
    assert_vr_valid(roundtrip(out))
