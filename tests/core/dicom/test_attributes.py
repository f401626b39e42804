"""Attribute listing (spec §5.18.1)."""

from __future__ import annotations

import io
import struct
from collections import Counter

import pydicom
import pytest
from hypothesis import HealthCheck, given, reject, settings
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import JPEGBaseline8Bit

from slicebox_core.dicom.attributes import BINARY_DATA, FRAGMENTS, list_attributes
from slicebox_core.errors import InvalidDicom, InvalidInput
from slicebox_core.models import ImageAttribute, TagPath, TagPathStep
from tests.factories import make_dataset, to_bytes

from .files import data_file
from .strategies import datasets


def _by_path(attributes: list[ImageAttribute]) -> dict[TagPath, ImageAttribute]:
    return {a.tag_path: a for a in attributes}


def test_factory_dataset() -> None:
    ds = make_dataset(patient_name="Doe^John")
    attributes = list_attributes(io.BytesIO(to_bytes(ds)))
    tags = [a.tag_path.tag for a in attributes]
    assert tags[0] == 0x00020000  # file meta first, group length written by pydicom
    assert all(t >> 16 == 2 for t in tags[: tags.index(0x00080005)])
    assert 0x7FE00010 not in tags  # pixel data is never read
    by_tag = {a.tag_path.tag: a for a in attributes}
    name = by_tag[0x00100010]
    assert name == ImageAttribute(TagPath.of(0x00100010), ("PatientName",), "PN", 8, ("Doe^John",))
    assert by_tag[0x00080008].values == ("ORIGINAL", "PRIMARY", "AXIAL")
    assert by_tag[0x00080008].length == len("ORIGINAL\\PRIMARY\\AXIAL")
    assert by_tag[0x00280010].values == ("16",)
    assert by_tag[0x00280010].length == 2
    assert by_tag[0x00020001].values == ("00", "01")  # FileMetaInformationVersion, short OB


def test_path_file_object_and_dataset_agree() -> None:
    path = data_file("CT_small.dcm")
    from_path = list_attributes(path)
    with open(path, "rb") as f:
        from_file = list_attributes(f)
    from_dataset = list_attributes(pydicom.dcmread(path))
    assert from_path == from_file == from_dataset
    assert len(from_path) > 50


def test_lengths_are_even_and_match_the_file() -> None:
    for attribute in list_attributes(data_file("CT_small.dcm")):
        assert attribute.length == -1 or attribute.length % 2 == 0
    built = make_dataset(StudyDescription="odd")  # 3 characters, padded to 4
    by_tag = {a.tag_path.tag: a for a in list_attributes(built)}
    assert by_tag[0x00081030].length == 4


def test_nested_items_have_one_based_indices_and_name_paths() -> None:
    attributes = list_attributes(data_file("rtplan.dcm"))
    by_path = _by_path(attributes)
    sequence = TagPath.of(0x300A00B0)  # BeamSequence
    assert by_path[sequence].vr == "SQ"
    assert by_path[sequence].values == ()
    assert by_path[sequence].length == -1
    name = TagPath.of(0x300A00C2, (0x300A00B0, 1))  # BeamSequence[1].BeamName
    assert by_path[name].name_path == ("BeamSequence", "BeamName")
    second = TagPath.of(0x300A0012, (0x300A0010, 2))  # DoseReferenceSequence[2].Number
    assert by_path[second].name_path == ("DoseReferenceSequence", "DoseReferenceNumber")
    assert by_path[second].values == ("2",)
    deep = [a for a in attributes if len(a.tag_path.steps) == 3]
    assert deep
    assert all(len(a.name_path) == 3 for a in deep)
    assert all(s.item is not None and s.item >= 1 for a in deep for s in a.tag_path.steps[:-1])


