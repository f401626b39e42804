"""Forwarding wired into a facade the way ``Slicebox.__init__`` will do it (the lines the
lead adds to ``app.py``); a no-op once the facade has ``forwarding`` itself.

Also used by ``tests/integration/forwarding_shim/sitecustomize.py`` for live servers, with the
:class:`ForwardingConfig` read from ``SLICEBOX_TEST_FORWARDING`` (JSON) while ``Config`` has
no ``forwarding`` section yet.
"""

from __future__ import annotations

import json
import os
from typing import Any

import attrs

from slicebox_core.forwarding.config import ForwardingConfig
from slicebox_core.forwarding.service import ForwardingService
from slicebox_core.forwarding.worker import ForwardingWorker

TEST_CONFIG_ENV = "SLICEBOX_TEST_FORWARDING"


def forwarding_config(sb: Any, **overrides: Any) -> ForwardingConfig:
    """The facade's forwarding configuration, else the test environment's, with ``overrides``."""
    configured = getattr(sb.config, "forwarding", None)
    if configured is None:
        configured = ForwardingConfig(**json.loads(os.environ.get(TEST_CONFIG_ENV) or "{}"))
    return attrs.evolve(configured, **overrides) if overrides else configured


def wire_forwarding(sb: Any, **overrides: Any) -> ForwardingService:
    """Give ``sb`` its ``forwarding`` service as the facade will (idempotent). Boxes, when
    the facade (or ``tests.boxes_wiring``) gave ``sb`` them, are picked up now or later
    through ``sb.forwarding.boxes``."""
    if hasattr(sb, "forwarding"):
        if overrides:
            sb.forwarding.config = attrs.evolve(sb.forwarding.config, **overrides)
        return sb.forwarding  # type: ignore[no-any-return]
    service = ForwardingService(
        sb.db,
        sb.images,
        sb.log,
        boxes=getattr(sb, "boxes", None),
        network=sb.network,
        system=sb.system,
        config=forwarding_config(sb, **overrides),
    )
    sb.forwarding = service
    sb.images.in_transaction.append(service.enqueue_for_ingest)
    sb.background_tasks.append(ForwardingWorker(service, sb.events))
    return service
