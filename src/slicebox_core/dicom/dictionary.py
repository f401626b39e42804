"""The DICOM data dictionary: keywords, tags, VRs and multiplicities (spec §3.2).

Backed by pydicom's public dictionary, including retired attributes and the repeating groups
(``60xx``, ``50xx``, ...; a repeater keyword maps to the lowest tag it names, e.g.
OverlayData → (6000,3000)). Item and delimitation tags (VR "NONE") are not attributes and
are left out.
"""

from __future__ import annotations

import functools
from typing import Literal

from pydicom import datadict

from slicebox_core.errors import InvalidInput, NotFound
from slicebox_core.models import DicomValueRepresentation, Multiplicity

__all__ = ["keyword", "keywords", "tag", "vm", "vr"]

KeywordKind = Literal["all", "sequence", "nonsequence"]


def keywords(filter: str | None = None, kind: KeywordKind = "all") -> list[str]:
    """Return dictionary keywords in sorted order.

    Args:
        filter: keep only keywords containing this text, ignoring case; empty or None keeps all.
        kind: ``"sequence"`` keeps keywords whose VR is SQ, ``"nonsequence"`` the others.

    Raises:
        InvalidInput: an unknown ``kind``.
    """
    if kind not in ("all", "sequence", "nonsequence"):
        raise InvalidInput(f"Unknown keyword kind: {kind!r}")
    words = _keywords(kind)
    if not filter:
        return list(words)
    needle = filter.casefold()
    return [word for word in words if needle in word.casefold()]


def vr(tag: int) -> DicomValueRepresentation:
    """Return the dictionary VR of ``tag``; unknown tags are ``UN``.

    Ambiguous dictionary VRs ("US or SS", "OB or OW") give their first choice; private creator
    elements are ``LO`` and group lengths ``UL``.

    Raises:
        InvalidInput: a number that is not a 32-bit tag.
    """
    name = vr_name(tag)
    return DicomValueRepresentation(name=name, code=ord(name[0]) << 8 | ord(name[1]))


def vr_name(tag: int) -> str:
    """Return the two-letter dictionary VR of ``tag`` (see :func:`vr`).

    Raises:
        InvalidInput: a number that is not a 32-bit tag.
    """
    _check_tag(tag)
    if tag & 0xFFFF == 0:
        return "UL"  # PS3.5 7.2: group length
    if _is_private_creator(tag):
        return "LO"  # PS3.5 7.8.1
    try:
        name = datadict.dictionary_VR(tag)
    except KeyError:
        return "UN"
    name = name.split(" or ")[0]
    return "UN" if name == "NONE" else name


def vm(tag: int) -> Multiplicity:
    """Return the dictionary value multiplicity of ``tag``; unknown tags are 1-n.

    ``"2-2n"`` gives min 2 and no max (the "multiple of 2" part is not representable).

    Raises:
        InvalidInput: a number that is not a 32-bit tag.
    """
    _check_tag(tag)
    if tag & 0xFFFF == 0 or _is_private_creator(tag):
        return Multiplicity(min=1, max=1)
    try:
        text = datadict.dictionary_VM(tag)
    except KeyError:
        return Multiplicity(min=1, max=None)
    return parse_vm(text)


def parse_vm(text: str) -> Multiplicity:
    """Parse a dictionary VM string such as ``"1"``, ``"1-3"``, ``"1-n"`` or ``"3-3n"``.

    Raises:
        InvalidInput: a string that is not a VM.
    """
    low, _, high = text.strip().partition("-")
    try:
        minimum = int(low)
        if not high:
            return Multiplicity(min=minimum, max=minimum)
        if high.endswith("n"):
            return Multiplicity(min=minimum, max=None)
        return Multiplicity(min=minimum, max=int(high))
    except ValueError:
        raise InvalidInput(f"Not a value multiplicity: {text!r}") from None


def keyword(tag: int) -> str:
    """Return the keyword of ``tag``.

    Raises:
        NotFound: a tag without dictionary keyword (private, unknown or group length).
        InvalidInput: a number that is not a 32-bit tag.
    """
    _check_tag(tag)
    try:
        word = datadict.keyword_for_tag(tag)
    except KeyError:  # pragma: no cover - keyword_for_tag returns "" today
        word = ""
    if not word or _is_private_creator(tag) or tag >> 16 == 0xFFFE:
        raise NotFound(f"No keyword for tag {format_tag(tag)}")
    return word


def tag(keyword: str) -> int:
    """Return the tag for a dictionary keyword (case-sensitive, as in the standard).

    Raises:
        NotFound: an unknown keyword.
    """
    found = _tags_by_keyword().get(keyword)
    if found is None:
        raise NotFound(f"Unknown keyword: {keyword!r}")
    return found


def format_tag(tag: int) -> str:
    """``(gggg,eeee)`` in upper-case hex, as used in messages."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _check_tag(tag: int) -> None:
    if isinstance(tag, bool) or not isinstance(tag, int) or not 0 <= tag <= 0xFFFFFFFF:
        raise InvalidInput(f"Not a DICOM tag: {tag!r}")


def _is_private_creator(tag: int) -> bool:
    return (tag >> 16) % 2 == 1 and 0x0010 <= tag & 0xFFFF <= 0x00FF


@functools.cache
def _tags_by_keyword() -> dict[str, int]:
    tags: dict[str, int] = {}
    for mask, entry in datadict.RepeatersDictionary.items():
        if entry[4] and entry[0] != "NONE" and (number := _first_repeater_tag(mask, entry[4])):
            tags[entry[4]] = number
    for number, entry in datadict.DicomDictionary.items():
        if entry[4] and entry[0] != "NONE":
            tags[entry[4]] = number
    return tags


def _first_repeater_tag(mask: str, word: str) -> int | None:
    """The lowest tag matching a repeater mask (``60xx3000``) that the dictionary names ``word``.

    Substituting 0 is not enough: ``002804x2`` with x = 0 is NumberOfTransformSteps.
    """
    count = mask.count("x")
    for fill in range(16**count):
        digits = iter(f"{fill:0{count}X}")
        number = int("".join(next(digits) if c == "x" else c for c in mask), 16)
        if (
            number & 0xFFFF
            and number not in datadict.DicomDictionary
            and datadict.keyword_for_tag(number) == word
        ):
            return number
    return None  # pragma: no cover - every pydicom repeater has a free tag


@functools.cache
def _keywords(kind: KeywordKind) -> tuple[str, ...]:
    words = []
    for word, number in _tags_by_keyword().items():
        is_sequence = vr_name(number) == "SQ"
        if kind == "all" or (kind == "sequence") == is_sequence:
            words.append(word)
    return tuple(sorted(words))
