"""Image information (spec §5.18.2)."""

from __future__ import annotations

import io

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from slicebox_core.dicom.information import image_information
from slicebox_core.models import ImageInformation
from tests.factories import make_dataset, to_bytes

from .files import data_file


def test_defaults() -> None:
    assert image_information(Dataset()) == ImageInformation(1, 1, 0, 0)


def test_factory_dataset_has_instance_number_only() -> None:
    assert image_information(make_dataset(InstanceNumber=7)) == ImageInformation(1, 7, 0, 0)


def test_values_from_a_written_file() -> None:
    ds = make_dataset(
        InstanceNumber=3,
        ImageIndex=5,
        NumberOfFrames=4,
        SmallestImagePixelValue=10,
        LargestImagePixelValue=4000,
    )
    ds["SmallestImagePixelValue"].VR = "US"
    ds["LargestImagePixelValue"].VR = "US"
    read = pydicom.dcmread(io.BytesIO(to_bytes(ds)))
    assert image_information(read) == ImageInformation(4, 5, 10, 4000)


def test_frame_index_is_the_larger_of_instance_number_and_image_index() -> None:
    assert image_information(make_dataset(InstanceNumber=9, ImageIndex=2)).frame_index == 9


def test_pydicom_test_files() -> None:
    ct = pydicom.dcmread(data_file("CT_small.dcm"))
    info = image_information(ct)
    assert info.number_of_frames == 1
    assert info.frame_index == int(ct.InstanceNumber)
    multi = pydicom.dcmread(data_file("emri_small.dcm"), stop_before_pixels=True)
    assert image_information(multi).number_of_frames == 10
    rgb = pydicom.dcmread(data_file("SC_rgb.dcm"))
    assert (rgb.SmallestImagePixelValue, rgb.LargestImagePixelValue) == (0, 255)
    assert image_information(rgb).maximum_pixel_value == 255


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("frames", ["", "abc", "0", "-3", "1e400"])
def test_garbage_number_of_frames_gives_one(frames: str) -> None:
    ds = Dataset()
    ds[0x00280008] = RawDataElement(
        Tag(0x00280008), "IS", len(frames), frames.encode(), 0, False, True
    )
    assert image_information(ds).number_of_frames == 1


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_garbage_values_fall_back_to_defaults() -> None:
    ds = Dataset()
    ds[0x00200013] = RawDataElement(Tag(0x00200013), "IS", 4, b"x\\y ", 0, False, True)
    ds[0x00280106] = RawDataElement(Tag(0x00280106), "US", 1, b"\x01", 0, False, True)
    assert image_information(ds) == ImageInformation(1, 1, 0, 0)


def test_multi_valued_number_uses_the_first() -> None:
    ds = Dataset()
    ds.InstanceNumber = ["4", "8"]
    assert image_information(ds).frame_index == 4


def test_signed_smallest_pixel_value_from_implicit_vr() -> None:
    ds = Dataset()
    ds.PixelRepresentation = 1
    ds[0x00280106] = RawDataElement(Tag(0x00280106), None, 2, b"\xf6\xff", 0, True, True)
    assert image_information(ds).minimum_pixel_value == -10
