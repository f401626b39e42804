"""PNG rendering (spec §5.18.3)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import JPEG2000Lossless

from slicebox_core.dicom.render import MAX_SIDE, render_png
from slicebox_core.errors import InvalidInput, NotRenderable
from tests.factories import make_dataset, to_bytes

from .files import data_file


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(_image(png))


def _file(ds: Dataset) -> io.BytesIO:
    return io.BytesIO(to_bytes(ds))


def _gray(values: np.ndarray, **attributes: Any) -> Dataset:
    """A 16-bit unsigned grayscale dataset holding ``values`` (frames, rows, columns)."""
    frames, rows, columns = values.shape
    ds = make_dataset(rows=rows, columns=columns, **attributes)
    ds.BitsStored = 16
    ds.HighBit = 15
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = values.astype("<u2").tobytes()
    return ds


RAMP = np.array([[[0, 1000], [2000, 3000]]])


def test_ct_small_default_window() -> None:
    image = _image(render_png(data_file("CT_small.dcm")))
    assert (image.mode, image.size) == ("L", (128, 128))
    assert len(set(image.getdata())) > 50


def test_path_and_file_object_give_the_same_png() -> None:
    path = data_file("MR_small.dcm")
    with open(path, "rb") as f:
        assert render_png(f) == render_png(path)


def test_explicit_window_after_rescale() -> None:
    ds = _gray(RAMP, RescaleSlope=1, RescaleIntercept=-1000)
    pixels = _pixels(render_png(_file(ds), window_min=-1000, window_max=1000))
    assert pixels.tolist() == [[0, 128], [255, 255]]


def test_different_windows_give_different_pngs() -> None:
    path = data_file("CT_small.dcm")
    default = render_png(path)
    narrow = render_png(path, window_min=0, window_max=100)
    wide = render_png(path, window_min=-1000, window_max=3000)
    assert len({default, narrow, wide}) == 3


def test_window_min_not_below_max_uses_the_data_window() -> None:
    ds = _gray(RAMP, WindowCenter=2000, WindowWidth=2000)
    from_data = render_png(_file(ds))
    assert _pixels(from_data).tolist() == [[0, 0], [128, 255]]
    assert render_png(_file(ds), window_min=5, window_max=5) == from_data
    assert render_png(_file(ds), window_min=1000, window_max=3000) == from_data


def test_multi_valued_window_uses_the_first() -> None:
    ds = _gray(RAMP, WindowCenter=[2000, 0], WindowWidth=[2000, 10])
    assert _pixels(render_png(_file(ds))).tolist() == [[0, 0], [128, 255]]


def test_without_a_data_window_the_frame_range_is_used() -> None:
    pixels = _pixels(render_png(_file(_gray(RAMP))))
    assert pixels.tolist() == [[0, 85], [170, 255]]


def test_constant_image_renders_black() -> None:
    pixels = _pixels(render_png(_file(_gray(np.full((1, 3, 3), 7)))))
    assert pixels.max() == 0


def test_monochrome1_is_inverted() -> None:
    normal = _pixels(render_png(_file(_gray(RAMP))))
    inverted = _pixels(render_png(_file(_gray(RAMP, PhotometricInterpretation="MONOCHROME1"))))
    assert (inverted == 255 - normal).all()


def test_monochrome1_radiograph() -> None:
    path = data_file("RG1_UNCI.dcm")
    png = render_png(path, height=200)
    assert _image(png).size == (188, 200)
    ds = pydicom.dcmread(path)
    ds.PhotometricInterpretation = "MONOCHROME2"
    as_monochrome2 = _pixels(render_png(_file(ds), height=200))
    assert np.abs(_pixels(png).astype(int) - (255 - as_monochrome2.astype(int))).max() <= 1


def test_signed_pixels() -> None:
    ds = make_dataset(rows=1, columns=3)
    ds.PixelRepresentation = 1
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelData = np.array([-100, 0, 100], dtype="<i2").tobytes()
    assert _pixels(render_png(_file(ds))).tolist() == [[0, 128, 255]]


@pytest.mark.parametrize(("height", "width"), [(400, 400), (64, 64), (128, 128), (1, 1)])
def test_height_scaling_keeps_the_aspect_ratio(height: int, width: int) -> None:
    image = _image(render_png(data_file("CT_small.dcm"), height=height))
    assert image.size == (width, height)


def test_height_scaling_of_a_tall_image() -> None:
    image = _image(render_png(data_file("JPEG2000.dcm"), height=512))
    assert image.size == (128, 512)


@pytest.mark.parametrize("height", [-1, MAX_SIDE + 1])
def test_bad_height(height: int) -> None:
    with pytest.raises(InvalidInput):
        render_png(data_file("CT_small.dcm"), height=height)


def test_too_wide_after_scaling() -> None:
    ds = _gray(np.zeros((1, 1, 40)))
    with pytest.raises(InvalidInput):
        render_png(_file(ds), height=MAX_SIDE // 8)


def test_multi_frame_selection() -> None:
    frames = np.stack([np.full((2, 2), 100 * i) for i in range(5)])
    ds = _gray(frames)
    for frame in range(1, 6):
        png = render_png(_file(ds), frame=frame, window_min=0, window_max=400)
        assert set(_pixels(png).ravel().tolist()) == {round((frame - 1) * 100 * 255 / 400)}


def test_multi_frame_test_file() -> None:
    path = data_file("emri_small.dcm")
    pngs = [render_png(path, frame=n) for n in (1, 5, 10)]
    assert len(set(pngs)) == 3
    expected = pydicom.dcmread(path).pixel_array[4]
    low, high = float(expected.min()), float(expected.max())
    scaled = np.rint((expected - low) * 255 / (high - low)).astype(np.uint8)
    assert (_pixels(pngs[1]) == scaled).all()


@pytest.mark.parametrize("frame", [0, -1, 11])
def test_frame_out_of_range(frame: int) -> None:
    with pytest.raises(InvalidInput):
        render_png(data_file("emri_small.dcm"), frame=frame)


def test_single_frame_has_only_frame_one() -> None:
    with pytest.raises(InvalidInput):
        render_png(data_file("CT_small.dcm"), frame=2)


def test_rescale_from_functional_groups() -> None:
    frames = np.stack([np.full((2, 2), 10), np.full((2, 2), 20)])
    ds = _gray(frames)
    shared = Dataset()
    transformation = Dataset()
    transformation.RescaleSlope = 2
    transformation.RescaleIntercept = 0
    transformation.RescaleType = "US"
    shared.PixelValueTransformationSequence = Sequence([transformation])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    second = Dataset()
    voi = Dataset()
    voi.WindowCenter = 40
    voi.WindowWidth = 20
    second.FrameVOILUTSequence = Sequence([voi])
    ds.PerFrameFunctionalGroupsSequence = Sequence([Dataset(), second])
    first = render_png(_file(ds), frame=1, window_min=0, window_max=40)
    assert set(_pixels(first).ravel().tolist()) == {128}  # 10 * 2 = 20 of 0..40
    assert set(_pixels(render_png(_file(ds), frame=2)).ravel().tolist()) == {128}  # 40 in 30..50


@pytest.mark.parametrize(
    "name", ["SC_rgb.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_ybr_full_422_uncompressed.dcm"]
)
def test_color_images_render_as_rgb(name: str) -> None:
    pixels = _pixels(render_png(data_file(name)))
    assert pixels.shape == (100, 100, 3)
    # SC_rgb: 10-row bands: red, light red, green, light green, blue, ...
    red, green, blue = pixels[5, 50], pixels[25, 50], pixels[45, 50]
    assert red[0] > 200 and red[1] < 40 and red[2] < 40
    assert green[1] > 200 and green[0] < 40
    assert blue[2] > 200 and blue[0] < 40


def test_sixteen_bit_color_is_scaled_down() -> None:
    eight = _pixels(render_png(data_file("SC_rgb.dcm")))
    sixteen = _pixels(render_png(data_file("SC_rgb_16bit.dcm")))
    assert np.abs(eight.astype(int) - sixteen.astype(int)).max() <= 1


def test_palette_color() -> None:
    image = _image(render_png(data_file("examples_palette.dcm"), height=100))
    assert image.mode == "RGB"
    assert image.height == 100
    assert len(set(image.getdata())) > 10


@pytest.mark.parametrize(
    ("compressed", "native"),
    [
        ("MR_small_RLE.dcm", "MR_small.dcm"),
        ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),
        ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
        ("emri_small_jpeg_2k_lossless.dcm", "emri_small.dcm"),
    ],
)
def test_lossless_compression_renders_like_the_native_file(compressed: str, native: str) -> None:
    for frame in (1, 2) if native.startswith("emri") else (1,):
        assert render_png(data_file(compressed), frame=frame) == render_png(
            data_file(native), frame=frame
        )


@pytest.mark.parametrize("name", ["JPEG2000.dcm", "JPEG-LL.dcm", "JPGExtended.dcm"])
def test_compressed_grayscale(name: str) -> None:
    image = _image(render_png(data_file(name)))
    assert image.mode == "L"
    assert image.size == (256, 1024)


def test_deflated_file() -> None:
    image = _image(render_png(data_file("image_dfl.dcm")))
    assert image.size == (512, 512)


def test_big_endian_file() -> None:
    assert render_png(data_file("MR_small_bigendian.dcm")) == render_png(data_file("MR_small.dcm"))


def test_file_object_not_at_position_zero_is_read_from_its_position() -> None:
    data = to_bytes(_gray(RAMP))
    f = io.BytesIO(b"junk" + data)
    f.seek(4)
    assert render_png(f) == render_png(io.BytesIO(data))


def test_no_pixel_data() -> None:
    ds = make_dataset()
    del ds.PixelData
    with pytest.raises(NotRenderable, match="no pixel data"):
        render_png(_file(ds))


def test_corrupt_compressed_pixel_data() -> None:
    ds = make_dataset(transfer_syntax=JPEG2000Lossless)
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\x00garbage" * 10])
    ds["PixelData"].is_undefined_length = True
    ds["PixelData"].VR = "OB"
    with pytest.raises(NotRenderable, match="Cannot decode"):
        render_png(_file(ds))


def test_truncated_native_pixel_data() -> None:
    with pytest.raises(NotRenderable):
        render_png(data_file("MR_truncated.dcm"))


def test_unsupported_codec() -> None:
    with pytest.raises(NotRenderable):
        render_png(data_file("JPEG-lossy.dcm"))  # 12-bit JPEG: no decoder here


@pytest.mark.parametrize("data", [b"", b"definitely not dicom", b"\x00" * 132])
def test_not_dicom(data: bytes) -> None:
    with pytest.raises(NotRenderable):
        render_png(io.BytesIO(data))


def test_missing_image_attributes() -> None:
    ds = make_dataset()
    del ds.Rows
    with pytest.raises(NotRenderable):
        render_png(_file(ds))
