"""Wrap a JPEG image as a DICOM Secondary Capture instance (spec §5.18.5)."""

from __future__ import annotations

import datetime
import struct

import attrs
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from slicebox_core.errors import InvalidInput
from slicebox_core.models import Patient, Study

__all__ = ["JpegInfo", "jpeg_info", "secondary_capture_from_jpeg"]

_SOI = 0xD8
_EOI = 0xD9
_SOS = 0xDA
_TEM = 0x01
_RST = range(0xD0, 0xD8)
# SOF markers; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PROCESS_NAMES = {
    0xC2: "progressive",
    0xC5: "hierarchical",
    0xC6: "hierarchical",
    0xC7: "hierarchical",
    0xC9: "arithmetic-coded",
    0xCA: "arithmetic-coded",
    0xCB: "arithmetic-coded",
    0xCD: "hierarchical arithmetic-coded",
    0xCE: "hierarchical arithmetic-coded",
    0xCF: "hierarchical arithmetic-coded",
}


@attrs.frozen
class JpegInfo:
    """What the frame header (SOF) and first scan header of a JPEG stream say."""

    sof: int
    """The SOF marker's second byte, 0xC0 (SOF0) to 0xCF (SOF15)."""
    precision: int
    rows: int
    columns: int
    components: int
    sampling: tuple[tuple[int, int], ...]
    """(horizontal, vertical) sampling factors per component."""
    component_ids: tuple[int, ...]
    adobe_transform: int | None = None
    """The APP14 "Adobe" color transform flag (0 = none, i.e. RGB), if present."""
    predictor: int | None = None
    """For lossless (SOF3) streams, the first scan's predictor (selection value)."""


def jpeg_info(jpeg: bytes) -> JpegInfo:
    """Parse the SOF segment (and APP14, first SOS) of a JPEG stream.

    Raises:
        InvalidInput: no SOI marker, no frame header before the first scan, a truncated or
            malformed segment, or a zero dimension (DNL-defined heights are not supported).
    """
    if len(jpeg) < 4 or jpeg[0] != 0xFF or jpeg[1] != _SOI:
        raise InvalidInput("Not a JPEG image: no start-of-image marker")
    offset = 2
    adobe: int | None = None
    frame: tuple[int, bytes] | None = None
    while True:
        # Markers may be preceded by any number of 0xFF fill bytes (ITU T.81 B.1.1.2).
        if offset >= len(jpeg) or jpeg[offset] != 0xFF:
            raise InvalidInput("Not a JPEG image: truncated or malformed marker segments")
        while offset < len(jpeg) and jpeg[offset] == 0xFF:
            offset += 1
        if offset >= len(jpeg):
            raise InvalidInput("Not a JPEG image: truncated")
        marker = jpeg[offset]
        offset += 1
        if marker == _TEM or marker in _RST:
            continue  # stand-alone markers without a length
        if marker in (_EOI, _SOI):
            raise InvalidInput("Not a JPEG image: no frame header")
        if offset + 2 > len(jpeg):
            raise InvalidInput("Not a JPEG image: truncated")
        (length,) = struct.unpack(">H", jpeg[offset : offset + 2])
        if length < 2 or offset + length > len(jpeg):
            raise InvalidInput("Not a JPEG image: truncated or malformed segment")
        body = jpeg[offset + 2 : offset + length]
        offset += length
        if marker == 0xEE and body.startswith(b"Adobe") and len(body) >= 12:
            adobe = body[11]
        elif marker in _SOF:
            if frame is not None:
                raise InvalidInput("Not a JPEG image: more than one frame header")
            frame = (marker, body)
        elif marker == _SOS:
            if frame is None:
                raise InvalidInput("Not a JPEG image: no frame header before the scan")
            return _frame_info(frame[0], frame[1], adobe, body)


def _frame_info(marker: int, body: bytes, adobe: int | None, scan: bytes) -> JpegInfo:
    if len(body) < 6:
        raise InvalidInput("Not a JPEG image: malformed frame header")
    precision, rows, columns, components = struct.unpack(">BHHB", body[:6])
    if components < 1 or len(body) < 6 + 3 * components:
        raise InvalidInput("Not a JPEG image: malformed frame header")
    if rows == 0 or columns == 0:
        raise InvalidInput("Unsupported JPEG image: zero or deferred (DNL) image size")
    ids = tuple(body[6 + 3 * i] for i in range(components))
    sampling = tuple((body[7 + 3 * i] >> 4, body[7 + 3 * i] & 0x0F) for i in range(components))
    predictor = None
    if marker == 0xC3 and len(scan) >= 1 and len(scan) >= 1 + 2 * scan[0] + 1:
        predictor = scan[1 + 2 * scan[0]]  # Ss: the predictor selection value
    return JpegInfo(
        sof=marker,
        precision=precision,
        rows=rows,
        columns=columns,
        components=components,
        sampling=sampling,
        component_ids=ids,
        adobe_transform=adobe,
        predictor=predictor,
    )


