"""Insert or replace attributes of a dataset from text values (spec §5.18.6).

Values arrive as text (``TagMapping.value``); they are checked against their VR so that the
written file stays valid DICOM, then converted to what pydicom stores.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from pydicom import datadict
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from slicebox_core.errors import InvalidInput, NotFound
from slicebox_core.models import TagMapping, TagPath

from . import dictionary
from .dictionary import format_tag

__all__ = [
    "SETTABLE_VRS",
    "apply_tag_mappings",
    "convert_to_utf8",
    "parse_value",
    "remove_group_lengths",
]

_SPECIFIC_CHARACTER_SET = 0x00080005
# SOP Class/Instance, Study and Series Instance UIDs: the file meta and the index need them.
_REQUIRED_UIDS = frozenset({0x00080016, 0x00080018, 0x0020000D, 0x0020000E})
_PIXEL_DATA_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
# Text VRs whose single value may contain a backslash: never split (PS3.5 6.2).
_SINGLE_VALUED_VRS = frozenset({"LT", "ST", "UT", "UR"})


def apply_tag_mappings(ds: Dataset, mappings: Sequence[TagMapping]) -> None:
    """Insert or replace the attribute at each mapping's tag path, in order, in place.

    First normalizes ``ds`` as the spec's modify does: group length elements are removed and
    text is converted to UTF-8 (SpecificCharacterSet ``ISO_IR 192``). Each value is split on
    backslashes into values (except for LT, ST, UT and UR), checked against the VR, and
    the count checked against the dictionary's multiplicity; an empty string sets an empty
    value. The VR is the existing element's, else the dictionary's (private tags: pydicom's
    private dictionary via their creator). Nested paths go through existing sequences; item
    indices are 1-based and must exist, except that the index right after the last item
    appends a new empty item. Changing the top-level SOPInstanceUID or SOPClassUID updates the
    file meta to match. Each mapping is applied whole or not at all, but a failing mapping
    leaves the earlier ones applied: work on a copy if that matters.

    Raises:
        InvalidInput: a path that is not a tag path, goes through a missing sequence or item,
            or names a file meta (0002,xxxx), group length, item, Pixel Data,
            SpecificCharacterSet or sequence attribute; a tag whose VR is unknown (not in the
            dictionary and not present) or binary (OB, OW, OF, OD, OL, OV, UN); a value that
            is not valid for its VR or multiplicity; an empty top-level SOP Class, SOP
            Instance, Study or Series Instance UID.
    """
    remove_group_lengths(ds)
    convert_to_utf8(ds)
    for mapping in mappings:
        _apply(ds, mapping)


def convert_to_utf8(ds: Dataset) -> None:
    """Decode all text with the dataset's character sets, then declare UTF-8 (``ISO_IR 192``).

    Nested items' own SpecificCharacterSet is removed: they inherit UTF-8 from the top level.
    pydicom encodes the (now decoded) values as UTF-8 when the dataset is written.
    """
    current = ds.get(_SPECIFIC_CHARACTER_SET)
    if current is not None and current.value == "ISO_IR 192" and not _nested_charsets(ds):
        return
    try:
        ds.decode()
    except Exception as ex:  # a text value the declared character set cannot decode
        raise InvalidInput(f"Cannot decode the text of the dataset ({type(ex).__name__})") from None
    _remove_nested_charsets(ds)
    ds.SpecificCharacterSet = "ISO_IR 192"


def remove_group_lengths(ds: Dataset) -> None:
    """Delete (gggg,0000) group length elements, nested items included (not the file meta)."""
    for tag in [t for t in sorted(ds.keys()) if t.element == 0]:
        del ds[tag]
    for elem in ds.values():
        if isinstance(elem, DataElement) and elem.VR == "SQ":
            for item in elem.value or ():
                remove_group_lengths(item)


def _nested_charsets(ds: Dataset) -> bool:
    for elem in ds.values():
        if isinstance(elem, DataElement) and elem.VR == "SQ":
            for item in elem.value or ():
                if _SPECIFIC_CHARACTER_SET in item or _nested_charsets(item):
                    return True
    return False


def _remove_nested_charsets(ds: Dataset) -> None:
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value or ():
                if _SPECIFIC_CHARACTER_SET in item:
                    del item[_SPECIFIC_CHARACTER_SET]
                _remove_nested_charsets(item)


def _apply(ds: Dataset, mapping: TagMapping) -> None:
    path = mapping.tag_path
    if not path.steps or not path.is_tag:
        raise InvalidInput(f"Not an attribute path (its last step must be a tag): {path}")
    tag = path.tag
    _check_settable(tag, path)
    parent, sequence, new_item = _resolve(ds, path)
    existing = _existing(parent, tag)
    vr = _vr_for(tag, existing, parent if parent is not None else Dataset(), ds, path)
    value = parse_value(vr, mapping.value)
    _check_multiplicity(tag, vr, value, path)
    if not value and len(path.steps) == 1 and tag in _REQUIRED_UIDS:
        raise InvalidInput(f"{path} identifies the image and cannot be empty")
    if parent is None:  # append the new item only now that the value is known to be good
        assert sequence is not None and new_item is not None
        sequence.append(new_item)
        parent = new_item
    try:
        parent[tag] = DataElement(tag, vr, value)
    except (ValueError, TypeError, OverflowError) as ex:  # pydicom's own write validation
        raise InvalidInput(f"Invalid value for {path} ({vr}): {ex}") from None
    if parent is ds and tag in (0x00080016, 0x00080018) and hasattr(ds, "file_meta"):
        meta_tag = 0x00020002 if tag == 0x00080016 else 0x00020003
        ds.file_meta[meta_tag] = DataElement(meta_tag, "UI", value)


def _existing(parent: Dataset | None, tag: int) -> DataElement | None:
    if parent is None or tag not in parent:
        return None
    try:
        return parent[tag]
    except Exception:  # unconvertible raw value: it is replaced, with the dictionary VR
        return None


def _check_settable(tag: int, path: TagPath) -> None:
    group, element = tag >> 16, tag & 0xFFFF
    if group == 0x0002:
        raise InvalidInput(f"File meta information cannot be modified: {path}")
    if group == 0xFFFE:
        raise InvalidInput(f"Item and delimiter tags are not attributes: {path}")
    if element == 0:
        raise InvalidInput(f"Group lengths cannot be set: {path}")
    if tag in _PIXEL_DATA_TAGS:
        raise InvalidInput(f"Pixel data cannot be modified: {path}")
    if tag == _SPECIFIC_CHARACTER_SET:
        raise InvalidInput(f"SpecificCharacterSet is managed by slicebox (UTF-8): {path}")


def _resolve(
    ds: Dataset, path: TagPath
) -> tuple[Dataset | None, DicomSequence | None, Dataset | None]:
    """The dataset holding the path's last tag, or (None, sequence, new item) to append."""
    current = ds
    steps = path.steps[:-1]
    for depth, step in enumerate(steps):
        where = TagPath(path.steps[: depth + 1])
        item = step.item or 0
        if step.tag not in current:
            raise InvalidInput(f"No sequence {format_tag(step.tag)} at {where}")
        try:
            elem = current[step.tag]
        except Exception:
            raise InvalidInput(f"Unreadable element {format_tag(step.tag)} at {where}") from None
        if elem.VR != "SQ":
            raise InvalidInput(f"{format_tag(step.tag)} is not a sequence ({elem.VR}) at {where}")
        sequence = elem.value
        if item < 1:
            raise InvalidInput(f"Item numbers start at 1: {where}")
        if item <= len(sequence):
            current = sequence[item - 1]
        elif item == len(sequence) + 1 and depth == len(steps) - 1:
            return None, sequence, Dataset()
        else:
            raise InvalidInput(
                f"Item {item} does not exist at {where}; the sequence has {len(sequence)} item(s)"
            )
    return current, None, None


