"""The ``[boxes]`` configuration section (spec §5.5, §5.20 internal constants).

Meant to be a field of :class:`slicebox_core.config.Config` (``boxes: BoxConfig =
BoxConfig()``), so TOML reads::

    [boxes]
    retry_interval_s = 15
    max_attempts = 20

and the environment ``SLICEBOX_BOXES__MAX_ATTEMPTS=5``.
"""

from __future__ import annotations

import attrs


def _positive(_: object, attribute: attrs.Attribute, value: float) -> None:  # type: ignore[type-arg,unused-ignore]
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


@attrs.frozen
class BoxConfig:
    """Timing and sizes of box transfers.

    Attributes:
        retry_interval_s: first retry delay of a failed image; doubled per attempt up to
            ``max_backoff_s`` (the original retried every 15 s forever).
        max_backoff_s: the longest delay between two attempts of one image.
        max_attempts: attempts of one image before its transaction is marked FAILED.
        batch_size: images asked for in one poll of a remote (spec: 200).
        parallelism: images transferred at once per box and direction (spec: 8).
        scan_interval_s: how often the worker looks for new boxes and queued images (images
            queued by another process, e.g. an HTTP worker, are seen within this time).
        poll_interval_s: how often a PUSH box's remote is polled while it has nothing for us.
        online_timeout_s: a POLL box is online while its remote polled within this time.
        stall_timeout_s: a PROCESSING transaction without progress for this long is WAITING.
        housekeeping_interval_s: how often stalled transactions are looked for (spec: 7 s).
        lease_s: how long a claimed image is reserved for the worker (or remote poller) that
            took it; after that another may take it.
        request_timeout_s: connect/read timeout of one request to a remote box.
        compression_level: zlib level of the deflated bodies (1 = fastest, 9 = smallest).
    """

    retry_interval_s: float = attrs.field(default=15.0, validator=_positive)
    max_backoff_s: float = attrs.field(default=600.0, validator=_positive)
    max_attempts: int = attrs.field(default=20, validator=_positive)
    batch_size: int = attrs.field(default=200, validator=_positive)
    parallelism: int = attrs.field(default=4, validator=_positive)
    scan_interval_s: float = attrs.field(default=2.0, validator=_positive)
    poll_interval_s: float = attrs.field(default=5.0, validator=_positive)
    online_timeout_s: float = attrs.field(default=15.0, validator=_positive)
    stall_timeout_s: float = attrs.field(default=15.0, validator=_positive)
    housekeeping_interval_s: float = attrs.field(default=7.0, validator=_positive)
    lease_s: float = attrs.field(default=120.0, validator=_positive)
    request_timeout_s: float = attrs.field(default=60.0, validator=_positive)
    compression_level: int = attrs.field(default=1, validator=attrs.validators.in_(range(10)))
