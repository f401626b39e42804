"""Frame count, frame index and pixel value range of an image (spec §5.18.2)."""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from slicebox_core.models import ImageInformation

__all__ = ["image_information"]


def image_information(ds: Dataset) -> ImageInformation:
    """Return the image information of ``ds``; missing or unreadable values get defaults.

    ``number_of_frames`` is NumberOfFrames (default 1, also for values below 1), ``frame_index``
    the larger of InstanceNumber and ImageIndex (each default 1), the pixel values
    SmallestImagePixelValue and LargestImagePixelValue (default 0).
    """
    frames = _int(ds, 0x00280008, 1)  # NumberOfFrames
    return ImageInformation(
        number_of_frames=frames if frames >= 1 else 1,
        frame_index=max(_int(ds, 0x00200013, 1), _int(ds, 0x00541330, 1)),
        minimum_pixel_value=_int(ds, 0x00280106, 0),
        maximum_pixel_value=_int(ds, 0x00280107, 0),
    )


def _int(ds: Dataset, tag: int, default: int) -> int:
    """The first value of ``tag`` as an int, or ``default`` when absent or garbage."""
    try:
        value: Any = ds[tag].value
    except Exception:  # absent, or a raw value pydicom cannot convert
        return default
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    if isinstance(value, bytes | bytearray):
        # "US or SS" left unresolved (implicit VR without PixelRepresentation)
        if len(value) < 2:
            return default
        signed = _int(ds, 0x00280103, 0) == 1  # PixelRepresentation
        return int.from_bytes(value[:2], "little", signed=signed)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    if number != number or number in (float("inf"), float("-inf")):
        return default
    return int(number)
