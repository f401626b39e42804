"""Render one frame of an image as PNG (spec §5.18.3)."""

from __future__ import annotations

import io
import os
from typing import Any, BinaryIO

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, apply_modality_lut, pixel_array
from pydicom.uid import DeflatedExplicitVRLittleEndian

from slicebox_core.errors import InvalidInput, NotRenderable

__all__ = ["MAX_SIDE", "render_png"]

MAX_SIDE = 16384
"""Largest accepted output height or width in pixels (guards memory)."""


def render_png(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    frame: int = 1,
    window_min: int = 0,
    window_max: int = 0,
    height: int = 0,
) -> bytes:
    """Render ``frame`` (1-based) of a DICOM file as an 8-bit PNG.

    Grayscale: the Modality LUT (Rescale Slope/Intercept, also from functional groups) is
    applied, then a linear window mapping ``center - width/2`` to black and
    ``center + width/2`` to white. With ``window_min < window_max`` the window is
    ``center = (min + max) / 2``, ``width = max - min``; otherwise the data's first
    WindowCenter/WindowWidth, else the frame's own min/max. MONOCHROME1 is inverted.
    Color images (RGB, YBR converted to RGB, PALETTE COLOR through its LUT) become RGB PNGs
    and ignore the window. With ``height > 0`` different from the native height, the image is
    scaled bilinearly to that height keeping the aspect ratio. Only the requested frame is
    decoded, except for deflated files, which are inflated whole.

    Args:
        source: a path, or a binary file object holding the whole file (read from its start).
        frame: 1-based frame number.
        window_min: lower window bound, in modality units (after rescale).
        window_max: upper window bound; the window is used only if above ``window_min``.
        height: output height in pixels; 0 keeps the native size.

    Raises:
        InvalidInput: ``frame`` outside 1..NumberOfFrames, or a negative or too large
            ``height`` (see :data:`MAX_SIDE`).
        NotRenderable: unreadable file, no pixel data, an unsupported or corrupt encoding or
            photometric interpretation.
    """
    if frame < 1:
        raise InvalidInput(f"Frame number must be 1 or more, not {frame}")
    if not 0 <= height <= MAX_SIDE:
        raise InvalidInput(f"Image height must be between 0 and {MAX_SIDE}, not {height}")
    header = _read_header(source)
    frames = _number_of_frames(header)
    if frame > frames:
        raise InvalidInput(f"Frame {frame} does not exist; the image has {frames} frame(s)")
    index = frame - 1
    arr = _decode(source, header, index)
    try:
        picture = _to_8bit(arr, header, index, window_min, window_max)
    except NotRenderable:
        raise
    except Exception as ex:  # odd LUTs or attributes that numpy/pydicom reject
        raise NotRenderable(f"Cannot render the pixel data: {_describe(ex)}") from None
    del arr
    image = Image.fromarray(picture)
    if height and height != image.height:
        width = max(1, round(image.width * height / image.height))
        if width > MAX_SIDE:
            raise InvalidInput(f"Scaled image would be wider than {MAX_SIDE} pixels")
        image = image.resize((width, height), resample=Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _describe(ex: Exception) -> str:
    text = " ".join(str(ex).split())
    return f"{type(ex).__name__}: {text[:300]}" if text else type(ex).__name__


def _read_header(source: str | os.PathLike[str] | BinaryIO) -> Dataset:
    start = source.tell() if hasattr(source, "tell") else None
    try:
        return pydicom.dcmread(source, stop_before_pixels=True)
    except Exception as ex:
        raise NotRenderable(f"Not a readable DICOM file ({type(ex).__name__})") from None
    finally:
        if start is not None and hasattr(source, "seek"):
            source.seek(start)


def _decode(source: str | os.PathLike[str] | BinaryIO, header: Dataset, index: int) -> np.ndarray:
    """Decode one frame; (rows, columns) or (rows, columns, samples), YBR as RGB."""
    src: Any = source
    try:
        if header.file_meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian:
            # pixel_array() cannot read a deflated stream in place: inflate it whole.
            src = pydicom.dcmread(source)
        elif not isinstance(source, str | os.PathLike) and source.tell() != 0:
            src = io.BytesIO(source.read())  # pixel_array() reads from position 0
        arr = pixel_array(src, index=index)
    except AttributeError as ex:
        if "no pixel data" in str(ex).lower():
            raise NotRenderable("The image has no pixel data") from None
        raise NotRenderable(f"Cannot decode the pixel data: {_describe(ex)}") from None
    except Exception as ex:  # codecs raise anything: RuntimeError, ValueError, OSError...
        raise NotRenderable(f"Cannot decode the pixel data: {_describe(ex)}") from None
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise NotRenderable(f"Unexpected pixel array shape {arr.shape}")
    return arr


def _to_8bit(
    arr: np.ndarray, header: Dataset, index: int, window_min: int, window_max: int
) -> np.ndarray:
    photometric = str(header.get("PhotometricInterpretation", "") or "").strip().upper()
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(arr, header)
        return _color_to_8bit(rgb, 8 * rgb.dtype.itemsize)
    if arr.ndim == 3:
        if arr.shape[-1] != 3:
            raise NotRenderable(f"Unsupported photometric interpretation {photometric!r}")
        return _color_to_8bit(arr, _int(header.get("BitsStored"), 8))
    data = _modality(arr, header, index)
    del arr
    if window_min < window_max:
        low, high = float(window_min), float(window_max)
    else:
        low, high = _data_window(data, header, index)
    out = _window(data, low, high)
    if photometric == "MONOCHROME1":
        np.subtract(255, out, out=out)
    return out


def _color_to_8bit(arr: np.ndarray, bits_stored: int) -> np.ndarray:
    if arr.shape[-1] == 4:  # palette LUT with alpha
        arr = arr[..., :3]
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    shift = max(0, min(bits_stored, 16) - 8) if arr.dtype.itemsize <= 2 else 0
    scaled = np.clip(arr.astype(np.int64) >> shift, 0, 255) if shift else np.clip(arr, 0, 255)
    return np.ascontiguousarray(scaled.astype(np.uint8))


def _modality(arr: np.ndarray, header: Dataset, index: int) -> np.ndarray:
    """Apply the Modality LUT; float32 to keep one frame's float copy small."""
    if header.get("ModalityLUTSequence"):
        return np.asarray(apply_modality_lut(arr, header), dtype=np.float32)
    data = arr.astype(np.float32)
    slope = _float(_frame_value(header, index, "PixelValueTransformationSequence", 0x00281053))
    intercept = _float(_frame_value(header, index, "PixelValueTransformationSequence", 0x00281052))
    if slope is not None and slope != 1.0:
        data *= np.float32(slope)
    if intercept:
        data += np.float32(intercept)
    return data


def _data_window(data: np.ndarray, header: Dataset, index: int) -> tuple[float, float]:
    center = _float(_frame_value(header, index, "FrameVOILUTSequence", 0x00281050))
    width = _float(_frame_value(header, index, "FrameVOILUTSequence", 0x00281051))
    if center is not None and width is not None and width > 0:
        return center - width / 2, center + width / 2
    return float(data.min()), float(data.max())


def _window(data: np.ndarray, low: float, high: float) -> np.ndarray:
    if high <= low:
        return np.where(data > low, 255, 0).astype(np.uint8)
    data -= np.float32(low)
    data *= np.float32(255.0 / (high - low))
    np.clip(data, 0, 255, out=data)
    return np.rint(data).astype(np.uint8)


def _frame_value(header: Dataset, index: int, group: str, tag: int) -> Any:
    """A value from the frame's functional group (per-frame, then shared), else top level."""
    for sequence, per_frame in (
        ("PerFrameFunctionalGroupsSequence", True),
        ("SharedFunctionalGroupsSequence", False),
    ):
        try:
            items = header.get(sequence)
            if not items:
                continue
            item = items[index] if per_frame else items[0]
            inner = item.get(group)
            if inner and tag in inner[0]:
                return inner[0][tag].value
        except Exception:  # malformed functional groups: fall through to other sources
            continue
    try:
        return header[tag].value if tag in header else None
    except Exception:
        return None


def _first(value: Any) -> Any:
    if isinstance(value, MultiValue | list | tuple):
        return value[0] if len(value) else None
    return value


def _float(value: Any) -> float | None:
    value = _first(value)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if np.isfinite(number) else None


def _int(value: Any, default: int) -> int:
    number = _float(value)
    return int(number) if number is not None else default


def _number_of_frames(header: Dataset) -> int:
    try:
        frames = _int(header.get("NumberOfFrames"), 1)
    except Exception:
        return 1
    return frames if frames >= 1 else 1
