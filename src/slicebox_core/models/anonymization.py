"""Anonymization profiles, per-image tag values and anonymization keys (spec §3.7, §4.4, §5.4).

:class:`ConfidentialityOption` is a value class, not an enum, so that the wire shows it as the
spec's object ``{name, title, description, rank}`` while Python code still writes
``ConfidentialityOption.RETAIN_UIDS``. On input only ``name`` is read (spec §2.4): whatever
title/description/rank a client sends, the option is replaced by the canonical one, and an
unknown name is an error.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, ClassVar

import attrs

from ._fields import named
from .dicom import TagPath
from .query import QueryOrder, QueryProperty

_OPTION_NAMES = frozenset(
    {
        "BASIC_PROFILE",
        "CLEAN_PIXEL_DATA",
        "CLEAN_RECOGNIZABLE_VISUAL_FEATURES",
        "CLEAN_GRAPHICS",
        "CLEAN_STRUCTURED_CONTENT",
        "CLEAN_DESCRIPTORS",
        "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION",
        "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES",
        "RETAIN_PATIENT_CHARACTERISTICS",
        "RETAIN_DEVICE_IDENTITY",
        "RETAIN_INSTITUTION_IDENTITY",
        "RETAIN_UIDS",
        "RETAIN_SAFE_PRIVATE",
    }
)


def _known_option(_: Any, __: Any, name: str) -> None:
    if name not in _OPTION_NAMES:
        raise ValueError(f"unknown confidentiality option {name!r}")


@attrs.frozen
class ConfidentialityOption:
    """One option of the PS3.15 Application Level Confidentiality Profile (spec §4.4).

    Use the class constants (``ConfidentialityOption.BASIC_PROFILE`` ...) or
    :meth:`by_name`; instances structured from JSON are canonical too.
    """

    name: str = attrs.field(validator=_known_option)
    title: str = ""
    description: str = ""
    rank: int = 0

    BASIC_PROFILE: ClassVar[ConfidentialityOption]
    CLEAN_PIXEL_DATA: ClassVar[ConfidentialityOption]
    CLEAN_RECOGNIZABLE_VISUAL_FEATURES: ClassVar[ConfidentialityOption]
    CLEAN_GRAPHICS: ClassVar[ConfidentialityOption]
    CLEAN_STRUCTURED_CONTENT: ClassVar[ConfidentialityOption]
    CLEAN_DESCRIPTORS: ClassVar[ConfidentialityOption]
    RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION: ClassVar[ConfidentialityOption]
    RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES: ClassVar[ConfidentialityOption]
    RETAIN_PATIENT_CHARACTERISTICS: ClassVar[ConfidentialityOption]
    RETAIN_DEVICE_IDENTITY: ClassVar[ConfidentialityOption]
    RETAIN_INSTITUTION_IDENTITY: ClassVar[ConfidentialityOption]
    RETAIN_UIDS: ClassVar[ConfidentialityOption]
    RETAIN_SAFE_PRIVATE: ClassVar[ConfidentialityOption]

    @property
    def supported(self) -> bool:
        """True if slicebox's engine implements this option (not part of the wire shape)."""
        from ..anonymize.profile import SUPPORTED  # the engine's fact; no pydicom import

        return self.name in SUPPORTED

    @classmethod
    def all(cls) -> tuple[ConfidentialityOption, ...]:
        """Every option of spec §4.4, ordered by rank (supported or not)."""
        return _ALL

    @classmethod
    def by_name(cls, name: str) -> ConfidentialityOption:
        """The canonical option called ``name``.

        Raises:
            ValueError: an unknown name (the wire turns it into InvalidInput).
        """
        try:
            return _BY_NAME[name]
        except KeyError:
            raise ValueError(f"unknown confidentiality option {name!r}") from None


_ALL: tuple[ConfidentialityOption, ...] = (
    ConfidentialityOption("BASIC_PROFILE", "Basic Profile", "Basic Profile", 10),
    ConfidentialityOption("CLEAN_PIXEL_DATA", "Clean Pixel Data", "Clean Pixel Data", 20),
    ConfidentialityOption(
        "CLEAN_RECOGNIZABLE_VISUAL_FEATURES",
        "Clean Visual Features",
        "Clean Recognizable Visual Features",
        30,
    ),
    ConfidentialityOption("CLEAN_GRAPHICS", "Clean Graphics", "Clean Graphics", 40),
    ConfidentialityOption(
        "CLEAN_STRUCTURED_CONTENT", "Clean Structured Content", "Clean Structured Content", 50
    ),
    ConfidentialityOption("CLEAN_DESCRIPTORS", "Clean Descriptors", "Clean Descriptors", 60),
    ConfidentialityOption(
        "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION",
        "Retain Temporal Info",
        "Retain Longitudinal Temporal Information",
        70,
    ),
    ConfidentialityOption(
        "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES",
        "Retain Modified Temporal Info",
        "Retain Longitudinal Temporal Information with Modified Dates",
        80,
    ),
    ConfidentialityOption(
        "RETAIN_PATIENT_CHARACTERISTICS",
        "Retain Patient Characteristics",
        "Retain Patient Characteristics",
        90,
    ),
    ConfidentialityOption(
        "RETAIN_DEVICE_IDENTITY", "Retain Device Identity", "Retain Device Identity", 100
    ),
    ConfidentialityOption(
        "RETAIN_INSTITUTION_IDENTITY",
        "Retain Institution Identity",
        "Retain Institution Identity",
        110,
    ),
    ConfidentialityOption("RETAIN_UIDS", "Retain UIDs", "Retain UIDs", 120),
    ConfidentialityOption(
        "RETAIN_SAFE_PRIVATE",
        "Retain Safe Private Attributes",
        "Retain Safe Private Attributes",
        130,
    ),
)
_BY_NAME = {option.name: option for option in _ALL}
for _option in _ALL:
    setattr(ConfidentialityOption, _option.name, _option)


