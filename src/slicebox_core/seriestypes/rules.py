"""Series-type matching, pure (spec §5.7).

A series gets a type when **any** of the type's rules matches; a rule matches when **all** of
its conditions match (a rule without conditions matches every series); a condition matches
when the attribute's text equals the condition's ``values`` exactly.

The attribute's text is its values joined by ``,`` (spec §4.2), "" when absent. Joined by
``\\`` (DICOM's own separator, as the index and the attribute listing show values) is
accepted too, so a rule typed from what the UI displays matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence

MAX_TAG = 0xFFFFFFFF


@attrs.frozen
class Condition:
    """``tag`` inside item 1 of each sequence of ``sequences`` (outermost first) equals
    ``values``."""

    tag: int
    values: str
    sequences: tuple[int, ...] = ()


@attrs.frozen
class Rule:
    series_type_id: int
    conditions: tuple[Condition, ...]


def parse_tag_path(text: str | None) -> tuple[int, ...]:
    """``"528640,1048592"`` (decimal tags, comma-separated) -> tags; None or "" -> ().

    Raises:
        ValueError: an item that is not a decimal tag number.
    """
    if text is None or not text.strip():
        return ()
    tags = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) > MAX_TAG:
            raise ValueError(f"{part!r} is not a decimal tag number")
        tags.append(int(part))
    return tuple(tags)


def top_level_tags(rules: Iterable[Rule]) -> set[int]:
    """The top-level tags the rules read (the attribute, or its outermost sequence)."""
    return {(c.sequences[0] if c.sequences else c.tag) for rule in rules for c in rule.conditions}


def _text(value: object) -> list[str]:
    if value is None:
        return [""]
    if isinstance(value, DicomSequence):
        return [""]
    if isinstance(value, MultiValue | list | tuple):
        return ["" if v is None else _scalar(v) for v in value]
    return [_scalar(value)]


def _scalar(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").rstrip("\x00 ")
    return str(value).replace("\x00", "")


def attribute_texts(ds: Dataset, condition: Condition) -> tuple[str, ...]:
    """The texts the condition compares with: values joined by ``,`` and by ``\\``."""
    node: Dataset | None = ds
    for seq_tag in condition.sequences:
        elem = node.get(seq_tag) if node is not None else None
        value = getattr(elem, "value", None)
        if not isinstance(value, DicomSequence) or len(value) == 0:
            node = None
            break
        node = value[0]
    if node is None:
        return ("",)
    elem = node.get(condition.tag)
    if elem is None:
        return ("",)
    try:
        values = _text(elem.value)
    except Exception:  # a value pydicom cannot decode never matches anything but ""
        return ("",)
    return (",".join(values), "\\".join(values))


def condition_matches(ds: Dataset, condition: Condition) -> bool:
    return condition.values in attribute_texts(ds, condition)


def rule_matches(ds: Dataset, rule: Rule) -> bool:
    return all(condition_matches(ds, c) for c in rule.conditions)


def matching_types(ds: Dataset | None, rules: Sequence[Rule]) -> set[int]:
    """Ids of the series types with a rule matching ``ds``.

    ``ds`` may be None when no rule has conditions (nothing needs to be read).
    """
    matched: set[int] = set()
    for rule in rules:
        if rule.series_type_id in matched:
            continue
        if not rule.conditions or (ds is not None and rule_matches(ds, rule)):
            matched.add(rule.series_type_id)
    return matched