def secondary_capture_from_jpeg(
    jpeg: bytes, *, patient: Patient, study: Study, description: str | None
) -> Dataset:
    """Build a Secondary Capture Image Storage instance holding ``jpeg`` as its pixel data.

    The JPEG bytes become a single encapsulated fragment; the transfer syntax follows the JPEG
    process: baseline (SOF0, or 8-bit SOF1) → JPEG Baseline, 12-bit SOF1 → JPEG Extended,
    lossless SOF3 → JPEG Lossless SV1 (or Process 14 for other predictors). Patient and study
    attributes are copied from the models; SeriesDescription is ``description`` or empty;
    Series and SOP Instance UIDs are new; creation and series date/time are now (local time).
    Photometric interpretation: MONOCHROME2 for one component; for three, RGB when the stream
    is lossless or says it has no color transform (Adobe APP14 flag 0, component ids R,G,B),
    otherwise YBR_FULL_422 when the chroma is subsampled, YBR_FULL when not (PS3.5 8.2.1).
    The result has file meta and is ready for ``save_as(..., enforce_file_format=True)``.

    Raises:
        InvalidInput: not a JPEG (message starts "Not a JPEG image"), or a JPEG that DICOM
            cannot carry as is: progressive, hierarchical or arithmetic-coded processes, a
            precision not allowed by the process, or other than 1 or 3 components.
    """
    info = jpeg_info(jpeg)
    transfer_syntax = _transfer_syntax(info)
    if info.components not in (1, 3):
        raise InvalidInput(
            f"Unsupported JPEG image: {info.components} color components (1 or 3 supported)"
        )
    now = datetime.datetime.now()
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    series_uid, sop_uid = generate_uid(), generate_uid()

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.InstanceCreationDate = date
    ds.InstanceCreationTime = time
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = study.study_date
    ds.SeriesDate = date
    ds.ContentDate = date
    ds.StudyTime = ""
    ds.SeriesTime = time
    ds.ContentTime = time
    ds.AccessionNumber = study.accession_number
    ds.Modality = "OT"
    ds.ConversionType = "WSD"  # workstation
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = study.study_description
    ds.SeriesDescription = description or ""
    ds.PatientName = patient.patient_name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.patient_birth_date
    ds.PatientSex = patient.patient_sex
    ds.PatientAge = study.patient_age
    ds.StudyInstanceUID = study.study_instance_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = study.study_id
    ds.SeriesNumber = None
    ds.InstanceNumber = 1
    ds.PatientOrientation = None
    # A photo may show text that identifies the patient: anonymization must not trust it.
    ds.BurnedInAnnotation = "YES"
    ds.SamplesPerPixel = info.components
    ds.PhotometricInterpretation = _photometric(info)
    if info.components > 1:
        ds.PlanarConfiguration = 0
    ds.Rows = info.rows
    ds.Columns = info.columns
    ds.BitsAllocated = 8 if info.precision <= 8 else 16
    ds.BitsStored = info.precision
    ds.HighBit = info.precision - 1
    ds.PixelRepresentation = 0
    if info.sof != 0xC3:
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionMethod = "ISO_10918_1"
    ds.PixelData = encapsulate([jpeg])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    return ds


def _transfer_syntax(info: JpegInfo) -> UID:
    if info.sof in _PROCESS_NAMES:
        raise InvalidInput(
            f"Unsupported JPEG image: {_PROCESS_NAMES[info.sof]} JPEG; "
            "save it as a baseline JPEG and try again"
        )
    if info.sof == 0xC0:
        if info.precision != 8:
            raise InvalidInput(f"Not a JPEG image: baseline with {info.precision}-bit samples")
        return JPEGBaseline8Bit
    if info.sof == 0xC1:
        if info.precision == 8:
            return JPEGBaseline8Bit
        if info.precision == 12:
            return JPEGExtended12Bit
        raise InvalidInput(f"Not a JPEG image: extended with {info.precision}-bit samples")
    # SOF3: lossless, 2-16 bits
    if not 2 <= info.precision <= 16:
        raise InvalidInput(f"Not a JPEG image: lossless with {info.precision}-bit samples")
    return JPEGLosslessSV1 if info.predictor == 1 else JPEGLossless


def _photometric(info: JpegInfo) -> str:
    if info.components == 1:
        return "MONOCHROME2"
    no_transform = (
        info.sof == 0xC3
        or info.adobe_transform == 0
        or info.component_ids == (ord("R"), ord("G"), ord("B"))
    )
    if no_transform:
        return "RGB"
    if len(set(info.sampling)) > 1:
        return "YBR_FULL_422"
    return "YBR_FULL"
