"""The Patient -> Study -> Series -> Image index: listing, querying, series properties."""

from .service import IndexService
from .tags import SeriesTagService

__all__ = ["IndexService", "SeriesTagService"]
