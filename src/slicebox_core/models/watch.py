"""Directory watches (spec §3.12, §4.5, §5.11)."""

from __future__ import annotations

import attrs


@attrs.frozen
class WatchedDirectory:
    """A server-local directory whose files are imported (source type ``directory``)."""

    id: int
    name: str
    path: str
