"""Field helpers carrying wire metadata (read by :mod:`slicebox_core.wire`)."""

from __future__ import annotations

from typing import Any

import attrs


def dpv(wire: str | None = None, default: str = "") -> Any:
    """A DICOM-derived string; on the wire ``{"value": "..."}`` (spec §2 DPV)."""
    metadata: dict[str, Any] = {"dpv": True}
    if wire:
        metadata["wire"] = wire
    return attrs.field(default=default, metadata=metadata)


def named(wire: str, **kwargs: Any) -> Any:
    """A field whose JSON name is not the camelCase of its Python name."""
    return attrs.field(metadata={"wire": wire}, **kwargs)
