"""Reading and validating DICOM files at ingest (spec §5.1 step 3).

:func:`read_header` parses a spooled file up to Pixel Data, forces every value to decode,
checks that the file is complete (the Pixel Data element fits in the file, encapsulated
fragments end with their delimiter), that the identifying attributes are present, and that
the SOP class / transfer syntax pair is accepted. Every failure is an
:class:`~slicebox_core.errors.InvalidDicom`; nothing else escapes (pydicom raises many types).
"""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path
from typing import Any, BinaryIO

import attrs
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from ..errors import InvalidDicom

# Malformed input is rejected with InvalidDicom; pydicom's per-value warnings are noise here.
warnings.filterwarnings("ignore", module=r"pydicom(\..*)?$")

PIXEL_DATA_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
DEFLATED = "1.2.840.10008.1.2.1.99"
BIG_ENDIAN = "1.2.840.10008.1.2.2"
IMPLICIT = "1.2.840.10008.1.2"
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT",
             b"UV"}  # fmt: skip

# Index columns are limited so that B-tree entries stay small (spec §4.1 truncates names).
PATIENT_NAME_MAX = 180
VALUE_MAX = 512


@attrs.frozen
class IndexValues:
    """The attributes the index keeps (spec §4.1), as raw strings; missing = ""."""

    patient_name: str
    patient_id: str
    patient_birth_date: str
    patient_sex: str
    study_instance_uid: str
    study_description: str
    study_date: str
    study_id: str
    accession_number: str
    patient_age: str
    series_instance_uid: str
    series_description: str
    series_date: str
    modality: str
    protocol_name: str
    body_part_examined: str
    manufacturer: str
    station_name: str
    frame_of_reference_uid: str
    sop_instance_uid: str
    image_type: str
    instance_number: str


@attrs.frozen
class Header:
    """What ingest needs from a file: the parsed header and the values to index."""

    dataset: Dataset
    sop_class_uid: str
    transfer_syntax_uid: str
    values: IndexValues


_KEYWORDS = {
    "patient_name": "PatientName",
    "patient_id": "PatientID",
    "patient_birth_date": "PatientBirthDate",
    "patient_sex": "PatientSex",
    "study_instance_uid": "StudyInstanceUID",
    "study_description": "StudyDescription",
    "study_date": "StudyDate",
    "study_id": "StudyID",
    "accession_number": "AccessionNumber",
    "patient_age": "PatientAge",
    "series_instance_uid": "SeriesInstanceUID",
    "series_description": "SeriesDescription",
    "series_date": "SeriesDate",
    "modality": "Modality",
    "protocol_name": "ProtocolName",
    "body_part_examined": "BodyPartExamined",
    "manufacturer": "Manufacturer",
    "station_name": "StationName",
    "frame_of_reference_uid": "FrameOfReferenceUID",
    "sop_instance_uid": "SOPInstanceUID",
    "image_type": "ImageType",
    "instance_number": "InstanceNumber",
}


