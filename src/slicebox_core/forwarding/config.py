"""The ``[forwarding]`` configuration section (spec §5.6, §5.20 internal constants).

Meant to be a field of :class:`slicebox_core.config.Config` (``forwarding: ForwardingConfig =
ForwardingConfig()``), so TOML reads::

    [forwarding]
    batch_idle_s = 30

and the environment ``SLICEBOX_FORWARDING__BATCH_IDLE_S=5``.
"""

from __future__ import annotations

import attrs


def _positive(_: object, attribute: attrs.Attribute, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _not_negative(_: object, attribute: attrs.Attribute, value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


@attrs.frozen
class ForwardingConfig:
    """Timing of forwarding.

    Attributes:
        batch_idle_s: a rule's batch is sent once no image joined it for this long, so a
            burst (a study) travels as one transaction (spec: 30 s). 0 sends at the next look.
        scan_interval_s: how often the worker looks for due batches, box transactions that
            finished and delivered batches to finalize (batches written by other processes
            are seen within this time; the worker also wakes earlier for a batch it knows is
            due).
        retry_interval_s: the first delay before a failed batch is sent again; doubled per
            attempt up to ``max_backoff_s`` (the original retried at every 30 s dispatch).
        max_backoff_s: the longest delay between two attempts of one batch.
        lease_s: how long a worker holds a batch it is sending (renewed while an SCU send
            makes progress); a batch whose worker died is sent again after it.
        batch: batches claimed in one look.
    """

    batch_idle_s: float = attrs.field(default=30.0, validator=_not_negative)
    scan_interval_s: float = attrs.field(default=2.0, validator=_positive)
    retry_interval_s: float = attrs.field(default=15.0, validator=_positive)
    max_backoff_s: float = attrs.field(default=600.0, validator=_positive)
    lease_s: float = attrs.field(default=300.0, validator=_positive)
    batch: int = attrs.field(default=20, validator=_positive)
