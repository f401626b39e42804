"""The DICOM index: Patient -> Study -> Series -> Image (spec §4.1) and series properties."""

from __future__ import annotations

import enum

import attrs

from ._fields import dpv, named


class SourceType(enum.StrEnum):
    """Where an image came from (spec §2.4)."""

    USER = "user"
    BOX = "box"
    DIRECTORY = "directory"
    SCP = "scp"
    IMPORT = "import"
    UNKNOWN = "unknown"


@attrs.frozen
class Source:
    """A source with its display name (``{sourceType, sourceName, sourceId}``)."""

    source_type: SourceType
    source_name: str
    source_id: int


@attrs.frozen
class SourceRef:
    """A source without its name (``{sourceType, sourceId}``)."""

    source_type: SourceType
    source_id: int


@attrs.frozen
class Destination:
    """Where images can be sent (``{destinationType, destinationName, destinationId}``)."""

    destination_type: str
    destination_name: str
    destination_id: int


@attrs.frozen
class Patient:
    id: int
    patient_name: str = dpv()
    patient_id: str = dpv("patientID")
    patient_birth_date: str = dpv()
    patient_sex: str = dpv()


@attrs.frozen
class Study:
    id: int
    patient_id: int = named("patientId")
    study_instance_uid: str = dpv("studyInstanceUID")
    study_description: str = dpv()
    study_date: str = dpv()
    study_id: str = dpv("studyID")
    accession_number: str = dpv()
    patient_age: str = dpv()


@attrs.frozen
class Series:
    id: int
    study_id: int = named("studyId")
    series_instance_uid: str = dpv("seriesInstanceUID")
    series_description: str = dpv()
    series_date: str = dpv()
    modality: str = dpv()
    protocol_name: str = dpv()
    body_part_examined: str = dpv()
    manufacturer: str = dpv()
    station_name: str = dpv()
    frame_of_reference_uid: str = dpv("frameOfReferenceUID")


@attrs.frozen
class Image:
    id: int
    series_id: int = named("seriesId")
    sop_instance_uid: str = dpv("sopInstanceUID")
    image_type: str = dpv()
    instance_number: str = dpv()


@attrs.frozen
class FlatSeries:
    """A series with its study and patient (a join, keyed by the series id)."""

    id: int
    patient: Patient
    study: Study
    series: Series


@attrs.frozen
class SeriesTag:
    id: int
    name: str


@attrs.frozen
class SeriesType:
    id: int
    name: str


@attrs.frozen
class IngestResult:
    """What ingest did: the stored image and whether it replaced an existing instance."""

    image: Image
    overwrite: bool
    patient_added: bool = False
    study_added: bool = False
    series_added: bool = False
