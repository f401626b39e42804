"""Addresses of DICOM attributes and image-level values (spec §2.4, §4.12)."""

from __future__ import annotations

import attrs


@attrs.frozen
class TagPathStep:
    """One step of a tag path: a tag, and for a sequence step the 1-based item index."""

    tag: int
    item: int | None = None


@attrs.frozen
class TagPath:
    """Path to an attribute, outermost step first. All steps but the last have an item.

    On the wire this is the spec's nested ``{"tag","name","item"?,"previous"?}`` object,
    innermost step outermost (see :mod:`slicebox_core.wire`).
    """

    steps: tuple[TagPathStep, ...]

    @classmethod
    def of(cls, tag: int, *outer: tuple[int, int]) -> TagPath:
        """Path to ``tag`` inside the given ``(sequence tag, item)`` steps, outermost first."""
        return cls((*(TagPathStep(t, i) for t, i in outer), TagPathStep(tag)))

    @property
    def tag(self) -> int:
        return self.steps[-1].tag

    @property
    def is_tag(self) -> bool:
        """True when the last step is a plain attribute (a ``TagPathTag`` in the spec)."""
        return self.steps[-1].item is None and all(s.item is not None for s in self.steps[:-1])

    def __str__(self) -> str:
        parts = []
        for step in self.steps:
            text = f"({step.tag >> 16:04X},{step.tag & 0xFFFF:04X})"
            parts.append(text if step.item is None else f"{text}[{step.item}]")
        return ".".join(parts)


@attrs.frozen
class ImageAttribute:
    tag_path: TagPath
    name_path: tuple[str, ...]
    vr: str
    length: int
    values: tuple[str, ...]


@attrs.frozen
class ImageInformation:
    number_of_frames: int
    frame_index: int
    minimum_pixel_value: int
    maximum_pixel_value: int


@attrs.frozen
class TagMapping:
    tag_path: TagPath
    value: str
