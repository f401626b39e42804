"""Test timings for the boxes of a facade (``Slicebox.__init__`` wires boxes in itself)."""

from __future__ import annotations

from typing import Any

import attrs

from slicebox_core.boxes.service import BoxService


def wire_boxes(sb: Any, **overrides: Any) -> BoxService:
    """``sb.boxes``, its configuration changed by ``overrides`` (e.g. short intervals).

    The worker reads the configuration when it starts a box's loops, so call this before.
    """
    boxes: BoxService = sb.boxes
    if overrides:
        boxes.config = attrs.evolve(boxes.config, **overrides)
    return boxes
