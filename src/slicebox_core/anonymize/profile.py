"""PS3.15 Annex E Table E.1-1 as data, and the action each attribute gets under a profile.

The table is the bundled ``ps315_annex_e.json`` (PS3.15 2023b, 608 rows; see the data README):
for each attribute (or tag pattern) the action code of the Basic Profile and of every option
column. Nothing here re-types the table; this module only decides which column wins.

Resolution (spec §5.4.1, PS3.15 E.3): the Basic Profile is always applied (the options are
defined as modifications of it); among the profile's options whose column defines an action
for the tag, the option of highest rank wins, else the Basic Profile code stands. The patterns
``(50xx,xxxx)`` (curves), ``(60xx,3000)`` and ``(60xx,4000)`` (overlays) apply when no exact
row exists; the private-attribute pattern ``(gggg,eeee)`` is handled by
:mod:`slicebox_core.anonymize.safe_private`.

Options offered (``supported``) are those the engine implements honestly; the others are
rejected with :class:`~slicebox_core.errors.InvalidInput` rather than silently ignored:

* Clean Pixel Data, Clean Recognizable Visual Features, Clean Graphics: need pixel/graphics
  analysis slicebox does not do.
* Clean Descriptors: "cleaning" free text (descriptions, comments) so that useful content is
  kept but identifying content removed cannot be done reliably without review; the Basic
  Profile removes those attributes instead.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

import attrs

from ..errors import InvalidInput
from ..models.anonymization import AnonymizationProfile, ConfidentialityOption

#: option name -> column of ps315_annex_e.json (PS3.15 Table E.1-1)
COLUMNS: Mapping[str, str] = {
    "BASIC_PROFILE": "basic",
    "CLEAN_GRAPHICS": "clean_graphics",
    "CLEAN_STRUCTURED_CONTENT": "clean_structured_content",
    "CLEAN_DESCRIPTORS": "clean_descriptors",
    "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION": "retain_longitudinal_full_dates",
    "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES": (
        "retain_longitudinal_modified_dates"
    ),
    "RETAIN_PATIENT_CHARACTERISTICS": "retain_patient_characteristics",
    "RETAIN_DEVICE_IDENTITY": "retain_device_identity",
    "RETAIN_INSTITUTION_IDENTITY": "retain_institution_identity",
    "RETAIN_UIDS": "retain_uids",
    "RETAIN_SAFE_PRIVATE": "retain_safe_private",
}

#: options the engine implements (see the module docstring for the others)
SUPPORTED: frozenset[str] = frozenset(
    {
        "BASIC_PROFILE",
        "CLEAN_STRUCTURED_CONTENT",
        "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION",
        "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES",
        "RETAIN_PATIENT_CHARACTERISTICS",
        "RETAIN_DEVICE_IDENTITY",
        "RETAIN_INSTITUTION_IDENTITY",
        "RETAIN_UIDS",
        "RETAIN_SAFE_PRIVATE",
    }
)

#: PS3.16 CID 7050 "De-identification Method" codes (scheme DCM), for
#: Deidentification Method Code Sequence (0012,0064)
CID_7050: Mapping[str, tuple[str, str]] = {
    "BASIC_PROFILE": ("113100", "Basic Application Confidentiality Profile"),
    "CLEAN_PIXEL_DATA": ("113101", "Clean Pixel Data Option"),
    "CLEAN_RECOGNIZABLE_VISUAL_FEATURES": ("113102", "Clean Recognizable Visual Features Option"),
    "CLEAN_GRAPHICS": ("113103", "Clean Graphics Option"),
    "CLEAN_STRUCTURED_CONTENT": ("113104", "Clean Structured Content Option"),
    "CLEAN_DESCRIPTORS": ("113105", "Clean Descriptors Option"),
    "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION": (
        "113106",
        "Retain Longitudinal Temporal Information Full Dates Option",
    ),
    "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES": (
        "113107",
        "Retain Longitudinal Temporal Information Modified Dates Option",
    ),
    "RETAIN_PATIENT_CHARACTERISTICS": ("113108", "Retain Patient Characteristics Option"),
    "RETAIN_DEVICE_IDENTITY": ("113109", "Retain Device Identity Option"),
    "RETAIN_UIDS": ("113110", "Retain UIDs Option"),
    "RETAIN_SAFE_PRIVATE": ("113111", "Retain Safe Private Option"),
    "RETAIN_INSTITUTION_IDENTITY": ("113112", "Retain Institution Identity Option"),
}

ACTION_CODES = frozenset({"D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"})


def is_supported(option: ConfidentialityOption | str) -> bool:
    """True if the engine implements ``option``."""
    name = option.name if isinstance(option, ConfidentialityOption) else option
    return name in SUPPORTED


def supported_options() -> list[ConfidentialityOption]:
    """The options offered to users, BASIC_PROFILE excluded, in rank order (spec §3.7)."""
    return [o for o in ConfidentialityOption.all() if o.name in SUPPORTED and o.rank > 10]


@attrs.frozen
class TableRow:
    """One row of PS3.15 Table E.1-1: an exact tag or a pattern, and its codes per column."""

    tag_text: str
    keyword: str
    name: str
    actions: Mapping[str, str | None]
    tag: int | None  # None for patterns
    retired: bool = False


@attrs.frozen
class ConfidentialityTable:
    """The whole Table E.1-1: exact rows by tag, pattern rows by their text."""

    edition: str
    rows: tuple[TableRow, ...]
    by_tag: Mapping[int, TableRow]
    patterns: Mapping[str, TableRow]

    def row_for(self, tag: int) -> TableRow | None:
        """The exact row of ``tag``, else its curve/overlay pattern row (not private)."""
        row = self.by_tag.get(tag)
        if row is not None:
            return row
        group, element = tag >> 16, tag & 0xFFFF
        if group % 2:
            return None
        if group & 0xFF00 == 0x5000:
            return self.patterns.get("(50xx,xxxx)")
        if group & 0xFF00 == 0x6000 and element in (0x3000, 0x4000):
            return self.patterns.get(f"(60xx,{element:04X})")
        return None

    @property
    def private_row(self) -> TableRow:
        return self.patterns["(gggg,eeee)"]


def _parse_tag(text: str) -> int:
    group, element = text.strip("()").split(",")
    return (int(group, 16) << 16) | int(element, 16)


@functools.cache
def load_table() -> ConfidentialityTable:
    """Parse the bundled ``ps315_annex_e.json`` (once per process).

    Raises:
        ValueError: the bundled file is damaged (a packaging error, never user input).
    """
    raw: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("ps315_annex_e.json").read_text("utf-8")
    )
    rows: list[TableRow] = []
    by_tag: dict[int, TableRow] = {}
    patterns: dict[str, TableRow] = {}
    for item in raw["rows"]:
        actions = dict(item["actions"])
        for column, code in actions.items():
            if code is not None and code not in ACTION_CODES:
                raise ValueError(f"unknown action code {code!r} in column {column}")
        tag = None if item["is_pattern"] else _parse_tag(item["tag"])
        row = TableRow(
            item["tag"], item["keyword"], item["name"], actions, tag, bool(item.get("retired"))
        )
        rows.append(row)
        if tag is None:
            patterns[item["tag"]] = row
        else:
            by_tag[tag] = row
    if len(rows) != raw["row_count"]:
        raise ValueError("ps315_annex_e.json: row_count does not match its rows")
    return ConfidentialityTable(raw["edition"], tuple(rows), by_tag, patterns)


@attrs.frozen
class ResolvedProfile:
    """A validated profile: the option set plus per-tag action lookup (cached)."""

    options: tuple[ConfidentialityOption, ...]
    table: ConfidentialityTable = attrs.field(repr=False)
    _cache: dict[int, str | None] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(o.name for o in self.options)

    @property
    def retain_uids(self) -> bool:
        return "RETAIN_UIDS" in self.names

    @property
    def retain_safe_private(self) -> bool:
        return "RETAIN_SAFE_PRIVATE" in self.names

    @property
    def full_dates(self) -> bool:
        return "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION" in self.names

    @property
    def modified_dates(self) -> bool:
        return "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES" in self.names

    def code_of(self, row: TableRow) -> str:
        """The winning code of ``row``: highest-ranked option defining one, else Basic."""
        code = row.actions["basic"]
        best = 0
        for option in self.options:
            column = COLUMNS.get(option.name)
            if column is None or column == "basic":
                continue
            candidate = row.actions.get(column)
            if candidate is not None and option.rank > best:
                code, best = candidate, option.rank
        assert code is not None  # the basic column is never empty
        return code

    def code(self, tag: int) -> str | None:
        """The table's action code for ``tag`` under this profile; None when not listed."""
        try:
            return self._cache[tag]
        except KeyError:
            pass
        row = self.table.row_for(tag)
        result = None if row is None else self.code_of(row)
        self._cache[tag] = result
        return result


