"""Series types, their rules and rule attributes (spec §3.6, §4.2, §5.7)."""

from __future__ import annotations

import attrs

from .index import SeriesType


@attrs.frozen
class SeriesTypeRule:
    """A conjunction of attributes; a series gets the type when any of its rules matches."""

    id: int
    series_type_id: int


@attrs.frozen
class SeriesTypeRuleAttribute:
    """One condition of a rule: the attribute ``tag`` (inside ``tag_path``) equals ``values``.

    Attributes:
        id: database id (ignored on input).
        series_type_rule_id: the rule it belongs to.
        tag: the DICOM tag number, e.g. 0x00080060 for Modality.
        name: the keyword of ``tag``; an empty name is filled in from the dictionary.
        values: the text the attribute must equal; several values are joined by ``,``.
        tag_path: comma-separated *decimal* tag numbers of enclosing sequences, outermost
            first; item 1 of each is searched (spec §4.2). None = top level.
        name_path: keywords of ``tag_path``, for display only.
    """

    id: int
    series_type_rule_id: int
    tag: int
    name: str
    values: str
    tag_path: str | None = None
    name_path: str | None = None


@attrs.frozen
class SeriesIdSeriesType:
    series_id: int
    series_type: SeriesType


@attrs.frozen
class SeriesIdSeriesTypesResult:
    series_id_series_types: tuple[SeriesIdSeriesType, ...]


@attrs.frozen
class UpdateSeriesTypesRunningStatus:
    """``running`` is true while series are waiting for (re-)evaluation."""

    running: bool


@attrs.frozen
class IdsQuery:
    ids: tuple[int, ...]