def _vr_for(
    tag: int, existing: DataElement | None, parent: Dataset, root: Dataset, path: TagPath
) -> str:
    dict_vr = _dictionary_vr(tag, parent)
    if dict_vr == "SQ" or (existing is not None and existing.VR == "SQ"):
        raise InvalidInput(f"Sequences cannot be set from text: {path}")
    vr: str | None = None
    if existing is not None and len(existing.VR) == 2 and existing.VR != "UN":
        vr = str(existing.VR)
    elif dict_vr is not None:
        vr = _resolve_ambiguous(dict_vr, parent, root)
    if vr is None or vr == "UN":
        raise InvalidInput(
            f"Unknown VR for {path}: only dictionary or existing attributes can be set"
        )
    if vr in _BINARY_VRS:
        raise InvalidInput(f"Binary attributes ({vr}) cannot be set from text: {path}")
    return vr


def _dictionary_vr(tag: int, parent: Dataset) -> str | None:
    group, element = tag >> 16, tag & 0xFFFF
    if group % 2 == 0:
        try:
            return str(datadict.dictionary_VR(tag))
        except KeyError:
            return None
    if 0x0010 <= element <= 0x00FF:
        return "LO"  # private creator (PS3.5 7.8.1)
    creator_tag = (group << 16) | (element >> 8)
    try:
        creator = parent[creator_tag].value
        return str(datadict.private_dictionary_VR(tag, str(creator)))
    except Exception:  # no creator, or not in pydicom's private dictionary
        return None


