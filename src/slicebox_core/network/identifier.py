"""Q/R identifiers (PS3.4 C.4.1.1.3) <-> ``{keyword: value}`` strings.

Matching and the index only see strings; these helpers are the one place that turns pydicom
datasets into them and back. Responses are encoded in UTF-8 (``ISO_IR 192``), the character
set the index values are decoded to.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydicom import config
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from ..errors import InvalidInput

SKIPPED = {"QueryRetrieveLevel", "SpecificCharacterSet"}
BINARY_VRS = {"US", "SS", "UL", "SL", "FL", "FD", "AT", "UV", "SV"}
TEXT_CHARSET = "ISO_IR 192"


def text(value: object) -> str:
    """A data element value as the index stores it (multi-values joined by backslash)."""
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(text(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return str(value)


def identifier_to_mapping(identifier: Dataset) -> dict[str, str]:
    """The top-level, non-sequence attributes of a request identifier as strings.

    Sequences (sequence matching, C.2.2.2.6) and private attributes are left out.
    """
    out: dict[str, str] = {}
    for elem in identifier:
        if elem.VR == "SQ" or not elem.keyword or elem.keyword in SKIPPED:
            continue
        try:
            out[elem.keyword] = text(elem.value)
        except Exception:  # an undecodable value never constrains the match
            out[elem.keyword] = ""
    return out


def _value(vr: str, value: str) -> object:
    if vr in BINARY_VRS:
        if not value:
            return None
        try:
            return [int(v) for v in value.split("\\")] if "\\" in value else int(value)
        except ValueError:
            return None
    return value


def response_identifier(
    request: Dataset | None,
    values: Mapping[str, str],
    *,
    level: str,
    extra: Mapping[str, str] | None = None,
) -> Dataset:
    """A C-FIND pending response identifier (PS3.4 C.4.1.1.3.2).

    Every non-sequence attribute of ``request`` is answered, from ``values`` or ``extra`` or
    empty when slicebox does not hold it; attributes in ``values`` the request did not ask for
    (the level's unique key) are added.
    """
    ds = Dataset()
    ds.SpecificCharacterSet = TEXT_CHARSET
    ds.QueryRetrieveLevel = level
    extra = extra or {}
    if request is not None:
        for elem in request:
            if elem.VR == "SQ" or elem.keyword in SKIPPED or not elem.keyword:
                continue
            value = values.get(elem.keyword, extra.get(elem.keyword, ""))
            _add(ds, elem.tag, elem.VR, value)
    for keyword, value in values.items():
        if keyword not in ds:
            tag = tag_for_keyword(keyword)
            if tag is not None:
                _add(ds, tag, dictionary_VR(tag), value)
    return ds


def _add(ds: Dataset, tag: int, vr: str, value: str) -> None:
    # Index values were validated at ingest: skip pydicom's per-value validation, which is
    # most of the cost of a C-FIND response with thousands of matches.
    ds[tag] = DataElement(tag, vr, _value(vr, value), validation_mode=config.IGNORE)


def mapping_to_identifier(level: str, attributes: Mapping[str, str]) -> Dataset:
    """A request identifier from ``{keyword: value}`` (empty value = return key).

    Raises:
        InvalidInput: an unknown keyword, or a sequence attribute.
    """
    ds = Dataset()
    ds.SpecificCharacterSet = TEXT_CHARSET
    ds.QueryRetrieveLevel = level
    for keyword, value in attributes.items():
        tag = tag_for_keyword(keyword)
        if tag is None:
            raise InvalidInput(f"unknown DICOM keyword {keyword[:64]!r}")
        vr = dictionary_VR(tag)
        if vr == "SQ":
            raise InvalidInput(f"{keyword} is a sequence; sequence matching is not supported")
        if keyword in SKIPPED:
            continue
        if " or " in vr:  # e.g. "US or SS": a query needs no value for these
            vr = vr.split(" or ")[0]
        ds.add_new(tag, vr, _value(vr, value))
    return ds


def result_mapping(identifier: Dataset) -> dict[str, str]:
    """A C-FIND response identifier as ``{keyword: value}`` (sequences left out)."""
    out: dict[str, str] = {}
    for elem in identifier:
        if elem.VR == "SQ" or not elem.keyword or elem.keyword == "SpecificCharacterSet":
            continue
        try:
            out[elem.keyword] = text(elem.value)
        except Exception:
            out[elem.keyword] = ""
    return out
