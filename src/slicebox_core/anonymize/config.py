"""The ``[anonymization]`` configuration section (spec §5.4.6, §5.4.9, §5.20).

Meant to be a field of :class:`slicebox_core.config.Config` (``anonymization:
AnonymizationConfig = AnonymizationConfig()``), so TOML reads::

    [anonymization]
    purge_empty_keys = true
    key_attributes = [{ tag_path = "(0008,0050)", level = "STUDY" }, ...]
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from ..models.anonymization import KeyLevel

_TAG_PATH = re.compile(r"^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)$")


def parse_tag(text: str) -> int:
    """``"(0008,0050)"`` -> 0x00080050.

    Raises:
        ValueError: not of the form ``(gggg,eeee)``.
    """
    match = _TAG_PATH.match(text.strip())
    if match is None:
        raise ValueError(f"a key attribute tag path looks like (gggg,eeee), got {text!r}")
    return (int(match.group(1), 16) << 16) | int(match.group(2), 16)


def _valid_tag_path(_: Any, __: Any, value: str) -> None:
    parse_tag(value)


@attrs.frozen
class KeyAttribute:
    """An attribute recorded, harmonized and reversed at ``level`` (spec §5.4.6).

    Only root-level attributes: ``tag_path`` is ``"(gggg,eeee)"``.
    """

    tag_path: str = attrs.field(validator=_valid_tag_path)
    level: KeyLevel = attrs.field(converter=KeyLevel)

    @property
    def tag(self) -> int:
        return parse_tag(self.tag_path)


#: the configurable defaults of spec §5.4.5
DEFAULT_KEY_ATTRIBUTES: tuple[KeyAttribute, ...] = (
    KeyAttribute("(0008,0050)", KeyLevel.STUDY),  # AccessionNumber
    KeyAttribute("(0008,1030)", KeyLevel.STUDY),  # StudyDescription
    KeyAttribute("(0020,0010)", KeyLevel.STUDY),  # StudyID
    KeyAttribute("(0020,0052)", KeyLevel.STUDY),  # FrameOfReferenceUID
    KeyAttribute("(0008,103E)", KeyLevel.SERIES),  # SeriesDescription
    KeyAttribute("(0018,1030)", KeyLevel.SERIES),  # ProtocolName
    KeyAttribute("(0010,0030)", KeyLevel.PATIENT),  # PatientBirthDate
)

#: the mandatory key attributes of spec §5.4.5, always recorded
MANDATORY_KEY_ATTRIBUTES: tuple[KeyAttribute, ...] = (
    KeyAttribute("(0010,0010)", KeyLevel.PATIENT),  # PatientName
    KeyAttribute("(0010,0020)", KeyLevel.PATIENT),  # PatientID
    KeyAttribute("(0020,000D)", KeyLevel.STUDY),  # StudyInstanceUID
    KeyAttribute("(0020,000E)", KeyLevel.SERIES),  # SeriesInstanceUID
    KeyAttribute("(0008,0018)", KeyLevel.IMAGE),  # SOPInstanceUID
    KeyAttribute("(0012,0062)", KeyLevel.IMAGE),  # PatientIdentityRemoved
    KeyAttribute("(0012,0063)", KeyLevel.IMAGE),  # DeidentificationMethod
)


@attrs.frozen
class AnonymizationConfig:
    """Anonymization key settings.

    Attributes:
        purge_empty_keys: delete an image's keys when the image is deleted (spec §5.4.9).
        key_attributes: extra recorded/harmonized/reversed attributes (spec §5.4.6); the
            mandatory ones are always added.
    """

    purge_empty_keys: bool = True
    key_attributes: tuple[KeyAttribute, ...] = DEFAULT_KEY_ATTRIBUTES

    def all_key_attributes(self) -> tuple[KeyAttribute, ...]:
        """Mandatory then configured key attributes, one per tag (the mandatory level wins)."""
        seen: set[int] = set()
        result = []
        for attribute in MANDATORY_KEY_ATTRIBUTES + self.key_attributes:
            if attribute.tag not in seen:
                seen.add(attribute.tag)
                result.append(attribute)
        return tuple(result)
