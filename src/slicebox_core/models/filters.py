"""Tag filters: white/black lists of tag trees applied on ingest, per source (spec §3.14, §4.7).

A :class:`TagTree` has the spec's JSON shape (§2.4): the innermost step outermost, each step
``{"tag", "name", "item"?, "previous"?}`` where ``item`` is a 1-based index *or* ``"*"`` (any
item), and the last step may be an item (a whole item) or a sequence (all of it).
"""

from __future__ import annotations

import enum

import attrs

from .index import SourceType

ANY_ITEM = "*"


class TagFilterType(enum.StrEnum):
    WHITELIST = "WHITELIST"
    BLACKLIST = "BLACKLIST"


@attrs.frozen
class TagTree:
    """An address of attributes, sequences or items (spec §2.4 ``TagTree``).

    On input either ``tag`` or ``name`` (a keyword) is enough; the filter service resolves
    and checks both, and what it returns always has both.

    Attributes:
        tag: the tag of this (innermost) step.
        name: its keyword ("" if unknown to the dictionary).
        item: None for an attribute or a whole sequence; ``"1"``, ``"2"``... for one item;
            ``"*"`` for every item.
        previous: the enclosing step, whose ``item`` must then be set.
    """

    tag: int | None = None
    name: str = ""
    item: str | None = None
    previous: TagTree | None = None

    @classmethod
    def of(cls, tag: int, *outer: tuple[int, int | str], item: int | str | None = None) -> TagTree:
        """Build a tree from ``(sequence tag, item)`` steps, outermost first.

        >>> TagTree.of(0x00081150, (0x00081140, "*"))   # ReferencedSOPClassUID in any item
        """
        node: TagTree | None = None
        for seq_tag, seq_item in outer:
            node = TagTree(seq_tag, "", str(seq_item), node)
        return TagTree(tag, "", None if item is None else str(item), node)

    @property
    def steps(self) -> tuple[tuple[int | None, str | None], ...]:
        """``(tag, item)`` pairs, outermost first."""
        out: list[tuple[int | None, str | None]] = []
        node: TagTree | None = self
        while node is not None:
            out.append((node.tag, node.item))
            node = node.previous
        return tuple(reversed(out))


@attrs.frozen
class TagFilter:
    id: int
    name: str
    tag_filter_type: TagFilterType


@attrs.frozen
class TagFilterTagPath:
    id: int
    tag_filter_id: int
    tag_path: TagTree


@attrs.frozen
class SourceTagFilter:
    """A filter associated with a source (``tagFilterName`` is a copy, set by the server)."""

    id: int
    source_type: SourceType
    source_name: str
    source_id: int
    tag_filter_id: int
    tag_filter_name: str = ""