def test_binary_and_fragments() -> None:
    ds = make_dataset()
    ds.add_new(0x0008041B, "OB", bytes(range(21)))  # RecordKey: longer than 20 bytes
    ds.add_new(0x0008041C, "OB", b"\x01\x02\x03")  # PriorRecordKey: shown byte by byte
    ds.RedPaletteColorLookupTableData = b"\x01\x00\xff\xff"
    ds["RedPaletteColorLookupTableData"].VR = "OW"
    icon = Dataset()
    icon.PixelData = encapsulate([b"\xff\xd8\xff\xd9"])
    icon["PixelData"].VR = "OB"
    icon["PixelData"].is_undefined_length = True
    ds.IconImageSequence = Sequence([icon])
    by_tag = {a.tag_path.tag: a for a in list_attributes(ds)}
    assert by_tag[0x0008041B].values == (BINARY_DATA,)
    assert by_tag[0x0008041B].length == 22
    assert by_tag[0x0008041C].values == ("01", "02", "03")
    assert by_tag[0x00281201].values == ("0001", "FFFF")
    fragments = by_tag[0x7FE00010]
    assert fragments.tag_path == TagPath.of(0x7FE00010, (0x00880200, 1))
    assert (fragments.values, fragments.length) == ((FRAGMENTS,), -1)


def test_encapsulated_icon_read_from_a_compressed_file() -> None:
    ds = make_dataset(transfer_syntax=JPEGBaseline8Bit)
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    icon = Dataset()
    icon.Rows = 1
    icon.PixelData = encapsulate([b"\xff\xd8\xff\xd9"])
    icon["PixelData"].VR = "OB"
    icon["PixelData"].is_undefined_length = True
    ds.IconImageSequence = Sequence([icon])
    attributes = list_attributes(io.BytesIO(to_bytes(ds)))
    fragment = _by_path(attributes)[TagPath.of(0x7FE00010, (0x00880200, 1))]
    assert (fragment.values, fragment.length) == ((FRAGMENTS,), -1)
    assert TagPath.of(0x7FE00010) not in _by_path(attributes)


def test_numbers_tags_and_floats() -> None:
    ds = Dataset()
    ds.add_new(0x00189219, "SS", [-5, 7])  # TagAngleSecondAxis
    ds.add_new(0x00209165, "AT", [0x00100010])  # DimensionIndexPointer
    ds.add_new(0x00109431, "FL", 0.25)  # ExaminedBodyThickness
    ds.PixelSpacing = ["0.5", "0.25"]
    by_tag = {a.tag_path.tag: a for a in list_attributes(ds)}
    assert by_tag[0x00189219].values == ("-5", "7")
    assert by_tag[0x00209165].values == ("(0010,0010)",)
    assert by_tag[0x00109431].values == ("0.25",)
    assert by_tag[0x00280030].values == ("0.5", "0.25")


def test_character_sets_decode_and_nested_items_inherit() -> None:
    ds = make_dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Jürgen"
    item = Dataset()
    item.CodeMeaning = "Größe"
    ds.ProcedureCodeSequence = Sequence([item])
    raw = to_bytes(ds)
    assert "Müller".encode("latin-1") in raw
    by_path = _by_path(list_attributes(io.BytesIO(raw)))
    name = by_path[TagPath.of(0x00100010)]
    assert name.values == ("Müller^Jürgen",)
    assert name.length == 14  # latin-1 bytes, padded
    assert by_path[TagPath.of(0x00080104, (0x00081032, 1))].values == ("Größe",)


def test_empty_values() -> None:
    ds = Dataset()
    ds.PatientName = ""
    ds.ReferencedSeriesSequence = Sequence()
    ds.add_new(0x00280010, "US", None)
    attributes = list_attributes(ds)
    assert [(a.values, a.length) for a in attributes] == [((), -1), ((), 0), ((), 0)]


