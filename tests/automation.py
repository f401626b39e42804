"""Test helper: the automation services wired onto a Slicebox as the facade does.

Mirrors the lines the facade (``slicebox_core.app.Slicebox.__init__``) gets for issue 8; a
no-op when the facade already has them.
"""

from __future__ import annotations

from typing import Any

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
    box: Any = sb  # attributes the facade may not declare yet
    if getattr(box, "outbox", None) is None:
        config = sb.config
        box.outbox = Outbox(sb.db)
        box.series_types = SeriesTypeService(sb.db, sb.images, box.outbox, sb.events)
        box.tag_filters = TagFilterService(sb.db)
        box.imports = ImportService(sb.db, sb.images, sb.log, sb.events)
        box.watches = DirectoryWatchService(
            sb.db,
            sb.images,
            sb.log,
            sb.events,
            options=options,
            protected=(config.data_dir, config.storage_path),
        )
        sb.images.preprocessors.insert(0, box.tag_filters.preprocess)
        sb.images.in_transaction.append(box.series_types.enqueue_for_ingest)
        sb.images.in_transaction.append(box.imports.record)
        sb.events.subscribe(SourceDeleted, box.tag_filters.on_source_deleted)
        sb.system.source_providers.append(box.watches.sources)
        sb.system.source_providers.append(box.imports.sources)
    else:
        box.watches.options = options
    return sb


@pytest.fixture
def auto(sb: Slicebox) -> Slicebox:
    """The ``sb`` fixture (SQLite and PostgreSQL) with the automation services."""
    return wire(sb)


@pytest.fixture
def auto_sqlite(sb_sqlite: Slicebox) -> Slicebox:
    """The ``sb_sqlite`` fixture with the automation services."""
    return wire(sb_sqlite)
