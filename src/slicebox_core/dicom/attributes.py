"""Flat listing of every attribute of an image, nested items included (spec §5.18.1)."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import Any, BinaryIO

import pydicom
from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.multival import MultiValue
from pydicom.uid import UID

from slicebox_core.errors import InvalidDicom
from slicebox_core.models import ImageAttribute, TagPath, TagPathStep

__all__ = ["list_attributes"]

BINARY_DATA = "< Binary data >"
FRAGMENTS = "< Fragments >"
UNREADABLE = "< Unreadable value >"

# Binary values up to this many bytes are shown; longer ones are summarized (spec §5.18.1).
_MAX_SHOWN_BINARY = 20
_BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN", "OB or OW", "US or OW"})
_NUMERIC_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "AT", "US or SS"})
_PIXEL_DATA_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
# (unit size, struct code, as hex) per binary VR; anything else is shown byte by byte.
_BINARY_UNITS: dict[str, tuple[int, str, bool]] = {
    "OW": (2, "H", True),
    "OL": (4, "L", False),
    "OV": (8, "Q", False),
    "OF": (4, "f", False),
    "OD": (8, "d", False),
}


def list_attributes(source: str | os.PathLike[str] | BinaryIO | Dataset) -> list[ImageAttribute]:
    """List the attributes of a DICOM file or dataset, file meta first, in file order.

    Reads up to (not including) Pixel Data; for a dataset, top-level (Float/Double Float)
    Pixel Data and anything after it are left out the same way. Items of sequences are
    flattened: an element inside item ``i`` has a tag path through that item (1-based).
    Values are decoded with the dataset's character set; multi-valued elements give several
    strings, sequences and empty elements none. Binary values longer than 20 bytes are
    ``"< Binary data >"``; encapsulated pixel data (e.g. in an icon item) is ``"< Fragments >"``
    with length -1. ``length`` is the value's byte length as encoded (even, padded); -1 for
    sequences and undefined lengths. A value pydicom cannot decode is shown from its raw bytes,
    so odd data never makes the listing fail.

    Args:
        source: a path, a binary file object positioned at the start of the file, or a dataset.

    Raises:
        InvalidDicom: ``source`` is not a readable DICOM file.
    """
    if isinstance(source, Dataset):
        ds = source
    else:
        try:
            ds = pydicom.dcmread(source, stop_before_pixels=True)
        except Exception as ex:  # pydicom raises many types for truncated or foreign data
            raise InvalidDicom(f"cannot read the file ({type(ex).__name__})") from None
    little_endian = ds.original_encoding[1] is not False
    walker = _Walker(little_endian=little_endian, encapsulated=_is_encapsulated(ds))
    attributes: list[ImageAttribute] = []
    meta = getattr(ds, "file_meta", None)
    if isinstance(meta, Dataset):
        attributes.extend(walker.walk(meta, (), (), top_level=False, charset=None))
    attributes.extend(walker.walk(ds, (), (), top_level=True, charset=None))
    return attributes


def _is_encapsulated(ds: Dataset) -> bool:
    try:
        value = ds.file_meta.TransferSyntaxUID
        return isinstance(value, UID) and value.is_encapsulated
    except Exception:  # no file meta, or a UID that is not a transfer syntax
        return False


class _Walker:
    """Walks a dataset depth first, producing one attribute per element."""

    def __init__(self, *, little_endian: bool, encapsulated: bool) -> None:
        self._little_endian = little_endian
        self._encapsulated = encapsulated

    def walk(
        self,
        ds: Dataset,
        steps: tuple[TagPathStep, ...],
        names: tuple[str, ...],
        *,
        top_level: bool,
        charset: str | list[str] | None,
    ) -> Iterator[ImageAttribute]:
        charset = _charset(ds) or charset
        for tag in sorted(ds.keys()):
            if top_level and tag in _PIXEL_DATA_TAGS:
                break  # like stop_before_pixels: nothing after Pixel Data either
            raw = ds.get_item(tag, keep_deferred=True)
            try:
                elem = ds[tag]
            except Exception:  # a value pydicom cannot convert: show the raw bytes instead
                elem = None
            name = _keyword(tag)
            path = (*steps, TagPathStep(int(tag)))
            if elem is None:
                yield self._raw_attribute(raw, path, (*names, name))
                continue
            vr = str(elem.VR)
            if vr == "SQ":
                yield ImageAttribute(TagPath(path), (*names, name), "SQ", -1, ())
                items = elem.value or ()
                for index, item in enumerate(items, start=1):
                    if isinstance(item, Dataset):
                        item_steps = (*steps, TagPathStep(int(tag), index))
                        yield from self.walk(
                            item, item_steps, (*names, name), top_level=False, charset=charset
                        )
                continue
            yield self._attribute(elem, raw, path, (*names, name), charset)

    def _attribute(
        self,
        elem: DataElement,
        raw: DataElement | RawDataElement,
        path: tuple[TagPathStep, ...],
        names: tuple[str, ...],
        charset: str | list[str] | None,
    ) -> ImageAttribute:
        vr = str(elem.VR)
        if elem.tag == 0x7FE00010 and (elem.is_undefined_length or self._encapsulated):
            return ImageAttribute(TagPath(path), names, vr, -1, (FRAGMENTS,))
        if isinstance(raw, RawDataElement):
            length = -1 if raw.length == 0xFFFFFFFF else int(raw.length)
        else:
            length = _encoded_length(elem, charset)
        try:
            values = self._values(vr, elem.value)
        except Exception:
            values = (UNREADABLE,)
        return ImageAttribute(TagPath(path), names, vr, length, values)

    def _raw_attribute(
        self,
        raw: DataElement | RawDataElement,
        path: tuple[TagPathStep, ...],
        names: tuple[str, ...],
    ) -> ImageAttribute:
        vr = str(raw.VR or "UN")
        value = raw.value
        if isinstance(raw, RawDataElement):
            length = -1 if raw.length == 0xFFFFFFFF else int(raw.length)
        else:
            length = -1
        if not isinstance(value, bytes | bytearray):
            return ImageAttribute(TagPath(path), names, vr, length, (UNREADABLE,))
        if vr in _BINARY_VRS or vr in _NUMERIC_VRS or len(value) > 1024:
            values = self._binary("UN", bytes(value))
        else:
            text = bytes(value).decode("latin-1").rstrip(" \x00")
            values = tuple(text.split("\\")) if text else ()
        return ImageAttribute(TagPath(path), names, vr, length, values)

    def _values(self, vr: str, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, bytes | bytearray):
            if vr in _BINARY_VRS or vr == "US or SS" or vr == "US or SS or OW":
                return self._binary(vr, bytes(value))
            return (bytes(value).decode("latin-1"),) if value else ()
        if vr in _BINARY_VRS and not isinstance(value, list | tuple | MultiValue):
            return (BINARY_DATA,)  # a buffered (file-like) value
        if isinstance(value, list | tuple | MultiValue):
            return tuple(_text(v) for v in value)
        text = _text(value)
        return (text,) if text != "" else ()

    def _binary(self, vr: str, value: bytes) -> tuple[str, ...]:
        if len(value) > _MAX_SHOWN_BINARY:
            return (BINARY_DATA,)
        size, code, as_hex = _BINARY_UNITS.get(vr, (1, "B", True))
        if len(value) % size:
            size, code, as_hex = 1, "B", True
        order = "<" if self._little_endian else ">"
        numbers = struct.unpack(f"{order}{len(value) // size}{code}", value)
        if as_hex:
            return tuple(f"{n:0{size * 2}X}" for n in numbers)
        return tuple(str(n) for n in numbers)


def _keyword(tag: int) -> str:
    try:
        return keyword_for_tag(tag) or ""
    except Exception:
        return ""


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    return str(value)


def _charset(ds: Dataset) -> str | list[str] | None:
    """The SpecificCharacterSet of ``ds`` itself (not inherited), if readable."""
    try:
        value = ds[0x00080005].value
    except Exception:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, list | MultiValue) and all(isinstance(v, str) for v in value):
        return list(value) or None
    return None


def _encoded_length(elem: DataElement, charset: str | list[str] | None) -> int:
    """The padded byte length of ``elem``'s value as pydicom writes it, or -1."""
    if elem.is_undefined_length:
        return -1
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = True  # implicit: no VR checks, 8-byte header
    try:
        write_data_element(buffer, elem, encodings=charset)
    except Exception:
        return -1
    return buffer.tell() - 8
