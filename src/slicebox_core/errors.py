"""The exceptions slicebox raises on purpose.

    SliceboxError
     +-- NotFound            an id, file or name that does not exist
     +-- InvalidInput        a request that can never succeed as given
     |    +-- InvalidDicom   bytes that are not acceptable DICOM
     +-- Conflict            a request that clashes with stored state
     +-- Unauthorized        missing or wrong credentials
     +-- Forbidden           a role below what the action needs
     +-- TooManyRequests     rate limited; carries ``retry_after`` seconds
     +-- PayloadTooLarge     a body over the configured limit
     +-- InsufficientStorage the storage backend is full
     +-- NotRenderable       pixel data that cannot be turned into a picture
     +-- PeerUnavailable     a remote box or DICOM node failed

No HTTP status lives here: ``slicebox_server.errors`` holds the only status table, and
``slicebox_client`` maps statuses back to these classes, so notebook code catches the same
exceptions locally and remotely. Messages never carry patient names or IDs.
"""

from __future__ import annotations


class SliceboxError(Exception):
    """Base of everything slicebox raises on purpose."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(SliceboxError):
    """An id, file or name that does not exist."""


class InvalidInput(SliceboxError):
    """A request that can never succeed as given."""


class InvalidDicom(InvalidInput):
    """Bytes that are not DICOM, or DICOM slicebox does not accept."""

    def __init__(self, message: str = "") -> None:
        super().__init__(f"Invalid DICOM data: {message}" if message else "Invalid DICOM data")


class Conflict(SliceboxError):
    """A request that clashes with stored state."""


class Unauthorized(SliceboxError):
    """Missing or invalid credentials."""


class Forbidden(SliceboxError):
    """The authenticated user's role is below what the action needs."""


class TooManyRequests(SliceboxError):
    """Rate limited. ``retry_after`` is the number of seconds to wait."""

    def __init__(self, message: str = "", *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PayloadTooLarge(SliceboxError):
    """A request body over the configured limit."""


class InsufficientStorage(SliceboxError):
    """The storage backend has no room left; nothing was stored."""


class NotRenderable(SliceboxError):
    """Pixel data that cannot be rendered (unsupported codec, no pixel data, ...)."""


class PeerUnavailable(SliceboxError):
    """A remote box or DICOM node failed or could not be reached."""
