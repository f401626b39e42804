"""The logic of forwarding, without I/O (spec §5.6): which rules are valid, when a batch is
due, what a box transaction's status means for a batch, which delivered batches may be
finalized, and the log lines.

A batch (a ``ForwardingTransactions`` row) moves through these states::

    fresh ──dispatch──> enroute ──SCU send returned / box transaction FINISHED──> delivered
      ^                  │  │                                                       │
      └─ (new images     │  └─ send failed / box transaction FAILED: the same batch  │
         join a fresh    │     is sent again after a back-off                        │
         batch)          └─ box transaction deleted by a user: batch dropped   finalize: rows
                                                                               (and images)
                                                                               removed
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

import attrs

from ..errors import InvalidInput
from ..models.boxes import TransactionStatus
from ..models.forwarding import ForwardingRule
from ..models.index import SourceType

SUBJECT = "Forwarding"
"""Log subject of forwarding (spec §4.10)."""

SOURCE_TYPES = frozenset(
    {SourceType.USER, SourceType.BOX, SourceType.DIRECTORY, SourceType.SCP, SourceType.IMPORT}
)
"""Sources a rule may name: every source type images arrive from."""

DESTINATION_TYPES = frozenset({"box", "scu"})
"""Destinations a rule may name."""

SourceKey = tuple[str, int]
"""(source type, source id): what rules of one source share."""


def check_rule(rule: ForwardingRule) -> None:
    """Validate the types and ids of a rule to create.

    Raises:
        InvalidInput: a source type images do not come from (``unknown``), a destination
            type other than ``box`` or ``scu``, or an id that is not an integer.
    """
    source_type = rule.source.source_type
    if source_type not in SOURCE_TYPES:
        allowed = ", ".join(sorted(SOURCE_TYPES))
        raise InvalidInput(f"A forwarding rule's source type is one of {allowed}")
    if rule.destination.destination_type not in DESTINATION_TYPES:
        raise InvalidInput("A forwarding rule's destination type is box or scu")
    for what, value in (
        ("source", rule.source.source_id),
        ("destination", rule.destination.destination_id),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"A forwarding rule's {what} id is an integer")


def source_key(rule: ForwardingRule) -> SourceKey:
    return str(rule.source.source_type), int(rule.source.source_id)


def backoff_s(attempts: int, *, base_s: float, cap_s: float) -> float:
    """Delay before attempt ``attempts + 1`` of a batch: ``base`` doubled per failed attempt,
    at most ``cap``."""
    exponent = max(0, attempts - 1)
    if exponent > 60:  # 2**60 * base is past any cap; avoid huge floats
        return cap_s
    return float(min(cap_s, base_s * 2**exponent))


def due_at_ms(updated_ms: int, batch_idle_s: float) -> int:
    """When a fresh batch last joined by an image at ``updated_ms`` is sent (spec §5.6
    step 2: no new image for the idle time)."""
    return updated_ms + int(batch_idle_s * 1000)


class Delivery(enum.Enum):
    """What the status of a batch's box transaction means for the batch."""

    WAIT = "wait"  # queued or transferring
    DELIVERED = "delivered"  # every image reached the box
    RETRY = "retry"  # the box transfer gave up: queue the batch again later
    CANCELLED = "cancelled"  # a user deleted the box transaction: the batch is dropped


def delivery_for(status: TransactionStatus | None) -> Delivery:
    """The batch's next step for its box transaction's ``status`` (None: the transaction was
    deleted)."""
    if status is None:
        return Delivery.CANCELLED
    if status == TransactionStatus.FINISHED:
        return Delivery.DELIVERED
    if status == TransactionStatus.FAILED:
        return Delivery.RETRY
    return Delivery.WAIT


@attrs.frozen
class DeliveredBatch:
    """A delivered batch waiting to be finalized."""

    transaction_id: int
    rule_id: int
    source: SourceKey
    keep_images: bool


def finalizable(
    delivered: Iterable[DeliveredBatch], undelivered_sources: Iterable[SourceKey]
) -> list[DeliveredBatch]:
    """The delivered batches that may be finalized now (spec §5.6 step 4).

    A batch of a rule that keeps images is removed at once. A batch of a rule that deletes
    them waits until no batch of *any* rule with the same source is undelivered, so with
    several rules per source deletion waits for every delivery, and delete wins.
    """
    blocked = set(undelivered_sources)
    return [b for b in delivered if b.keep_images or b.source not in blocked]


def images_to_delete(batches: Sequence[DeliveredBatch], images: dict[int, list[int]]) -> list[int]:
    """Image ids of the finalized batches whose rule deletes images, in batch order, once."""
    ids: dict[int, None] = {}
    for batch in batches:
        if not batch.keep_images:
            ids.update(dict.fromkeys(images.get(batch.transaction_id, ())))
    return list(ids)


def dispatch_message(rule: ForwardingRule, count: int) -> str:
    """The log line of a dispatch (spec §5.6 step 2)."""
    return (
        f"Forwarding {count} images from {rule.source.source_type} {rule.source.source_name} "
        f"to {rule.destination.destination_type} {rule.destination.destination_name}."
    )


def retry_message(rule: ForwardingRule, count: int, error: str, delay_s: float) -> str:
    """The warning of a failed dispatch or box transfer (spec §5.6 step 2)."""
    return (
        f"Forwarding {count} images to {rule.destination.destination_type} "
        f"{rule.destination.destination_name} failed: {error}. Trying again later "
        f"(in {delay_s:.0f} s)."
    )
