"""Hypothesis strategies for DICOM values and nested datasets (tests of slicebox_core.dicom)."""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import strategies as st
from pydicom.datadict import DicomDictionary
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

SIMPLE_VRS = [
    *("AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD"),
    *("OF", "OL", "OV", "OW", "PN", "SH", "SL", "SS", "ST", "SV", "TM", "UC", "UI", "UL"),
    *("UN", "UR", "US", "UT", "UV"),
]


def _pick_tags(vr: str, count: int = 6) -> list[int]:
    """Non-retired dictionary tags of ``vr`` with VM 1 or 1-n, outside special groups."""
    tags = [
        tag
        for tag, (entry_vr, vm, _name, retired, _kw) in sorted(DicomDictionary.items())
        if entry_vr == vr
        and not retired
        and vm in ("1", "1-n")
        and tag >> 16 not in (0x0000, 0x0002, 0x0004, 0x0028, 0x7FE0, 0xFFFE)
        and tag & 0xFFFF
        and tag != 0x00080005
    ]
    return tags[:count]


TAGS_BY_VR: dict[str, list[int]] = {vr: _pick_tags(vr) for vr in SIMPLE_VRS}
VR_OF: dict[int, str] = {tag: vr for vr, tags in TAGS_BY_VR.items() for tag in tags}
SIMPLE_TAGS = sorted(VR_OF)
MULTI_VALUED = {tag for tag in SIMPLE_TAGS if DicomDictionary[tag][1] == "1-n"}
SEQUENCE_TAGS = _pick_tags("SQ", 8)

_WORD = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", min_size=1, max_size=8)
_LETTERS = st.text(st.characters(categories=["L", "Nd"]), min_size=1, max_size=10)


def _strings(vr: str) -> st.SearchStrategy[str]:
    """One valid value of a string VR, without leading or trailing spaces."""
    if vr in ("AE", "CS", "SH"):
        return _WORD
    if vr in ("LO", "UC"):
        return _LETTERS
    if vr in ("LT", "ST", "UT"):
        return st.lists(_LETTERS, min_size=1, max_size=4).map(" ".join)
    if vr == "PN":
        return st.lists(_LETTERS, min_size=1, max_size=3).map("^".join)
    if vr == "AS":
        return st.tuples(st.integers(0, 999), st.sampled_from("DWMY")).map(
            lambda t: f"{t[0]:03d}{t[1]}"
        )
    if vr == "DA":
        return st.dates(datetime.date(1900, 1, 1)).map(lambda d: d.strftime("%Y%m%d"))
    if vr == "TM":
        return st.times().map(lambda t: t.strftime("%H%M%S"))
    if vr == "DT":
        return st.datetimes(datetime.datetime(1900, 1, 1)).map(lambda d: d.strftime("%Y%m%d%H%M%S"))
    if vr == "DS":
        return st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: f"{f:.6g}")
    if vr == "IS":
        return st.integers(-(2**31), 2**31 - 1).map(str)
    if vr == "UI":
        return st.lists(st.integers(0, 10**6), min_size=2, max_size=8).map(
            lambda parts: ".".join(map(str, parts))
        )
    if vr == "UR":
        return _WORD.map(lambda w: f"http://example.com/{w}")
    raise ValueError(vr)


_INT_RANGES = {
    "US": (0, 0xFFFF),
    "SS": (-0x8000, 0x7FFF),
    "UL": (0, 0xFFFFFFFF),
    "SL": (-0x80000000, 0x7FFFFFFF),
    "UV": (0, 2**64 - 1),
    "SV": (-(2**63), 2**63 - 1),
    "AT": (0, 0xFFFFFFFF),
}
_UNIT = {"OB": 1, "UN": 1, "OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def values(vr: str) -> st.SearchStrategy[Any]:
    """A value pydicom accepts for ``vr``: a scalar or a list of 1-3 values."""
    if vr in _UNIT:
        unit = _UNIT[vr]
        return st.integers(0, 40 // unit).flatmap(
            lambda n: st.binary(min_size=n * unit, max_size=n * unit)
        )
    if vr in _INT_RANGES:
        one: st.SearchStrategy[Any] = st.integers(*_INT_RANGES[vr])
    elif vr == "FL":
        one = st.floats(width=32, allow_nan=False, allow_infinity=False)
    elif vr == "FD":
        one = st.floats(allow_nan=False, allow_infinity=False)
    else:
        one = _strings(vr)
    if vr in ("LT", "ST", "UT", "UR"):
        return one  # single-valued VRs
    return st.one_of(one, st.lists(one, min_size=1, max_size=3))


def value_text(vr: str, tag: int) -> st.SearchStrategy[str]:
    """A valid text value as a TagMapping carries it (backslash-joined when multi-valued)."""
    if vr in _INT_RANGES and vr != "AT":
        one = st.integers(*_INT_RANGES[vr]).map(str)
    elif vr == "AT":
        one = st.integers(0, 0xFFFFFFFF).map(lambda t: f"{t:08X}")
    elif vr == "FL":
        one = st.floats(width=32, allow_nan=False, allow_infinity=False).map(repr)
    elif vr == "FD":
        one = st.floats(allow_nan=False, allow_infinity=False).map(repr)
    else:
        one = _strings(vr)
    if tag in MULTI_VALUED and vr not in ("LT", "ST", "UT", "UR"):
        return st.lists(one, min_size=1, max_size=3).map("\\".join)
    return one


@st.composite
def garbage_elements(draw: st.DrawFn, tag: int) -> RawDataElement:
    """A raw element of ``tag``'s VR holding arbitrary bytes.

    Lengths of numeric VRs are whole values: pydicom refuses to write anything else.
    """
    vr = VR_OF[tag]
    unit = {"US": 2, "SS": 2, "UL": 4, "SL": 4, "FL": 4, "AT": 4, "FD": 8, "UV": 8, "SV": 8}
    unit.update(_UNIT)
    size = unit.get(vr, 1)
    if vr in ("IS", "DS"):  # pydicom cannot write back number strings it decoded as U+FFFD
        value = draw(st.text(st.characters(max_codepoint=127), max_size=12)).encode()
    else:
        value = draw(
            st.integers(0, 12 // size).flatmap(
                lambda n: st.binary(min_size=n * size, max_size=n * size)
            )
        )
    return RawDataElement(Tag(tag), vr, len(value), value, 0, False, True)


@st.composite
def datasets(draw: st.DrawFn, depth: int = 0, *, garbage: bool = True) -> Dataset:
    """A dataset of random dictionary elements and nested sequences (up to 2 levels)."""
    ds = Dataset()
    for tag in draw(st.lists(st.sampled_from(SIMPLE_TAGS), unique=True, max_size=6)):
        if garbage and draw(st.integers(0, 4)) == 0:
            ds[tag] = draw(garbage_elements(tag))
        else:
            ds.add_new(tag, VR_OF[tag], draw(values(VR_OF[tag])))
    if depth < 2:
        for tag in draw(st.lists(st.sampled_from(SEQUENCE_TAGS), unique=True, max_size=2)):
            items = draw(st.lists(datasets(depth + 1, garbage=garbage), max_size=3))
            ds.add_new(tag, "SQ", items)
    return ds
