"""Boxes wired into a facade the way ``Slicebox.__init__`` does it (the lines the lead adds
to ``app.py``); a no-op once the facade has ``boxes`` itself.

Also used by ``tests/integration/boxes_shim/sitecustomize.py`` for live servers, with the
:class:`BoxConfig` read from ``SLICEBOX_TEST_BOXES`` (JSON) while ``Config`` has no
``boxes`` section yet.
"""

from __future__ import annotations

import json
import os
from typing import Any

from slicebox_core.boxes.config import BoxConfig
from slicebox_core.boxes.service import BoxService
from slicebox_core.boxes.worker import BoxWorker
from slicebox_core.events import ImagesDeleted

TEST_CONFIG_ENV = "SLICEBOX_TEST_BOXES"


def box_config(sb: Any, **overrides: Any) -> BoxConfig:
    """The facade's box configuration, else the test environment's, with ``overrides``."""
    configured = getattr(sb.config, "boxes", None)
    if configured is None:
        configured = BoxConfig(**json.loads(os.environ.get(TEST_CONFIG_ENV) or "{}"))
    if overrides:
        import attrs

        configured = attrs.evolve(configured, **overrides)
    return configured


def wire_boxes(sb: Any, **overrides: Any) -> BoxService:
    """Give ``sb`` its ``boxes`` service as the facade will (idempotent)."""
    if hasattr(sb, "boxes"):
        return sb.boxes  # type: ignore[no-any-return]
    boxes = BoxService(
        sb.db, sb.images, sb.anonymization, sb.log, sb.events, config=box_config(sb, **overrides)
    )
    sb.boxes = boxes
    sb.images.in_transaction.append(boxes.record_received)
    sb.events.subscribe(ImagesDeleted, lambda e: boxes.on_images_deleted(e.image_ids))
    sb.system.source_providers.append(boxes.sources)
    sb.system.destination_providers.append(boxes.destinations)
    sb.background_tasks.append(BoxWorker(boxes))
    return boxes
