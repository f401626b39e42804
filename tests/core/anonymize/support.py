"""Shared helpers of the anonymization tests."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

from pydicom import config as pydicom_config
from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import validate_value

SECRET = b"test-secret-0123456789abcdef"


def uid_map(value: str) -> str:
    """A deterministic stand-in for the keyed UID map (tests need no database)."""
    value = value.strip(" \x00")
    from slicebox_core.anonymize.pseudonyms import is_well_known_uid, uuid_uid

    if is_well_known_uid(value):
        return value
    return uuid_uid(hashlib.sha256(b"test\x00" + value.encode()).digest())


def encode(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def roundtrip(ds: Dataset) -> Dataset:
    return dcmread(io.BytesIO(encode(ds)))


def walk(ds: Dataset, depth: int = 0) -> Iterator[tuple[DataElement, int]]:
    """Every element at every depth, with its depth."""
    for elem in ds:
        yield elem, depth
        if elem.VR == "SQ":
            for item in elem.value or ():
                yield from walk(item, depth + 1)


_TEXT_VRS = {
    "AE",
    "AS",
    "CS",
    "DA",
    "DS",
    "DT",
    "IS",
    "LO",
    "LT",
    "PN",
    "SH",
    "ST",
    "TM",
    "UC",
    "UI",
    "UR",
    "UT",
}


def assert_vr_valid(ds: Dataset) -> None:
    """Every text value of every element obeys its VR (length, characters, format)."""
    for elem, _ in walk(ds):
        if elem.VR not in _TEXT_VRS or elem.value is None:
            continue
        value = elem.value
        values = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
        for value in values:
            if elem.VR in ("PN", "DS", "IS"):
                value = str(value)
            validate_value(elem.VR, value, pydicom_config.RAISE)
