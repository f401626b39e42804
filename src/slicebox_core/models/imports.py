"""Import sessions: named uploads with counters (spec §3.15, §4.8, §5.10)."""

from __future__ import annotations

import attrs


@attrs.frozen
class ImportSession:
    """A named upload session.

    Attributes:
        files_imported: files stored (new or replacing an existing instance).
        files_added: of those, the new instances.
        files_rejected: files refused (not DICOM, unsupported SOP class, ...).
        created: epoch milliseconds.
        last_updated: epoch milliseconds of the last upload.
    """

    id: int
    name: str
    user_id: int
    user: str
    files_imported: int
    files_added: int
    files_rejected: int
    created: int
    last_updated: int
