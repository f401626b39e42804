"""Where DICOM files live: a local folder (embedded default) or an S3-compatible bucket."""

from .base import Storage, open_storage
from .local import LocalStorage

__all__ = ["LocalStorage", "Storage", "open_storage"]
