"""Directory watches: server-local folders whose files are imported (spec §3.12, §5.11)."""

from .runner import WatchRunner
from .service import DirectoryWatchService, WatchOptions

__all__ = ["DirectoryWatchService", "WatchOptions", "WatchRunner"]
