"""When is a watched file complete? Pure bookkeeping of candidates (spec §5.11).

A file is imported once its size and modification time have not changed for ``settle_s``
seconds. Each version (path, size, mtime) is attempted once: a rejected file is not retried
until it changes, an imported one (kept in place) is not imported again until it changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Version = tuple[int, int]
"""(size in bytes, modification time in ns) of a file."""

Stat = Callable[[str], Version | None]


class Settler:
    """Candidates of one watch, keyed by absolute path.

    Args:
        settle_s: how long a file must stay unchanged before it is imported.
    """

    def __init__(self, settle_s: float) -> None:
        self.settle_s = settle_s
        self._candidates: dict[str, tuple[Version | None, float]] = {}
        self._busy: set[str] = set()
        self._handled: dict[str, Version] = {}

    def __len__(self) -> int:
        return len(self._candidates)

    def observe(self, path: str, now: float) -> None:
        """Something happened to ``path``: look at it again (stability restarts)."""
        if path not in self._candidates:
            self._candidates[path] = (None, now)

    def forget(self, path: str) -> None:
        """``path`` is gone."""
        self._candidates.pop(path, None)
        self._handled.pop(path, None)

    def due(self, now: float, stat: Stat) -> list[tuple[str, Version]]:
        """Candidates unchanged for ``settle_s``; they become busy until :meth:`done`."""
        ready: list[tuple[str, Version]] = []
        for path, (seen, since) in list(self._candidates.items()):
            if path in self._busy:
                continue
            current = stat(path)
            if current is None:
                self.forget(path)
            elif current != seen:
                self._candidates[path] = (current, now)
            elif now - since >= self.settle_s:
                del self._candidates[path]
                if self._handled.get(path) != current:
                    self._busy.add(path)
                    ready.append((path, current))
        return ready

    def done(self, path: str, version: Version) -> None:
        """``version`` of ``path`` was attempted (imported or rejected)."""
        self._busy.discard(path)
        self._handled[path] = version

    def keep_only(self, present: Iterable[str]) -> None:
        """Drop memory of files no longer present (after a full rescan)."""
        keep = set(present)
        for path in [p for p in self._handled if p not in keep]:
            del self._handled[path]
