"""JPEG → Secondary Capture (spec §5.18.5)."""

from __future__ import annotations

import datetime
import io

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.encaps import generate_frames
from pydicom.uid import (
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    SecondaryCaptureImageStorage,
)

from slicebox_core.dicom.jpeg import jpeg_info, secondary_capture_from_jpeg
from slicebox_core.dicom.render import render_png
from slicebox_core.errors import InvalidInput
from slicebox_core.models import Patient, Study

from .files import data_file

PATIENT = Patient(1, "Doe^Jane", "PID7", "19800202", "F")
STUDY = Study(2, 1, "1.2.826.0.1.3680043.8.498.1", "Study", "20200303", "S9", "ACC9", "040Y")


def _picture(mode: str = "RGB", size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A picture with distinct quadrants so that rendering can be checked."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[..., 0] = np.where(x < width // 2, 220, 30)
    rgb[..., 1] = np.where(y < height // 2, 200, 40)
    rgb[..., 2] = (x * 255 // width).astype(np.uint8)
    return Image.fromarray(rgb).convert(mode)


def _jpeg(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95, **options)
    return out.getvalue()


def _fragment(name: str) -> bytes:
    ds = pydicom.dcmread(data_file(name))
    return next(generate_frames(ds.PixelData, number_of_frames=1))


def _build(jpeg: bytes, description: str | None = "Photo") -> pydicom.Dataset:
    return secondary_capture_from_jpeg(jpeg, patient=PATIENT, study=STUDY, description=description)


def _round_trip(ds: pydicom.Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_rgb_photo_becomes_a_secondary_capture() -> None:
    jpeg = _jpeg(_picture())
    data = _round_trip(_build(jpeg))
    ds = pydicom.dcmread(io.BytesIO(data))
    today = datetime.date.today().strftime("%Y%m%d")
    assert ds.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    assert ds.file_meta.MediaStorageSOPClassUID == SecondaryCaptureImageStorage
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.SOPClassUID == SecondaryCaptureImageStorage
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert (ds.PatientName, ds.PatientID, ds.PatientSex, ds.PatientBirthDate) == (
        "Doe^Jane",
        "PID7",
        "F",
        "19800202",
    )
    assert ds.StudyInstanceUID == STUDY.study_instance_uid
    assert (ds.StudyDate, ds.StudyDescription, ds.StudyID) == ("20200303", "Study", "S9")
    assert (ds.AccessionNumber, ds.PatientAge) == ("ACC9", "040Y")
    assert ds.SeriesDescription == "Photo"
    assert ds.SeriesDate == ds.InstanceCreationDate == today
    assert len(ds.InstanceCreationTime) == 6
    assert (ds.Modality, ds.ConversionType, ds.BurnedInAnnotation) == ("OT", "WSD", "YES")
    assert ds.InstanceNumber == 1
    assert (ds.Rows, ds.Columns, ds.SamplesPerPixel) == (48, 64, 3)
    assert ds.PhotometricInterpretation == "YBR_FULL_422"  # Pillow subsamples by default
    assert ds.PlanarConfiguration == 0
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (8, 8, 7, 0)
    assert ds.LossyImageCompression == "01"
    assert next(generate_frames(ds.PixelData, number_of_frames=1)).startswith(jpeg)


def test_new_uids_each_time() -> None:
    jpeg = _jpeg(_picture())
    first, second = _build(jpeg), _build(jpeg)
    assert first.SOPInstanceUID != second.SOPInstanceUID
    assert first.SeriesInstanceUID != second.SeriesInstanceUID
    assert first.StudyInstanceUID == second.StudyInstanceUID


def test_no_description_gives_an_empty_series_description() -> None:
    assert _build(_jpeg(_picture()), None).SeriesDescription == ""


@pytest.mark.parametrize(("subsampling", "photometric"), [(0, "YBR_FULL"), (1, "YBR_FULL_422")])
def test_subsampling_decides_the_photometric_interpretation(
    subsampling: int, photometric: str
) -> None:
    ds = _build(_jpeg(_picture(), subsampling=subsampling))
    assert ds.PhotometricInterpretation == photometric


@pytest.mark.parametrize("subsampling", [0, 1, 2])
def test_rendered_secondary_capture_matches_the_photo(subsampling: int) -> None:
    picture = _picture()
    jpeg = _jpeg(picture, subsampling=subsampling)
    png = render_png(io.BytesIO(_round_trip(_build(jpeg))))
    rendered = np.asarray(Image.open(io.BytesIO(png))).astype(int)
    expected = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")).astype(int)
    assert rendered.shape == expected.shape == (48, 64, 3)
    assert np.abs(rendered - expected).mean() < 3


def test_grayscale_photo() -> None:
    jpeg = _jpeg(_picture("L", (30, 20)))
    ds = _build(jpeg)
    assert (ds.SamplesPerPixel, ds.PhotometricInterpretation) == (1, "MONOCHROME2")
    assert "PlanarConfiguration" not in ds
    png = render_png(io.BytesIO(_round_trip(ds)), height=40)
    image = Image.open(io.BytesIO(png))
    assert (image.mode, image.size) == ("L", (60, 40))


def test_twelve_bit_extended_jpeg() -> None:
    jpeg = _fragment("JPEG-lossy.dcm")
    assert jpeg_info(jpeg).precision == 12
    ds = _build(jpeg)
    assert ds.file_meta.TransferSyntaxUID == JPEGExtended12Bit
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (16, 12, 11)


@pytest.mark.parametrize(
    ("name", "syntax"),
    [("JPEG-LL.dcm", JPEGLosslessSV1), ("JPGLosslessP14SV1_1s_1f_8b.dcm", JPEGLosslessSV1)],
)
def test_lossless_jpeg(name: str, syntax: str) -> None:
    jpeg = _fragment(name)
    ds = _build(jpeg)
    assert ds.file_meta.TransferSyntaxUID == syntax
    assert "LossyImageCompression" not in ds
    original = pydicom.dcmread(data_file(name))
    assert (ds.Rows, ds.Columns, ds.BitsStored) == (
        original.Rows,
        original.Columns,
        original.BitsStored,
    )
    png = render_png(io.BytesIO(_round_trip(ds)))
    assert Image.open(io.BytesIO(png)).size == (original.Columns, original.Rows)


def test_lossless_with_another_predictor() -> None:
    jpeg = bytearray(_fragment("JPEG-LL.dcm"))
    sos = jpeg.index(b"\xff\xda")
    components = jpeg[sos + 4]
    jpeg[sos + 5 + 2 * components] = 6  # the predictor (selection value)
    assert _build(bytes(jpeg)).file_meta.TransferSyntaxUID == JPEGLossless


def test_adobe_rgb_jpeg_is_rgb() -> None:
    ds = pydicom.dcmread(data_file("SC_jpeg_no_color_transform_2.dcm"))
    jpeg = next(generate_frames(ds.PixelData, number_of_frames=1))
    built = _build(jpeg)
    assert built.PhotometricInterpretation == "RGB"
    png = render_png(io.BytesIO(_round_trip(built)))
    assert png == render_png(data_file("SC_jpeg_no_color_transform_2.dcm"))


def test_fill_bytes_and_app_segments_are_skipped() -> None:
    jpeg = _jpeg(_picture())
    padded = jpeg[:2] + b"\xff\xe1\x00\x06Exif" + b"\xff\xff" + jpeg[2:]
    assert jpeg_info(padded).rows == 48


def test_progressive_jpeg_is_refused() -> None:
    with pytest.raises(InvalidInput, match="progressive"):
        _build(_jpeg(_picture(), progressive=True))


def test_cmyk_jpeg_is_refused() -> None:
    with pytest.raises(InvalidInput, match="4 color components"):
        _build(_jpeg(_picture("CMYK")))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GIF89a....",
        b"\xff\xd8",
        b"\xff\xd8\xff\xd9",  # SOI then EOI: no frame
        b"\xff\xd8\xff\xe0\x00\x10JFIF",  # truncated segment
        b"\xff\xd8\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00",  # scan before frame
        b"\xff\xd8\x00\x00\x00",  # not a marker
        b"\xff\xd8\xff\xc0\x00\x05\x08\x00",  # SOF too short
    ],
)
def test_not_a_jpeg(data: bytes) -> None:
    with pytest.raises(InvalidInput, match="Not a JPEG image"):
        _build(data)


def test_truncated_photo() -> None:
    jpeg = _jpeg(_picture())
    sof = jpeg.index(b"\xff\xc0")
    with pytest.raises(InvalidInput, match="Not a JPEG image"):
        _build(jpeg[: sof + 6])


def test_png_is_not_a_jpeg() -> None:
    out = io.BytesIO()
    _picture().save(out, format="PNG")
    with pytest.raises(InvalidInput, match="Not a JPEG image"):
        _build(out.getvalue())


def test_zero_height_is_refused() -> None:
    jpeg = bytearray(_jpeg(_picture()))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 7] = b"\x00\x00"
    with pytest.raises(InvalidInput, match="size"):
        _build(bytes(jpeg))
