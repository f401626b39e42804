"""Modify: insert or replace attributes from text (spec §5.18.6)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from slicebox_core.dicom.modify import (
    SETTABLE_VRS,
    apply_tag_mappings,
    convert_to_utf8,
    parse_value,
    remove_group_lengths,
)
from slicebox_core.errors import InvalidInput
from slicebox_core.models import TagMapping, TagPath, TagPathStep
from tests.factories import make_dataset, to_bytes

from .strategies import TAGS_BY_VR, value_text

ENERGY_WINDOW_INFORMATION = 0x00540012
ENERGY_WINDOW_RANGE = 0x00540013
ENERGY_WINDOW_UPPER_LIMIT = 0x00540015


def _mapping(tag: int, value: str, *outer: tuple[int, int]) -> TagMapping:
    return TagMapping(TagPath.of(tag, *outer), value)


def _reread(ds: Dataset) -> Dataset:
    return pydicom.dcmread(io.BytesIO(to_bytes(ds)))


def _nuclear() -> Dataset:
    """A dataset with EnergyWindowInformationSequence[1].EnergyWindowRangeSequence[1..2]."""
    ds = make_dataset(PatientAge="030Y")
    ranges = []
    for low, high in (("100", "120"), ("130", "150")):
        item = Dataset()
        item.EnergyWindowLowerLimit = low
        item.EnergyWindowUpperLimit = high
        ranges.append(item)
    info = Dataset()
    info.EnergyWindowRangeSequence = Sequence(ranges)
    ds.EnergyWindowInformationSequence = Sequence([info])
    return ds


def test_the_specs_example_mappings() -> None:
    ds = _nuclear()
    apply_tag_mappings(
        ds,
        [
            _mapping(0x00101010, "041Y"),  # PatientAge replaced
            _mapping(0x00281053, "2.5"),  # RescaleSlope inserted
            _mapping(
                ENERGY_WINDOW_UPPER_LIMIT,
                "155.5",
                (ENERGY_WINDOW_INFORMATION, 1),
                (ENERGY_WINDOW_RANGE, 2),
            ),
        ],
    )
    read = _reread(ds)
    assert read.PatientAge == "041Y"
    assert read.RescaleSlope == 2.5
    ranges = read.EnergyWindowInformationSequence[0].EnergyWindowRangeSequence
    assert [str(r.EnergyWindowUpperLimit) for r in ranges] == ["120", "155.5"]
    assert [str(r.EnergyWindowLowerLimit) for r in ranges] == ["100", "130"]


def test_insert_into_an_existing_item() -> None:
    ds = _nuclear()
    apply_tag_mappings(ds, [_mapping(0x00540018, "Peak", (ENERGY_WINDOW_INFORMATION, 1))])
    assert _reread(ds).EnergyWindowInformationSequence[0].EnergyWindowName == "Peak"


def test_the_item_after_the_last_is_appended() -> None:
    ds = _nuclear()
    outer = ((ENERGY_WINDOW_INFORMATION, 1), (ENERGY_WINDOW_RANGE, 3))
    apply_tag_mappings(
        ds,
        [_mapping(0x00540014, "160", *outer), _mapping(ENERGY_WINDOW_UPPER_LIMIT, "170", *outer)],
    )
    ranges = _reread(ds).EnergyWindowInformationSequence[0].EnergyWindowRangeSequence
    assert len(ranges) == 3
    assert (str(ranges[2].EnergyWindowLowerLimit), str(ranges[2].EnergyWindowUpperLimit)) == (
        "160",
        "170",
    )


def test_a_bad_value_does_not_append_an_item() -> None:
    ds = _nuclear()
    outer = ((ENERGY_WINDOW_INFORMATION, 1), (ENERGY_WINDOW_RANGE, 3))
    with pytest.raises(InvalidInput):
        apply_tag_mappings(ds, [_mapping(ENERGY_WINDOW_UPPER_LIMIT, "lots", *outer)])
    assert len(ds.EnergyWindowInformationSequence[0].EnergyWindowRangeSequence) == 2


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (TagPath.of(ENERGY_WINDOW_UPPER_LIMIT, (ENERGY_WINDOW_INFORMATION, 3)), "Item 3"),
        (
            TagPath.of(
                ENERGY_WINDOW_UPPER_LIMIT, (ENERGY_WINDOW_INFORMATION, 1), (ENERGY_WINDOW_RANGE, 4)
            ),
            "Item 4",
        ),
        (TagPath.of(ENERGY_WINDOW_UPPER_LIMIT, (ENERGY_WINDOW_INFORMATION, 0)), "start at 1"),
        (TagPath.of(ENERGY_WINDOW_UPPER_LIMIT, (0x00081115, 1)), "No sequence"),
        (TagPath.of(ENERGY_WINDOW_UPPER_LIMIT, (0x00101010, 1)), "not a sequence"),
        (
            TagPath(
                (TagPathStep(ENERGY_WINDOW_INFORMATION, 1), TagPathStep(ENERGY_WINDOW_RANGE, 1))
            ),
            "Not an attribute path",
        ),
        (
            TagPath((TagPathStep(ENERGY_WINDOW_INFORMATION), TagPathStep(0x00101010))),
            "Not an attribute path",
        ),
        (TagPath(()), "Not an attribute path"),
    ],
)
def test_bad_paths(path: TagPath, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        apply_tag_mappings(_nuclear(), [TagMapping(path, "1")])


def test_a_new_item_needs_an_existing_sequence() -> None:
    ds = _nuclear()
    path = TagPath.of(0x00080100, (0x00081032, 1))  # ProcedureCodeSequence is absent
    with pytest.raises(InvalidInput, match="No sequence"):
        apply_tag_mappings(ds, [TagMapping(path, "X")])


@pytest.mark.parametrize(
    ("tag", "value", "message"),
    [
        (0x00020010, "1.2.840.10008.1.2", "File meta"),
        (0x7FE00010, "", "Pixel data"),
        (0x00100000, "4", "Group lengths"),
        (0xFFFEE000, "", "Item"),
        (0x00080005, "ISO_IR 100", "SpecificCharacterSet"),
        (ENERGY_WINDOW_INFORMATION, "", "Sequences"),
        (0x0008041B, "00", "Binary"),  # RecordKey, OB
        (0x00111010, "x", "Unknown VR"),  # private, no creator
        (0x00100011, "x", "Unknown VR"),  # not in the dictionary
    ],
)
def test_refused_attributes(tag: int, value: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        apply_tag_mappings(make_dataset(), [_mapping(tag, value)])


def test_existing_unknown_attribute_keeps_its_vr() -> None:
    ds = make_dataset()
    ds.add_new(0x00111010, "SH", "old")
    apply_tag_mappings(ds, [_mapping(0x00111010, "new")])
    assert _reread(ds)[0x00111010].value == "new"


def test_private_dictionary_vr_through_the_creator() -> None:
    ds = make_dataset()
    ds.add_new(0x00090010, "LO", "GEMS_IDEN_01")
    apply_tag_mappings(ds, [_mapping(0x00091004, "SIGNA")])
    assert ds[0x00091004].VR == "SH"
    apply_tag_mappings(ds, [_mapping(0x00090011, "ANOTHER CREATOR")])
    assert ds[0x00090011].VR == "LO"


def test_ambiguous_vr_follows_pixel_representation() -> None:
    ds = make_dataset()
    apply_tag_mappings(ds, [_mapping(0x00280106, "0")])
    assert ds[0x00280106].VR == "US"
    ds.PixelRepresentation = 1
    apply_tag_mappings(ds, [_mapping(0x00280107, "-5")])
    assert ds[0x00280107].VR == "SS"
    assert _reread(ds).LargestImagePixelValue == -5


def test_multiplicity_is_checked() -> None:
    ds = make_dataset()
    with pytest.raises(InvalidInput, match="1 value"):
        apply_tag_mappings(ds, [_mapping(0x00100010, "A\\B")])
    with pytest.raises(InvalidInput, match="2 value"):
        apply_tag_mappings(ds, [_mapping(0x00280030, "0.5")])  # PixelSpacing
    with pytest.raises(InvalidInput, match="2-2n"):
        apply_tag_mappings(ds, [_mapping(0x00181620, "1\\2\\3")])  # VerticesOfThePolygonalShutter
    apply_tag_mappings(ds, [_mapping(0x00181620, "1\\2\\3\\4"), _mapping(0x00280030, "1\\2")])
    apply_tag_mappings(ds, [_mapping(0x00080008, "DERIVED\\SECONDARY\\X\\Y")])
    assert list(_reread(ds).ImageType) == ["DERIVED", "SECONDARY", "X", "Y"]


def test_empty_value_empties_the_attribute() -> None:
    ds = make_dataset()
    apply_tag_mappings(ds, [_mapping(0x00100010, ""), _mapping(0x00280030, "")])
    read = _reread(ds)
    assert read.PatientName == ""
    assert read["PixelSpacing"].is_empty


def test_backslash_stays_in_single_valued_text() -> None:
    ds = make_dataset()
    apply_tag_mappings(ds, [_mapping(0x00104000, "a\\b")])  # PatientComments, LT
    assert _reread(ds).PatientComments == "a\\b"


def test_sop_instance_uid_change_updates_the_file_meta() -> None:
    ds = make_dataset()
    apply_tag_mappings(ds, [_mapping(0x00080018, "1.2.3.4")])
    read = _reread(ds)
    assert read.SOPInstanceUID == read.file_meta.MediaStorageSOPInstanceUID == "1.2.3.4"


@pytest.mark.parametrize("tag", [0x00080016, 0x00080018, 0x0020000D, 0x0020000E])
def test_identifying_uids_cannot_be_emptied(tag: int) -> None:
    with pytest.raises(InvalidInput, match="cannot be empty"):
        apply_tag_mappings(make_dataset(), [_mapping(tag, "")])


def test_nested_sop_instance_uid_leaves_the_file_meta_alone() -> None:
    ds = make_dataset()
    item = Dataset()
    item.ReferencedSOPInstanceUID = "1.2"
    ds.ReferencedImageSequence = Sequence([item])
    meta_uid = ds.file_meta.MediaStorageSOPInstanceUID
    apply_tag_mappings(ds, [_mapping(0x00081155, "1.2.3", (0x00081140, 1))])
    assert ds.file_meta.MediaStorageSOPInstanceUID == meta_uid


def test_group_lengths_are_removed() -> None:
    ds = make_dataset()
    ds.add_new(0x00100000, "UL", 10)
    item = Dataset()
    item.add_new(0x00080000, "UL", 4)
    item.CodeValue = "1"
    ds.ProcedureCodeSequence = Sequence([item])
    remove_group_lengths(ds)
    assert 0x00100000 not in ds
    assert 0x00080000 not in ds.ProcedureCodeSequence[0]


def test_conversion_to_utf8_keeps_text() -> None:
    ds = make_dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Jürgen"
    item = Dataset()
    item.SpecificCharacterSet = "ISO_IR 100"
    item.CodeMeaning = "Größe"
    ds.ProcedureCodeSequence = Sequence([item])
    latin1 = pydicom.dcmread(io.BytesIO(to_bytes(ds)))
    apply_tag_mappings(latin1, [_mapping(0x00104000, "日本語 ✓")])
    data = to_bytes(latin1)
    assert "Müller".encode() in data
    read = pydicom.dcmread(io.BytesIO(data))
    assert read.SpecificCharacterSet == "ISO_IR 192"
    assert read.PatientName == "Müller^Jürgen"
    assert read.PatientComments == "日本語 ✓"
    assert read.ProcedureCodeSequence[0].CodeMeaning == "Größe"
    assert "SpecificCharacterSet" not in read.ProcedureCodeSequence[0]


def test_conversion_of_a_dataset_without_character_set() -> None:
    ds = make_dataset()
    del ds.SpecificCharacterSet
    convert_to_utf8(ds)
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert _reread(ds).PatientName == "Doe^John"


@pytest.mark.parametrize(
    ("vr", "text", "expected"),
    [
        ("US", "65535", 65535),
        ("US", " 7 ", 7),
        ("SS", "-32768", -32768),
        ("UL", "1\\2", [1, 2]),
        ("SV", "-9223372036854775808", -(2**63)),
        ("UV", "18446744073709551615", 2**64 - 1),
        ("FL", "1.5", 1.5),
        ("FD", "-1e-300", -1e-300),
        ("DS", "1.0\\-2.5E3\\ .5", ["1.0", "-2.5E3", ".5"]),
        ("IS", "+12", "+12"),
        ("DA", "20240229", "20240229"),
        ("TM", "235960.123456", "235960.123456"),
        ("TM", "07", "07"),
        ("DT", "20240101120000.5+0100", "20240101120000.5+0100"),
        ("DT", "2024", "2024"),
        ("UI", "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7"),
        ("UI", "0.0", "0.0"),
        ("CS", "ORIGINAL\\PRIMARY", ["ORIGINAL", "PRIMARY"]),
        ("AE", "STORE_SCP", "STORE_SCP"),
        ("AS", "065Y", "065Y"),
        ("PN", "Doe^John^^Dr=ドウ^ジョン", "Doe^John^^Dr=ドウ^ジョン"),
        ("LO", "Ünïcödé", "Ünïcödé"),
        ("LT", "line one\r\nline two\\three", "line one\r\nline two\\three"),
        ("UR", "https://example.com/a?b=c", "https://example.com/a?b=c"),
        ("AT", "(0010,0010)\\00100020\\PatientName", [0x00100010, 0x00100020, 0x00100010]),
        ("SH", "", None),
    ],
)
def test_parse_valid_values(vr: str, text: str, expected: object) -> None:
    assert parse_value(vr, text) == expected


@pytest.mark.parametrize(
    ("vr", "text"),
    [
        ("US", "65536"),
        ("US", "-1"),
        ("US", "1.5"),
        ("US", "0x10"),
        ("SS", "40000"),
        ("UL", "abc"),
        ("SL", "2147483648"),
        ("FL", "1e39"),
        ("FL", "nan"),
        ("FD", "inf"),
        ("FD", "1,5"),
        ("DS", "12345678901234567"),
        ("DS", "1.2.3"),
        ("DS", "NaN"),
        ("IS", "1.0"),
        ("IS", "2147483648"),
        ("DA", "2024-01-01"),
        ("DA", "20230229"),
        ("DA", "2024010"),
        ("TM", "240000"),
        ("TM", "12:00"),
        ("TM", "1260"),
        ("DT", "2024130101"),
        ("DT", "20240101+2500"),
        ("UI", "1.02.3"),
        ("UI", "1..2"),
        ("UI", "1.2.a"),
        ("UI", "1." + "2" * 64),
        ("CS", "lower"),
        ("CS", "X" * 17),
        ("AE", "A" * 17),
        ("AS", "65Y"),
        ("AS", "065y"),
        ("PN", "a=b=c=d"),
        ("PN", "a^b^c^d^e^f"),
        ("PN", "x" * 65),
        ("PN", "tab\there"),
        ("SH", "x" * 17),
        ("LO", "x" * 65),
        ("LO", "nul\x00"),
        ("ST", "x" * 1025),
        ("UR", "has space"),
        ("AT", "NoSuchKeyword"),
        ("AT", "(0010,001)"),
        ("OB", "00"),
        ("SQ", ""),
        ("XX", "1"),
    ],
)
def test_parse_invalid_values(vr: str, text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_value(vr, text)


ROUND_TRIP_TAGS = [(vr, tag) for vr in sorted(SETTABLE_VRS) for tag in TAGS_BY_VR[vr][:3]]


def _normalized(vr: str, value: Any) -> list[Any]:
    values = value if isinstance(value, list | pydicom.multival.MultiValue) else [value]
    if vr == "FL":
        return [float(np.float32(v)) for v in values]
    if vr == "FD":
        return [float(v) for v in values]
    if vr in ("US", "SS", "UL", "SL", "UV", "SV", "AT"):
        return [int(v) for v in values]
    return [str(v) for v in values]


@st.composite
def _mappings(draw: st.DrawFn) -> tuple[str, int, str]:
    vr, tag = draw(st.sampled_from(ROUND_TRIP_TAGS))
    return vr, tag, draw(value_text(vr, tag))


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_mappings(), min_size=1, max_size=5))
def test_random_valid_values_round_trip(mappings: list[tuple[str, int, str]]) -> None:
    ds = make_dataset()
    apply_tag_mappings(ds, [_mapping(tag, text) for _vr, tag, text in mappings])
    read = _reread(ds)
    last = {tag: (vr, text) for vr, tag, text in mappings}
    for tag, (vr, text) in last.items():
        assert vr == read[tag].VR
        assert _normalized(vr, read[tag].value) == _normalized(vr, parse_value(vr, text))


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ROUND_TRIP_TAGS), st.text(max_size=20))
def test_arbitrary_text_is_either_set_or_refused(vr_tag: tuple[str, int], text: str) -> None:
    vr, tag = vr_tag
    ds = make_dataset()
    try:
        apply_tag_mappings(ds, [_mapping(tag, text)])
    except InvalidInput:
        return
    read = _reread(ds)
    expected = parse_value(vr, text)
    if expected is None:
        assert read[tag].is_empty
    else:
        assert _normalized(vr, read[tag].value) == _normalized(vr, expected)