def _resolve_ambiguous(vr: str, parent: Dataset, root: Dataset) -> str:
    if " or " not in vr:
        return vr
    choices = vr.split(" or ")
    if "SS" in choices:
        signed = any(d.get("PixelRepresentation") == 1 for d in (parent, root))
        return "SS" if signed else "US"
    return "US" if "US" in choices else choices[0]


def _check_multiplicity(tag: int, vr: str, value: Any, path: TagPath) -> None:
    if value is None:
        return  # an empty value is always allowed here
    count = len(value) if isinstance(value, list) else 1
    try:
        text = datadict.dictionary_VM(tag) if tag >> 16 & 1 == 0 else ""
    except KeyError:
        text = ""
    if not text:
        return
    vm = dictionary.parse_vm(text)
    step = int(text.partition("-")[2][:-1] or 1) if text.endswith("n") else 1
    if count < vm.min or (vm.max is not None and count > vm.max) or count % step:
        raise InvalidInput(f"{path} takes {text} value(s) ({vr}), not {count}")


# --- values ---------------------------------------------------------------------------------

SETTABLE_VRS = frozenset(
    {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "PN", "SH", "SL"}
    | {"SS", "ST", "SV", "TM", "UC", "UI", "UL", "UR", "US", "UT", "UV"}
)
"""VRs :func:`parse_value` accepts."""

_INT_RANGES = {
    "US": (0, 0xFFFF),
    "SS": (-0x8000, 0x7FFF),
    "UL": (0, 0xFFFFFFFF),
    "SL": (-0x80000000, 0x7FFFFFFF),
    "UV": (0, 0xFFFFFFFFFFFFFFFF),
    "SV": (-0x8000000000000000, 0x7FFFFFFFFFFFFFFF),
}
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_UID = re.compile(r"(0|[1-9]\d*)(\.(0|[1-9]\d*))*")
_CS = re.compile(r"[A-Z0-9 _]*")
_AS = re.compile(r"\d{3}[DWMY]")
_TM = re.compile(r"(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?")
_DT = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?")
_AT_HEX = re.compile(r"\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?")
_URI_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")
_CONTROL = re.compile(r"[\x00-\x1a\x1c-\x1f\x7f]")  # controls but ESC (character sets)
_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")  # also allows TAB LF FF CR
_TEXT_MAX = {"SH": 16, "LO": 64, "ST": 1024, "LT": 10240, "UC": None, "UT": 0xFFFFFFFE}