def _canonical_options(values: Iterable[Any]) -> tuple[ConfidentialityOption, ...]:
    """Canonical options, without duplicates, in rank order (spec §2.4: only ``name`` counts)."""
    if isinstance(values, str | ConfidentialityOption):
        values = [values]
    found: dict[str, ConfidentialityOption] = {}
    for value in values:
        name = value.name if isinstance(value, ConfidentialityOption) else value
        if not isinstance(name, str):
            raise ValueError(f"a confidentiality option is named by a string, got {name!r}")
        option = ConfidentialityOption.by_name(name)
        found[option.name] = option
    return tuple(sorted(found.values(), key=lambda o: o.rank))


@attrs.frozen
class AnonymizationProfile:
    """A list of confidentiality options (spec §5.4.1). ``{"options": [...]}`` on the wire.

    Options may be given as :class:`ConfidentialityOption` or as names; they are kept in rank
    order without duplicates.
    """

    options: tuple[ConfidentialityOption, ...] = attrs.field(
        default=(), converter=_canonical_options
    )

    @classmethod
    def of(cls, *options: ConfidentialityOption | str) -> AnonymizationProfile:
        """``AnonymizationProfile.of("BASIC_PROFILE", ConfidentialityOption.RETAIN_UIDS)``."""
        return cls(options)

    @classmethod
    def basic(cls) -> AnonymizationProfile:
        """The Basic Application Level Confidentiality Profile without options."""
        return cls((ConfidentialityOption.BASIC_PROFILE,))

    def with_basic(self) -> AnonymizationProfile:
        """This profile with BASIC_PROFILE added if absent (spec §5.4.1, box sends)."""
        return AnonymizationProfile((ConfidentialityOption.BASIC_PROFILE, *self.options))

    @property
    def names(self) -> frozenset[str]:
        return frozenset(option.name for option in self.options)


@attrs.frozen
class TagValue:
    """A value to set in the anonymized output at ``tag_path`` (spec §5.4.4)."""

    tag_path: TagPath
    value: str


@attrs.frozen
class AnonymizationData:
    """Body of ``PUT /images/{id}/anonymize`` and ``POST /images/{id}/anonymized``.

    ``allow_burned_in_annotations`` (``allowBurnedInAnnotations``, an addition to the
    original's shape, left out of the JSON when unset) lets images that may show identifying
    text in their pixels (BurnedInAnnotation YES, any Secondary Capture) be anonymized;
    absent or false, they are refused, since slicebox does not clean pixel data.
    """

    profile: AnonymizationProfile
    tag_values: tuple[TagValue, ...]
    allow_burned_in_annotations: bool | None = None


@attrs.frozen
class ImageTagValues:
    image_id: int
    tag_values: tuple[TagValue, ...]


@attrs.frozen
class BulkAnonymizationData:
    """Body of ``POST /anonymization/anonymize`` (spec §3.7).

    ``allow_burned_in_annotations``: as in :class:`AnonymizationData`.
    """

    profile: AnonymizationProfile
    image_tag_values_set: tuple[ImageTagValues, ...]
    allow_burned_in_annotations: bool | None = None


class KeyLevel(enum.StrEnum):
    """Hierarchy level of a key attribute (spec §5.4.5), ordered PATIENT < ... < IMAGE."""

    PATIENT = "PATIENT"
    STUDY = "STUDY"
    SERIES = "SERIES"
    IMAGE = "IMAGE"

    @property
    def depth(self) -> int:
        return _LEVEL_DEPTH[self.value]


_LEVEL_DEPTH = {"PATIENT": 0, "STUDY": 1, "SERIES": 2, "IMAGE": 3}


@attrs.frozen
class AnonymizationKey:
    """One recorded anonymization of one image (spec §4.4); ``created`` in epoch ms.

    ``date_shift_days`` is the per-patient date shift used by the Retain Longitudinal Temporal
    Information with Modified Dates option (absent on the wire when not used).
    """

    id: int
    created: int
    image_id: int
    patient_name: str
    anon_patient_name: str
    patient_id: str = named("patientID")
    anon_patient_id: str = named("anonPatientID")
    study_instance_uid: str = named("studyInstanceUID")
    anon_study_instance_uid: str = named("anonStudyInstanceUID")
    series_instance_uid: str = named("seriesInstanceUID")
    anon_series_instance_uid: str = named("anonSeriesInstanceUID")
    sop_instance_uid: str = named("sopInstanceUID")
    anon_sop_instance_uid: str = named("anonSOPInstanceUID")
    date_shift_days: int | None = None


@attrs.frozen
class AnonymizationKeyValue:
    """An extra key attribute of a key: real and anonymized value at ``tag_path``."""

    id: int
    anonymization_key_id: int
    tag_path: TagPath
    value: str
    anonymized_value: str


@attrs.frozen
class AnonymizationKeyQuery:
    """Body of ``POST /anonymization/keys/query``: AND-ed properties over the key table."""

    start_index: int
    count: int
    query_properties: tuple[QueryProperty, ...] = ()
    order: QueryOrder | None = None
