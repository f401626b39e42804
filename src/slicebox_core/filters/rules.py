"""Tag-tree matching and white/black-list filtering of pydicom datasets, pure (spec §5.9).

A tree is a tuple of :class:`Step` (outermost first). A step is a tag with an item selector:
``None`` (the attribute, or a whole sequence), an index ``n >= 1`` or :data:`ANY` (``*``).
Every step but the last selects an item.

* **Blacklist**: an element (or item) is dropped when a tree *covers* it: the tree addresses
  it or something enclosing it.
* **Whitelist**: an element is kept when a tree covers it (so listing a sequence keeps its
  contents) or when it encloses what a tree addresses (listing a nested attribute keeps the
  sequences and items on the way to it, and only what is listed inside them).

The file meta group (0002,xxxx) is never filtered: the stored file must stay valid Part 10
(the original required whitelisting it explicitly). Group length elements are removed
whenever a filter applies, as in the original.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs
from pydicom.datadict import keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from ..errors import InvalidInput
from ..models.filters import ANY_ITEM, TagTree

ANY = 0
"""Item selector meaning "any item" (``*``)."""
MAX_DEPTH = 32
MAX_TAG = 0xFFFFFFFF


@attrs.frozen
class Step:
    tag: int
    item: int | None = None  # None, ANY or a 1-based index


Tree = tuple[Step, ...]
# a position in a dataset: (tag, item) steps; the last step's item is None for an element
Position = tuple[tuple[int, int | None], ...]


# the wire model <-> trees ----------------------------------------------------------------
def _fmt(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _item(raw: str | None, where: str) -> int | None:
    if raw is None:
        return None
    text = raw.strip()
    if text == ANY_ITEM:
        return ANY
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"{where}: item must be a positive integer or '*', got {raw!r}")
    return int(text)


def tree_from_model(model: TagTree) -> Tree:
    """Validate a :class:`TagTree` and convert it.

    Raises:
        InvalidInput: a step without tag and with an unknown keyword, a tag out of range,
            a bad item, an enclosing step without item, or a path deeper than 32 steps.
    """
    steps: list[Step] = []
    node: TagTree | None = model
    while node is not None:
        if len(steps) >= MAX_DEPTH:
            raise InvalidInput(f"a tag path has at most {MAX_DEPTH} steps")
        tag = node.tag
        if tag is None:
            name = (node.name or "").strip()
            if not name:
                raise InvalidInput("every step of a tag path needs a tag or a name")
            tag = tag_for_keyword(name)
            if tag is None:
                raise InvalidInput(f"unknown DICOM keyword {name!r} in tag path")
        if isinstance(tag, bool) or not isinstance(tag, int) or not 0 <= tag <= MAX_TAG:
            raise InvalidInput(f"tag must be an integer 0..{MAX_TAG}, got {tag!r}")
        steps.append(Step(tag, _item(node.item, _fmt(tag))))
        node = node.previous
    steps.reverse()
    for step in steps[:-1]:
        if step.item is None:
            raise InvalidInput(
                f"{_fmt(step.tag)} encloses another step of the tag path, so it needs an item"
            )
    return tuple(steps)


def tree_to_model(tree: Tree) -> TagTree:
    """The wire model of a tree, with keywords filled in."""
    node: TagTree | None = None
    for step in tree:
        item = None if step.item is None else (ANY_ITEM if step.item == ANY else str(step.item))
        node = TagTree(step.tag, keyword_for_tag(step.tag) or "", item, node)
    assert node is not None
    return node


_STEP = re.compile(r"\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)(?:\[(\*|\d+)\])?")


def tree_to_text(tree: Tree) -> str:
    """The stored form: ``(0008,1140)[*].(0008,1155)``."""
    parts = []
    for step in tree:
        text = _fmt(step.tag)
        if step.item is not None:
            text += "[*]" if step.item == ANY else f"[{step.item}]"
        parts.append(text)
    return ".".join(parts)


def tree_from_text(text: str) -> Tree:
    """Parse :func:`tree_to_text`'s form.

    Raises:
        ValueError: not that form.
    """
    steps = []
    for part in text.split("."):
        match = _STEP.fullmatch(part.strip())
        if match is None:
            raise ValueError(f"not a tag tree step: {part!r}")
        group, element, item = match.groups()
        selector = None if item is None else (ANY if item == "*" else int(item))
        steps.append(Step(int(group, 16) << 16 | int(element, 16), selector))
    return tuple(steps)


# matching --------------------------------------------------------------------------------
def _item_matches(selector: int | None, item: int | None) -> bool:
    return item is not None and selector in (ANY, item)


def covers(tree: Tree, position: Position) -> bool:
    """True when ``tree`` addresses ``position`` or something that encloses it."""
    if len(tree) > len(position):
        return False
    last = len(tree) - 1
    for i, step in enumerate(tree):
        tag, item = position[i]
        if step.tag != tag:
            return False
        if (i < last or step.item is not None) and not _item_matches(step.item, item):
            return False
    return True


def leads_to(tree: Tree, position: Position) -> bool:
    """True when ``position`` strictly encloses something ``tree`` addresses."""
    depth = len(position)
    if position[-1][1] is None:  # an element: the tree reaches one of its items or deeper
        if len(tree) < depth or (len(tree) == depth and tree[-1].item is None):
            return False
    elif len(tree) <= depth:  # an item: the tree reaches inside it
        return False
    for i, (tag, item) in enumerate(position):
        step = tree[i]
        if step.tag != tag:
            return False
        if item is not None and not _item_matches(step.item, item):
            return False
    return True


# filtering ---------------------------------------------------------------------------------
def _is_group_length(tag: int) -> bool:
    return tag & 0xFFFF == 0 and tag >> 16 != 0x0002


def _blacklist(ds: Dataset, prefix: Position, trees: Sequence[Tree]) -> bool:
    changed = False
    for elem in list(ds):
        tag = int(elem.tag)
        position = (*prefix, (tag, None))
        if _is_group_length(tag) or any(covers(t, position) for t in trees):
            del ds[tag]
            changed = True
            continue
        if elem.VR == "SQ" and isinstance(elem.value, DicomSequence):
            kept = []
            for index, item in enumerate(elem.value, start=1):
                item_position = (*prefix, (tag, index))
                if any(covers(t, item_position) for t in trees):
                    changed = True
                    continue
                changed |= _blacklist(item, item_position, trees)
                kept.append(item)
            if len(kept) != len(elem.value):
                elem.value = DicomSequence(kept)
    return changed


def _whitelist(ds: Dataset, prefix: Position, trees: Sequence[Tree]) -> bool:
    changed = False
    for elem in list(ds):
        tag = int(elem.tag)
        position = (*prefix, (tag, None))
        if _is_group_length(tag):
            del ds[tag]
            changed = True
            continue
        if any(covers(t, position) for t in trees):
            continue
        is_sequence = elem.VR == "SQ" and isinstance(elem.value, DicomSequence)
        if not (is_sequence and any(leads_to(t, position) for t in trees)):
            del ds[tag]
            changed = True
            continue
        kept = []
        for index, item in enumerate(elem.value, start=1):
            item_position = (*prefix, (tag, index))
            if any(covers(t, item_position) for t in trees):
                kept.append(item)
            elif any(leads_to(t, item_position) for t in trees):
                changed |= _whitelist(item, item_position, trees)
                kept.append(item)
            else:
                changed = True
        if len(kept) != len(elem.value):
            elem.value = DicomSequence(kept)
    return changed


def apply_filters(ds: Dataset, blacklist: Sequence[Tree], whitelist: Sequence[Tree]) -> bool:
    """Filter ``ds`` in place: the blacklist first, then the whitelist (spec §5.1 step 4).

    Nothing happens when both lists are empty. The file meta is left alone.

    Returns:
        True when something was removed.
    """
    if not blacklist and not whitelist:
        return False
    changed = _blacklist(ds, (), blacklist)
    if whitelist:
        changed |= _whitelist(ds, (), whitelist)
    return changed