def parse_value(vr: str, text: str) -> Any:
    """Check ``text`` against ``vr`` and return what pydicom stores for it.

    Multi-valued VRs are split on backslashes (LT, ST, UT and UR never are). Returns None
    for an empty string, a single value for one value, a list for several: ``str`` for
    string VRs (DS and IS keep the text as written), ``int`` for US, SS, UL, SL, UV, SV and
    AT, ``float`` for FL and FD.

    Raises:
        InvalidInput: a VR not in :data:`SETTABLE_VRS`, or a value that is not valid for
            ``vr`` (format, characters, range or length per PS3.5 6.2).
    """
    if vr not in SETTABLE_VRS:
        raise InvalidInput(f"Values of VR {vr} cannot be set from text")
    if text == "":
        return None
    parts = [text] if vr in _SINGLE_VALUED_VRS else text.split("\\")
    parser = _PARSERS[vr]
    values = [parser(part) for part in parts]
    return values[0] if len(values) == 1 else values


def _bad(vr: str, text: str, why: str) -> InvalidInput:
    shown = text if len(text) <= 40 else text[:37] + "..."
    return InvalidInput(f"Invalid {vr} value {shown!r}: {why}")


def _int_parser(vr: str) -> Callable[[str], Any]:
    low, high = _INT_RANGES[vr]

    def parse(text: str) -> int:
        stripped = text.strip()
        if not _INTEGER.fullmatch(stripped):
            raise _bad(vr, text, "not an integer")
        number = int(stripped)
        if not low <= number <= high:
            raise _bad(vr, text, f"outside {low}..{high}")
        return number

    return parse


def _float_parser(vr: str) -> Callable[[str], Any]:
    def parse(text: str) -> float:
        stripped = text.strip()
        if not _DECIMAL.fullmatch(stripped):
            raise _bad(vr, text, "not a number")
        number = float(stripped)
        if not math.isfinite(number) or (vr == "FL" and abs(number) > 3.4028234663852886e38):
            raise _bad(vr, text, "out of range")
        return number

    return parse


def _parse_ds(text: str) -> str:
    stripped = text.strip()
    if len(stripped) > 16:
        raise _bad("DS", text, "longer than 16 characters")
    if not _DECIMAL.fullmatch(stripped) or not math.isfinite(float(stripped)):
        raise _bad("DS", text, "not a decimal number")
    return stripped


def _parse_is(text: str) -> str:
    stripped = text.strip()
    if len(stripped) > 12:
        raise _bad("IS", text, "longer than 12 characters")
    if not _INTEGER.fullmatch(stripped):
        raise _bad("IS", text, "not an integer")
    if not -(2**31) <= int(stripped) <= 2**31 - 1:
        raise _bad("IS", text, "outside the 32-bit range")
    return stripped


def _parse_da(text: str) -> str:
    if not re.fullmatch(r"\d{8}", text):
        raise _bad("DA", text, "not a date YYYYMMDD")
    try:
        datetime.datetime.strptime(text, "%Y%m%d")
    except ValueError:
        raise _bad("DA", text, "not a calendar date") from None
    return text


def _parse_tm(text: str) -> str:
    stripped = text.rstrip(" ")
    match = _TM.fullmatch(stripped)
    if not match or len(stripped) > 14:
        raise _bad("TM", text, "not a time HHMMSS.FFFFFF")
    hour, minute, second = (int(g) if g else 0 for g in match.groups()[:3])
    if match.group(4) and not match.group(3):
        raise _bad("TM", text, "fraction without seconds")
    if hour > 23 or minute > 59 or second > 60:
        raise _bad("TM", text, "not a time of day")
    return stripped


