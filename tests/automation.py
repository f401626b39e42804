"""Test helper: the automation services wired onto a Slicebox as the facade does.

Mirrors the lines the facade (``slicebox_core.app.Slicebox.__init__``) gets for issue 8; a
no-op when the facade already has them.
"""

from __future__ import annotations

import pytest

from slicebox_core import Slicebox
from slicebox_core.events import SourceDeleted
from slicebox_core.filters import TagFilterService
from slicebox_core.imports import ImportService
from slicebox_core.outbox import Outbox
from slicebox_core.seriestypes import SeriesTypeService
from slicebox_core.watch import DirectoryWatchService, WatchOptions

FAST = WatchOptions(settle_s=0.3, rescan_s=60.0, lease_s=30.0)


def wire(sb: Slicebox, options: WatchOptions = FAST) -> Slicebox:
    """Give ``sb`` its automation services (idempotent); watches get ``options``."""
    if getattr(sb, "outbox", None) is None:
        config = sb.config
        sb.outbox = Outbox(sb.db)  # type: ignore[attr-defined]
        sb.series_types = SeriesTypeService(  # type: ignore[attr-defined]
            sb.db, sb.images, sb.outbox, sb.events  # type: ignore[attr-defined]
        )
        sb.tag_filters = TagFilterService(sb.db)  # type: ignore[attr-defined]
        sb.imports = ImportService(sb.db, sb.images, sb.log, sb.events)  # type: ignore[attr-defined]
        sb.watches = DirectoryWatchService(  # type: ignore[attr-defined]
            sb.db,
            sb.images,
            sb.log,
            sb.events,
            options=options,
            protected=(config.data_dir, config.storage_path),
        )
        sb.images.preprocessors.insert(0, sb.tag_filters.preprocess)  # type: ignore[attr-defined]
        sb.images.in_transaction.append(sb.series_types.enqueue_for_ingest)  # type: ignore[attr-defined]
        sb.images.in_transaction.append(sb.imports.record)  # type: ignore[attr-defined]
        sb.events.subscribe(SourceDeleted, sb.tag_filters.on_source_deleted)  # type: ignore[attr-defined]
        sb.system.source_providers.append(sb.watches.sources)  # type: ignore[attr-defined]
        sb.system.source_providers.append(sb.imports.sources)  # type: ignore[attr-defined]
    else:
        sb.watches.options = options  # type: ignore[attr-defined]
    return sb


@pytest.fixture
def auto(sb: Slicebox) -> Slicebox:
    """The ``sb`` fixture (SQLite and PostgreSQL) with the automation services."""
    return wire(sb)


@pytest.fixture
def auto_sqlite(sb_sqlite: Slicebox) -> Slicebox:
    """The ``sb_sqlite`` fixture with the automation services."""
    return wire(sb_sqlite)