def text_value(ds: Dataset, keyword: str) -> str:
    """An attribute as the original indexes it: multi-values joined by backslash, "" if absent."""
    elem = ds.get(keyword)
    if elem is None:
        return ""
    value = ds[keyword].value
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join("" if v is None else str(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return str(value).replace("\x00", "")


def index_values(ds: Dataset) -> IndexValues:
    values = {field: text_value(ds, kw)[:VALUE_MAX] for field, kw in _KEYWORDS.items()}
    values["patient_name"] = values["patient_name"][:PATIENT_NAME_MAX]
    return IndexValues(**values)


def _has_preamble(fp: BinaryIO) -> bool | None:
    """True: preamble + DICM; False: starts with a group-2 element (no preamble); None: neither."""
    head = fp.read(132)
    fp.seek(0)
    if len(head) >= 132 and head[128:132] == b"DICM":
        return True
    if len(head) >= 8 and head[:2] == b"\x02\x00":
        return False
    return None


def _check_pixel_data_complete(fp: BinaryIO, file_size: int, ts: str) -> None:
    """Raise InvalidDicom when the Pixel Data element at ``fp``'s position runs past the end."""
    start = fp.tell()
    header = fp.read(8)
    if len(header) < 8:
        return  # no pixel data element (file ended after the header)
    little = ts != BIG_ENDIAN
    fmt = "<" if little else ">"
    group, elem = struct.unpack(fmt + "HH", header[:4])
    if (group << 16 | elem) not in PIXEL_DATA_TAGS:
        return
    if ts == IMPLICIT:
        (length,) = struct.unpack(fmt + "I", header[4:8])
        value_start = start + 8
    else:
        vr = header[4:6]
        if vr in _LONG_VRS:
            extra = fp.read(4)
            if len(extra) < 4:
                raise InvalidDicom("file ends inside the Pixel Data element header")
            (length,) = struct.unpack(fmt + "I", extra)
            value_start = start + 12
        else:
            (length,) = struct.unpack(fmt + "H", header[6:8])
            value_start = start + 8
    if length != 0xFFFFFFFF:
        if value_start + length > file_size:
            raise InvalidDicom(
                f"file is truncated: Pixel Data needs {length} bytes, "
                f"{max(0, file_size - value_start)} present"
            )
        return
    # encapsulated: items (FFFE,E000) until the sequence delimiter (FFFE,E0DD)
    pos = value_start
    while True:
        fp.seek(pos)
        item = fp.read(8)
        if len(item) < 8:
            raise InvalidDicom("file is truncated inside encapsulated Pixel Data")
        group, elem, item_length = struct.unpack(fmt + "HHI", item)
        tag = group << 16 | elem
        if tag == 0xFFFEE0DD:
            return
        if tag != 0xFFFEE000 or item_length == 0xFFFFFFFF:
            raise InvalidDicom("malformed encapsulated Pixel Data")
        pos += 8 + item_length
        if pos > file_size:
            raise InvalidDicom("file is truncated inside an encapsulated Pixel Data fragment")


def _force_decode(ds: Dataset) -> None:
    """Convert every raw element so malformed values fail here, not later."""

    def visit(dataset: Dataset, elem: Any) -> None:
        _ = elem.value

    ds.walk(visit, recursive=True)


def read_header(
    path: str | os.PathLike[str],
    *,
    sop_classes: frozenset[str] | set[str],
    transfer_syntaxes: frozenset[str] | set[str],
) -> Header:
    """Parse and validate a DICOM file up to its Pixel Data.

    Raises:
        InvalidDicom: not DICOM, truncated, malformed, missing identifying attributes, no file
            meta information, or an SOP class / transfer syntax slicebox does not accept.
    """
    path = Path(path)
    try:
        file_size = path.stat().st_size
        with open(path, "rb") as fp:
            if file_size == 0:
                raise InvalidDicom("empty file")
            preamble = _has_preamble(fp)
            if preamble is None:
                raise InvalidDicom("not a DICOM file (no preamble with DICM, no file meta)")
            ds = dcmread(fp, stop_before_pixels=True, force=not preamble)
            meta = getattr(ds, "file_meta", None)
            if meta is not None:
                _force_decode(meta)
            ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
            if not ts:
                raise InvalidDicom("no file meta information with a transfer syntax")
            if ts != DEFLATED:
                _check_pixel_data_complete(fp, file_size, ts)
        if ts == DEFLATED:
            # the dataset is one deflate stream: parse it whole to find truncation
            full = dcmread(path, force=not preamble, defer_size=1024)
            _force_decode(full)
        _force_decode(ds)
        for keyword in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
            if not text_value(ds, keyword).strip():
                raise InvalidDicom(f"missing {keyword}")
        if "PatientID" not in ds:
            raise InvalidDicom("missing PatientID")
        assert meta is not None
        sop_class = str(meta.get("MediaStorageSOPClassUID", "") or ds.get("SOPClassUID", ""))
        if not sop_class:
            raise InvalidDicom("missing SOP Class UID")
        if sop_class not in sop_classes:
            raise InvalidDicom(f"unsupported SOP class {sop_class[:64]}")
        if ts not in transfer_syntaxes:
            raise InvalidDicom(f"unsupported transfer syntax {ts[:64]}")
        values = index_values(ds)
    except InvalidDicom:
        raise
    except Exception as exc:  # pydicom raises many kinds on malformed input
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InvalidDicom(f"{type(exc).__name__}: {first_line}"[:200]) from None
    return Header(dataset=ds, sop_class_uid=sop_class, transfer_syntax_uid=ts, values=values)
