"""Domain values shared by core, server and client: frozen attrs classes, no SQL, no pydicom.

Field names are Python's; the JSON name of a field is its camelCase form unless the field's
metadata says otherwise (``wire`` key), and ``dpv=True`` marks DICOM-derived strings that the
wire wraps as ``{"value": ...}`` (spec §2, DPV). :mod:`slicebox_core.wire` reads both.
"""

from .dicom import (
    ImageAttribute,
    ImageInformation,
    TagMapping,
    TagPath,
    TagPathStep,
)
from .index import (
    Destination,
    FlatSeries,
    Image,
    IngestResult,
    Patient,
    Series,
    SeriesTag,
    SeriesType,
    Source,
    SourceRef,
    SourceType,
    Study,
)
from .query import (
    ListQuery,
    Query,
    QueryFilters,
    QueryOperator,
    QueryOrder,
    QueryProperty,
)
from .system import (
    ApiUser,
    ClearTextUser,
    DicomDictionaryKeyword,
    DicomDictionaryKeywords,
    DicomDictionaryTag,
    DicomValueRepresentation,
    ExportSetId,
    LogEntry,
    LogEntryType,
    Multiplicity,
    Role,
    SystemInformation,
    UserInfo,
)

__all__ = [
    "ApiUser",
    "ClearTextUser",
    "Destination",
    "DicomDictionaryKeyword",
    "DicomDictionaryKeywords",
    "DicomDictionaryTag",
    "DicomValueRepresentation",
    "ExportSetId",
    "FlatSeries",
    "Image",
    "ImageAttribute",
    "ImageInformation",
    "IngestResult",
    "ListQuery",
    "LogEntry",
    "LogEntryType",
    "Multiplicity",
    "Patient",
    "Query",
    "QueryFilters",
    "QueryOperator",
    "QueryOrder",
    "QueryProperty",
    "Role",
    "Series",
    "SeriesTag",
    "SeriesType",
    "Source",
    "SourceRef",
    "SourceType",
    "Study",
    "SystemInformation",
    "TagMapping",
    "TagPath",
    "TagPathStep",
    "UserInfo",
]