def _element(tag: int, vr: str, value: bytes) -> bytes:
    """An explicit VR little endian element, written by hand so that any bytes go in."""
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(value)) + value


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_odd_values_never_break_the_listing() -> None:
    odd = [
        (0x00080020, "DA", b"tomorrow"),
        (0x00100010, "PN", b"\xc3\x28"),  # invalid UTF-8
        (0x00109431, "FL", b"\x00\x00\x80"),  # 3 bytes for a 4-byte float
        (0x00180050, "DS", b"\xff\xfe"),
        (0x00200013, "IS", b"12a\\"),
        (0x00209165, "AT", b"\x01"),
        (0x00280010, "US", b"\x01\x02\x03"),  # odd length for US
    ]
    head = make_dataset()
    for tag in list(head.keys()):
        if tag > 0x00080005:
            del head[tag]
    data = to_bytes(head) + b"".join(_element(*e) for e in odd)
    attributes = list_attributes(io.BytesIO(data))
    by_tag = {a.tag_path.tag: a for a in attributes}
    assert {tag for tag, _, _ in odd} <= set(by_tag)
    assert all(isinstance(v, str) for a in attributes for v in a.values)
    assert by_tag[0x00280010].length == 3
    assert by_tag[0x00280010].values == ("01", "02", "03")
    assert by_tag[0x00080020].values == ("tomorrow",)


@pytest.mark.parametrize("data", [b"", b"not dicom at all", b"\x00" * 200, b"DICM"])
def test_not_dicom(data: bytes) -> None:
    with pytest.raises(InvalidDicom) as raised:
        list_attributes(io.BytesIO(data))
    assert isinstance(raised.value, InvalidInput)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_truncated_files_list_what_is_there_or_raise_invalid_dicom() -> None:
    ds = make_dataset()
    ds.ProcedureCodeSequence = Sequence([Dataset(), Dataset()])
    ds.ProcedureCodeSequence[1].CodeMeaning = "x" * 30
    data = to_bytes(ds)
    for cut in range(0, len(data), 3):
        try:
            attributes = list_attributes(io.BytesIO(data[:cut]))
        except InvalidDicom:
            continue
        assert all(isinstance(v, str) for a in attributes for v in a.values)


def _expected_paths(ds: Dataset, steps: tuple[TagPathStep, ...] = ()) -> list[TagPath]:
    paths = []
    for tag in sorted(ds.keys()):
        if not steps and tag == 0x7FE00010:
            break
        paths.append(TagPath((*steps, TagPathStep(int(tag)))))
        elem = ds.get_item(tag)
        if elem.VR == "SQ":
            for index, item in enumerate(elem.value, start=1):
                paths.extend(_expected_paths(item, (*steps, TagPathStep(int(tag), index))))
    return paths


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_random_nested_datasets_list_every_element_once(extra: Dataset) -> None:
    ds = make_dataset()
    ds.update(extra)
    try:
        data = to_bytes(ds)
    except Exception:  # garbage pydicom itself cannot write: not what is tested here
        reject()
    attributes = list_attributes(io.BytesIO(data))
    listed = [a.tag_path for a in attributes if a.tag_path.steps[0].tag >> 16 != 2]
    assert Counter(listed) == Counter(_expected_paths(ds))
    meta = [a for a in attributes if a.tag_path.steps[0].tag >> 16 == 2]
    assert [a.tag_path.tag for a in meta] == sorted(
        pydicom.dcmread(io.BytesIO(data)).file_meta.keys()
    )
    for attribute in attributes:
        assert len(attribute.name_path) == len(attribute.tag_path.steps)
        assert attribute.length >= -1
        assert all(isinstance(v, str) for v in attribute.values)
        if attribute.vr == "SQ":
            assert attribute.values == ()


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=30, deadline=None)
@given(datasets(garbage=False))
def test_random_datasets_list_the_same_from_bytes_and_dataset(extra: Dataset) -> None:
    ds = make_dataset()
    ds.update(extra)
    data = to_bytes(ds)
    from_bytes = list_attributes(io.BytesIO(data))
    from_read = list_attributes(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True))
    assert [(a.tag_path, a.vr, a.values) for a in from_bytes] == [
        (a.tag_path, a.vr, a.values) for a in from_read
    ]
