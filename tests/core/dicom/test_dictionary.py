"""The DICOM dictionary routes' functions (spec §3.2, §7 "Dictionary")."""

from __future__ import annotations

import pytest

from slicebox_core.dicom import dictionary
from slicebox_core.errors import InvalidInput, NotFound
from slicebox_core.models import DicomValueRepresentation, Multiplicity

PATIENT_NAME = 0x00100010


def test_keywords_are_sorted_nonempty_and_unique() -> None:
    words = dictionary.keywords()
    assert len(words) > 4000
    assert words == sorted(words)
    assert len(set(words)) == len(words)
    assert "PatientName" in words
    assert "Item" not in words  # (FFFE,E000) is not an attribute


def test_filter_is_a_case_insensitive_substring() -> None:
    words = dictionary.keywords("patientna")
    assert "PatientName" in words
    assert "OtherPatientNames" in words
    assert all("patientna" in w.lower() for w in words)
    assert dictionary.keywords("") == dictionary.keywords()
    assert dictionary.keywords("no such keyword at all") == []


def test_sequence_and_nonsequence_partition_all() -> None:
    sequences = dictionary.keywords(kind="sequence")
    others = dictionary.keywords(kind="nonsequence")
    assert "ReferencedSeriesSequence" in sequences
    assert "PatientName" in others
    assert not set(sequences) & set(others)
    assert sorted(sequences + others) == dictionary.keywords()
    assert all(dictionary.vr(dictionary.tag(w)).name == "SQ" for w in sequences)
    assert dictionary.keywords("code", "sequence") == [w for w in sequences if "code" in w.lower()]


def test_unknown_kind() -> None:
    with pytest.raises(InvalidInput):
        dictionary.keywords(kind="other")  # type: ignore[arg-type]


def test_returned_lists_are_copies() -> None:
    dictionary.keywords().clear()
    assert dictionary.keywords()


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        (PATIENT_NAME, "PN"),
        (0x00280010, "US"),  # Rows
        (0x00081115, "SQ"),  # ReferencedSeriesSequence
        (0x00280106, "US"),  # SmallestImagePixelValue: "US or SS"
        (0x7FE00010, "OB"),  # PixelData: "OB or OW"
        (0x60023000, "OB"),  # OverlayData in a repeating group
        (0x00091010, "UN"),  # private, no dictionary
        (0x00090010, "LO"),  # private creator
        (0x00080000, "UL"),  # group length
        (0x00000000, "UL"),
        (0x00011234, "UN"),
        (0xFFFEE000, "UN"),  # Item
    ],
)
def test_vr(tag: int, name: str) -> None:
    expected = DicomValueRepresentation(name=name, code=ord(name[0]) << 8 | ord(name[1]))
    assert dictionary.vr(tag) == expected


def test_vr_code_is_the_two_bytes_big_endian() -> None:
    assert dictionary.vr(PATIENT_NAME).code == 0x504E


@pytest.mark.parametrize("bad", [-1, 2**32, True])
def test_not_a_tag(bad: int) -> None:
    for function in (dictionary.vr, dictionary.vm, dictionary.keyword):
        with pytest.raises(InvalidInput):
            function(bad)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        (PATIENT_NAME, Multiplicity(1, 1)),
        (0x00080008, Multiplicity(2, None)),  # ImageType 2-n
        (0x00200032, Multiplicity(3, 3)),  # ImagePositionPatient
        (0x00280030, Multiplicity(2, 2)),  # PixelSpacing
        (0x00181310, Multiplicity(4, 4)),  # AcquisitionMatrix
        (0x00080060, Multiplicity(1, 1)),
        (0x00091010, Multiplicity(1, None)),  # unknown: 1-n
        (0x00090010, Multiplicity(1, 1)),  # private creator
    ],
)
def test_vm(tag: int, expected: Multiplicity) -> None:
    assert dictionary.vm(tag) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", Multiplicity(1, 1)),
        ("1-n", Multiplicity(1, None)),
        ("2-2n", Multiplicity(2, None)),
        ("3-3n", Multiplicity(3, None)),
        ("1-3", Multiplicity(1, 3)),
        ("16", Multiplicity(16, 16)),
        ("6-n", Multiplicity(6, None)),
    ],
)
def test_parse_vm(text: str, expected: Multiplicity) -> None:
    assert dictionary.parse_vm(text) == expected


def test_parse_vm_rejects_garbage() -> None:
    with pytest.raises(InvalidInput):
        dictionary.parse_vm("one")


def test_every_dictionary_vm_parses() -> None:
    from pydicom.datadict import DicomDictionary

    for number in DicomDictionary:
        dictionary.vm(number)


def test_keyword_and_tag_round_trip() -> None:
    assert dictionary.keyword(PATIENT_NAME) == "PatientName"
    assert dictionary.tag("PatientName") == PATIENT_NAME
    for word in dictionary.keywords():
        number = dictionary.tag(word)
        assert dictionary.keyword(number) == word


def test_repeater_keyword() -> None:
    assert dictionary.tag("OverlayData") == 0x60003000
    assert dictionary.keyword(0x60023000) == "OverlayData"


@pytest.mark.parametrize("tag", [0x00091010, 0x00090010, 0x00080000, 0x00011234, 0xFFFEE000])
def test_unknown_keyword_for_tag(tag: int) -> None:
    with pytest.raises(NotFound):
        dictionary.keyword(tag)


@pytest.mark.parametrize("word", ["NoSuchKeyword", "patientname", "", "Item"])
def test_unknown_tag_for_keyword(word: str) -> None:
    with pytest.raises(NotFound):
        dictionary.tag(word)


def test_format_tag() -> None:
    assert dictionary.format_tag(0x7FE00010) == "(7FE0,0010)"
