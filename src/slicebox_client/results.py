"""Client-side result values that have no core model."""

from __future__ import annotations

from typing import NamedTuple

from slicebox_core.models import Image


class UploadResult(NamedTuple):
    """An uploaded image and whether it was new (201) rather than an overwrite (200)."""

    image: Image
    created: bool

    @property
    def overwrite(self) -> bool:
        """True when the upload replaced an existing instance (as ``IngestResult``)."""
        return not self.created
