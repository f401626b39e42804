"""Every readable pydicom test file, across transfer syntaxes: anonymizes, re-parses, keeps its
transfer syntax and its pixel data bit for bit, and loses its patient name."""

from __future__ import annotations

import io
import os
import warnings

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_files

from slicebox_core.anonymize import anonymize

from .support import encode, uid_map


def _files() -> list[str]:
    result = []
    for path in sorted(get_testdata_files("*.dcm")):
        if os.path.getsize(path) > 8_000_000:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = dcmread(path)
            except Exception:  # a few files are deliberately broken
                continue
        if "SOPInstanceUID" not in ds:
            continue
        result.append(path)
    return result


FILES = _files()


def test_the_test_files_cover_many_transfer_syntaxes() -> None:
    syntaxes = set()
    for path in FILES:
        meta = dcmread(path, stop_before_pixels=True).file_meta
        syntaxes.add(str(meta.get("TransferSyntaxUID", "")))
    assert len(FILES) > 80
    assert {
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.5",
    } <= syntaxes


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_test_file_anonymizes_losslessly(path: str) -> None:
    ds = dcmread(path)
    out = anonymize(ds, ["BASIC_PROFILE"], uid_map=uid_map, allow_burned_in=True)
    data = encode(out)
    back = dcmread(io.BytesIO(data))
    original_ts = getattr(ds, "file_meta", None) and ds.file_meta.get("TransferSyntaxUID")
    if original_ts:
        assert back.file_meta.TransferSyntaxUID == original_ts
    if "PixelData" in ds:
        assert back.PixelData == ds.PixelData
    assert back.PatientIdentityRemoved == "YES"
    assert back.SOPInstanceUID == uid_map(ds.SOPInstanceUID)
    assert back.file_meta.MediaStorageSOPInstanceUID == back.SOPInstanceUID
    name = str(ds.get("PatientName", "") or "")
    for part in name.replace("=", "^").split("^"):
        if len(part) >= 4:
            assert part.encode() not in data.split(b"\x7f\xe0\x10\x00")[0], part