def _parse_dt(text: str) -> str:
    stripped = text.rstrip(" ")
    match = _DT.fullmatch(stripped)
    if not match or len(stripped) > 26:
        raise _bad("DT", text, "not a date-time YYYYMMDDHHMMSS.FFFFFF&ZZXX")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    parts = [month, day, hour, minute, second, fraction]
    present = [p is not None for p in parts]
    if present != sorted(present, reverse=True):
        raise _bad("DT", text, "components must not be skipped")
    try:
        datetime.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise _bad("DT", text, "not a calendar date") from None
    if int(hour or 0) > 23 or int(minute or 0) > 59 or int(second or 0) > 60:
        raise _bad("DT", text, "not a time of day")
    if offset and (int(offset[1:3]) > 14 or int(offset[3:]) > 59):
        raise _bad("DT", text, "not a UTC offset")
    return stripped


def _parse_ui(text: str) -> str:
    stripped = text.rstrip("\x00 ")
    if len(stripped) > 64:
        raise _bad("UI", text, "longer than 64 characters")
    if not _UID.fullmatch(stripped):
        raise _bad("UI", text, "only digits and dots, no leading zeros")
    return stripped


def _parse_cs(text: str) -> str:
    text = text.rstrip(" ")
    if len(text) > 16:
        raise _bad("CS", text, "longer than 16 characters")
    if not _CS.fullmatch(text):
        raise _bad("CS", text, "only upper-case letters, digits, space and underscore")
    return text


def _parse_ae(text: str) -> str:
    text = text.rstrip(" ")
    if len(text) > 16:
        raise _bad("AE", text, "longer than 16 characters")
    if not text.isascii() or _CONTROL.search(text) or "\x1b" in text:
        raise _bad("AE", text, "only printable ASCII characters")
    return text


def _parse_as(text: str) -> str:
    if not _AS.fullmatch(text):
        raise _bad("AS", text, "not an age nnnD, nnnW, nnnM or nnnY")
    return text


def _parse_ur(text: str) -> str:
    stripped = text.rstrip(" ")
    if _URI_UNSAFE.search(stripped) or not stripped.isascii():
        raise _bad("UR", text, "not a URI (no spaces, backslashes or non-ASCII)")
    return stripped


def _parse_pn(text: str) -> str:
    text = text.rstrip(" ")
    if _CONTROL.search(text):
        raise _bad("PN", text, "control characters are not allowed")
    groups = text.split("=")
    if len(groups) > 3:
        raise _bad("PN", text, "more than 3 component groups")
    for group in groups:
        if len(group) > 64:
            raise _bad("PN", text, "a component group is longer than 64 characters")
        if group.count("^") > 4:
            raise _bad("PN", text, "more than 5 name components")
    return text


def _parse_at(text: str) -> int:
    stripped = text.strip()
    match = _AT_HEX.fullmatch(stripped)
    if match:
        return int(match.group(1) + match.group(2), 16)
    try:
        return dictionary.tag(stripped)
    except NotFound:
        raise _bad("AT", text, "not a tag (gggg,eeee), ggggeeee or keyword") from None


def _text_parser(vr: str) -> Callable[[str], Any]:
    maximum = _TEXT_MAX[vr]
    control = _CONTROL_TEXT if vr in ("ST", "LT", "UT") else _CONTROL

    def parse(text: str) -> str:
        text = text.rstrip(" ")  # trailing spaces are padding (PS3.5 6.2)
        if maximum is not None and len(text) > maximum:
            raise _bad(vr, text, f"longer than {maximum} characters")
        if control.search(text):
            raise _bad(vr, text, "control characters are not allowed")
        return text

    return parse


_PARSERS: dict[str, Callable[[str], Any]] = {
    **{vr: _int_parser(vr) for vr in _INT_RANGES},
    "FL": _float_parser("FL"),
    "FD": _float_parser("FD"),
    "DS": _parse_ds,
    "IS": _parse_is,
    "DA": _parse_da,
    "TM": _parse_tm,
    "DT": _parse_dt,
    "UI": _parse_ui,
    "CS": _parse_cs,
    "AE": _parse_ae,
    "AS": _parse_as,
    "UR": _parse_ur,
    "PN": _parse_pn,
    "AT": _parse_at,
    **{vr: _text_parser(vr) for vr in _TEXT_MAX},
}
