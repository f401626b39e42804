"""The environment that gives ``slicebox serve`` forwarding (and boxes) with test timings,
until the facade wires forwarding in by itself (then only the timings are passed, as
``SLICEBOX_FORWARDING__*``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs

from slicebox_core.config import Config

from .servers import box_environment

SHIM = Path(__file__).resolve().parent / "forwarding_shim"


def forwarding_environment(
    forwarding: dict[str, Any] | None = None, *, boxes: dict[str, Any] | None = None
) -> dict[str, str]:
    """Environment for a server with boxes (``boxes`` timings) and forwarding (``forwarding``
    timings)."""
    env = box_environment(boxes)
    timings = forwarding or {}
    if "forwarding" in attrs.fields_dict(Config):
        settings = {f"SLICEBOX_FORWARDING__{key.upper()}": str(v) for key, v in timings.items()}
    else:
        settings = {"SLICEBOX_TEST_FORWARDING": json.dumps(timings)}
    path = os.pathsep.join([str(SHIM), env["PYTHONPATH"]])
    return {**env, "SLICEBOX_TEST_WIRE_FORWARDING": "1", "PYTHONPATH": path, **settings}