def resolve_profile(
    profile: AnonymizationProfile | Iterable[ConfidentialityOption | str],
) -> ResolvedProfile:
    """Validate a profile and prepare it for the engine. BASIC_PROFILE is always included.

    Raises:
        InvalidInput: an option the engine does not implement, or both Retain Longitudinal
            Temporal Information options (mutually exclusive, PS3.15 E.3.6).
    """
    if not isinstance(profile, AnonymizationProfile):
        try:
            profile = AnonymizationProfile(tuple(profile))
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
    profile = profile.with_basic()
    unsupported = [o.name for o in profile.options if o.name not in SUPPORTED]
    if unsupported:
        raise InvalidInput(
            "anonymization option(s) not supported: "
            + ", ".join(unsupported)
            + " (supported: "
            + ", ".join(o.name for o in supported_options())
            + ")"
        )
    names = profile.names
    if {
        "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION",
        "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES",
    } <= names:
        raise InvalidInput(
            "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION and its MODIFIED_DATES variant are "
            "mutually exclusive (PS3.15 E.3.6)"
        )
    return _resolved(tuple(o.name for o in profile.options))


@functools.lru_cache(maxsize=128)
def _resolved(names: tuple[str, ...]) -> ResolvedProfile:
    # shared across calls and threads: the per-tag cache only ever gains equal entries
    return ResolvedProfile(tuple(map(ConfidentialityOption.by_name, names)), load_table())
