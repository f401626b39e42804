"""Table-driven: every row of PS3.15 Table E.1-1 (read here straight from the JSON, not through
the engine's own loader) under the Basic Profile and under each supported option column."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

import pytest
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from slicebox_core.anonymize import anonymize, supported_options

from .support import assert_vr_valid, encode, roundtrip, uid_map

TABLE = json.loads(
    resources.files("slicebox_core.anonymize").joinpath("ps315_annex_e.json").read_text()
)
SHIFT = -400
COLUMN_OF = {
    "BASIC_PROFILE": "basic",
    "CLEAN_STRUCTURED_CONTENT": "clean_structured_content",
    "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION": "retain_longitudinal_full_dates",
    "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES": (
        "retain_longitudinal_modified_dates"
    ),
    "RETAIN_PATIENT_CHARACTERISTICS": "retain_patient_characteristics",
    "RETAIN_DEVICE_IDENTITY": "retain_device_identity",
    "RETAIN_INSTITUTION_IDENTITY": "retain_institution_identity",
    "RETAIN_UIDS": "retain_uids",
    "RETAIN_SAFE_PRIVATE": "retain_safe_private",
}
# tags the engine sets itself after the walk, and the file-meta / command-group rows
SET_BY_ENGINE = {0x00100010, 0x00100020, 0x0020000D, 0x0020000E, 0x00080018}


def _rows() -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for row in TABLE["rows"]:
        if row["is_pattern"]:
            continue
        tag = int(row["tag"][1:5] + row["tag"][6:10], 16)
        if tag >> 16 in (0x0000, 0x0002) or tag in SET_BY_ENGINE:
            continue
        rows.append((tag, row))
    return rows


def _value(vr: str, n: int) -> Any:
    return {
        "AE": f"PHIAE{n}",
        "AS": "045Y",
        "CS": f"PHICS{n}",
        "DA": "20200315",
        "DS": "12.5",
        "DT": "20200315101112",
        "IS": "42",
        "LO": f"PHI-LO-{n}",
        "LT": f"PHI-LT-{n}",
        "PN": f"Phifam{n}^Given",
        "SH": f"PHISH{n}",
        "ST": f"PHI-ST-{n}",
        "TM": "101112",
        "UC": f"PHI-UC-{n}",
        "UI": f"1.2.826.0.1.999.{n}",
        "UR": f"http://phi.example/{n}",
        "UT": f"PHI-UT-{n}",
        "US": 7,
        "SS": 7,
        "UL": 7,
        "SL": 7,
        "UV": 7,
        "SV": 7,
        "FL": 1.5,
        "FD": 1.5,
        "AT": 0x00100010,
    }.get(vr, b"PHIBYTES")


def _dataset(tag: int, vr: str, n: int) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = f"1.2.826.0.1.999.9{n}"
    if vr == "SQ":
        item = Dataset()
        item.PatientName = "Nested^Phi"
        item.Manufacturer = "KEEPME"
        ds.add_new(tag, "SQ", Sequence([item]))
    else:
        ds.add_new(tag, vr, _value(vr, n))
    return ds


def _resolve(row: dict[str, Any], column: str) -> str:
    option_code = row["actions"][column]
    return option_code if option_code is not None else row["actions"]["basic"]


def _values(elem: Any) -> list[Any]:
    value = elem.value
    if value is None or value == "":
        return []
    if isinstance(value, MultiValue | Sequence | list | tuple):
        return list(value)
    return [value]


def _shifted(value: str) -> str:
    day = dt.date(int(value[:4]), int(value[4:6]), int(value[6:8])) + dt.timedelta(days=SHIFT)
    return day.strftime("%Y%m%d") + value[8:]


def _check(code: str, vr: str, original: Any, out: Dataset, tag: int, modified: bool) -> str | None:
    """None if ``out`` honours ``code`` for the element, else a description of the failure."""
    elem = out.get(tag)
    present = elem is not None
    empty = present and not _values(elem)
    kept = present and _values(elem) == _values(original)
    if vr == "PN" and kept:
        return "a name survived"
    outcomes: set[str] = set()
    if not present:
        outcomes.add("X")
    elif empty:
        outcomes.add("Z")
    else:
        if kept:
            outcomes.add("K")
        if vr == "SQ":
            item = elem.value[0]
            if str(item.get("PatientName", "")) == "Nested^Phi":
                return "a name in a kept sequence survived"
            if item.get("Manufacturer") is not None and item.Manufacturer == "KEEPME":
                outcomes.update({"K", "C", "U*"})
            elif item.get("Manufacturer") is not None and item.Manufacturer != "KEEPME":
                outcomes.add("D")
        elif vr == "UI":
            if _values(elem) == [uid_map(str(v)) for v in _values(original)]:
                outcomes.update({"U", "D", "C", "U*"})
        elif not kept:
            outcomes.add("D")
            if vr in ("DA", "DT") and modified:
                if _values(elem) == [_shifted(str(v)) for v in _values(original)]:
                    outcomes.add("C")
            else:
                outcomes.add("C")  # cleaned text is replaced by a dummy
        if vr == "TM" and kept and modified:
            outcomes.add("C")
    allowed = {
        "X": {"X"},
        "Z": {"Z"},
        "D": {"D"},
        "K": {"K"},
        "C": {"C"},
        "U": {"U"},
        "Z/D": {"Z", "D"},
        "X/Z": {"X", "Z"},
        "X/D": {"X", "D"},
        "X/Z/D": {"X", "Z", "D"},
        "X/Z/U*": {"X", "Z", "U*"},
    }[code]
    if modified and vr in ("DA", "DT") and code == "K":
        allowed = {"C"}  # dates kept by another option are still shifted
    if outcomes & allowed:
        return None
    return f"expected {code}, got {sorted(outcomes) or 'nothing'}"


@pytest.mark.parametrize("option", sorted(COLUMN_OF))
def test_every_row_under_option(option: str) -> None:
    column = COLUMN_OF[option]
    modified = column == "retain_longitudinal_modified_dates"
    failures = []
    checked = 0
    for n, (tag, row) in enumerate(_rows()):
        # Retain Safe Private only has the private pattern row: check that every exact row
        # still gets its Basic Profile action with the option on
        everything = option in ("BASIC_PROFILE", "RETAIN_SAFE_PRIVATE")
        if not everything and row["actions"][column] is None:
            continue
        vr = dictionary_VR(tag).split(" or ")[0]
        ds = _dataset(tag, vr, n)
        original = ds[tag]
        out = anonymize(ds, [option], uid_map=uid_map, date_shift_days=SHIFT if modified else None)
        problem = _check(_resolve(row, column), vr, original, out, tag, modified)
        if problem is None and _resolve(row, column) not in ("K", "C"):
            # nothing of the original value may remain in the file
            marker = _value(vr, n)
            if isinstance(marker, str) and len(marker) > 6 and marker.encode() in encode(out):
                problem = "original value still in the bytes"
        if problem:
            failures.append(f"{row['tag']} {row['keyword']} ({vr}): {problem}")
        assert_vr_valid(roundtrip(out))
        checked += 1
    assert checked > 0
    assert not failures, "\n".join(failures)


def test_supported_options_all_have_a_column() -> None:
    for option in supported_options():
        assert option.name in COLUMN_OF


def test_table_is_the_2023b_edition_with_all_rows() -> None:
    assert TABLE["edition"] == "2023b"
    assert len(TABLE["rows"]) == TABLE["row_count"] == 608


def test_patterns_curves_and_overlays_are_removed() -> None:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.add_new(0x50000010, "US", 1)  # curve dimensions
    ds.add_new(0x50023000, "OB", b"curvedat")  # curve data
    ds.add_new(0x60000010, "US", 16)  # overlay rows
    ds.add_new(0x60000022, "LO", "Overlay of Phi Name")  # overlay description
    ds.add_new(0x60003000, "OW", b"\x00\x01" * 4)  # overlay data
    ds.add_new(0x60024000, "LT", "PHI overlay comment")  # overlay comments
    out = anonymize(ds, ["BASIC_PROFILE"], uid_map=uid_map)
    groups = {int(t) >> 16 for t in out.keys()}  # noqa: SIM118
    assert not [g for g in groups if g & 0xFF00 in (0x5000, 0x6000)]
