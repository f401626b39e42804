"""The pure logic of forwarding (spec §5.6)."""

from __future__ import annotations

import pytest

from slicebox_core.errors import InvalidInput
from slicebox_core.forwarding import rules as r
from slicebox_core.models.boxes import TransactionStatus
from slicebox_core.models.forwarding import ForwardingRule
from slicebox_core.models.index import Destination, Source, SourceType

SCP = Source(SourceType.SCP, "modality", 1)
BOX = Destination("box", "remote", 2)


def test_check_rule_accepts_every_source_type_and_both_destinations() -> None:
    for source_type in r.SOURCE_TYPES:
        for destination_type in ("box", "scu"):
            r.check_rule(
                ForwardingRule(
                    -1, Source(source_type, "x", 1), Destination(destination_type, "y", 2), True
                )
            )


@pytest.mark.parametrize(
    "rule",
    [
        ForwardingRule(-1, Source(SourceType.UNKNOWN, "x", 1), BOX, True),
        ForwardingRule(-1, SCP, Destination("unknown", "y", 2), True),
        ForwardingRule(-1, SCP, Destination("directory", "y", 2), True),
        ForwardingRule(-1, Source(SourceType.SCP, "x", True), BOX, True),  # type: ignore[arg-type]
    ],
)
def test_check_rule_refuses(rule: ForwardingRule) -> None:
    with pytest.raises(InvalidInput):
        r.check_rule(rule)


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [r.backoff_s(a, base_s=1.0, cap_s=10.0) for a in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert r.backoff_s(0, base_s=1.0, cap_s=10.0) == 1.0
    assert r.backoff_s(10_000, base_s=1.0, cap_s=10.0) == 10.0


def test_due_after_the_idle_time() -> None:
    assert r.due_at_ms(1_000, 30) == 31_000
    assert r.due_at_ms(1_000, 0) == 1_000


@pytest.mark.parametrize(
    ("status", "delivery"),
    [
        (TransactionStatus.WAITING, r.Delivery.WAIT),
        (TransactionStatus.PROCESSING, r.Delivery.WAIT),
        (TransactionStatus.FINISHED, r.Delivery.DELIVERED),
        (TransactionStatus.FAILED, r.Delivery.RETRY),
        (None, r.Delivery.CANCELLED),
    ],
)
def test_delivery_for_box_status(status: TransactionStatus | None, delivery: r.Delivery) -> None:
    assert r.delivery_for(status) is delivery


def test_finalizable_keep_at_once_delete_waits_for_the_whole_source() -> None:
    keep = r.DeliveredBatch(1, 10, ("scp", 1), True)
    delete = r.DeliveredBatch(2, 11, ("scp", 1), False)
    other = r.DeliveredBatch(3, 12, ("box", 1), False)
    # another rule of scp 1 has an undelivered batch: only the keeping batch may go
    assert r.finalizable([keep, delete, other], [("scp", 1)]) == [keep, other]
    assert r.finalizable([keep, delete, other], []) == [keep, delete, other]


def test_images_to_delete_only_of_deleting_rules_once_in_order() -> None:
    keep = r.DeliveredBatch(1, 10, ("scp", 1), True)
    first = r.DeliveredBatch(2, 11, ("scp", 1), False)
    second = r.DeliveredBatch(3, 12, ("scp", 1), False)
    images = {1: [7, 8], 2: [5, 6], 3: [6, 9]}
    assert r.images_to_delete([keep, first, second], images) == [5, 6, 9]


def test_messages() -> None:
    rule = ForwardingRule(4, SCP, BOX, True)
    assert r.dispatch_message(rule, 3) == "Forwarding 3 images from scp modality to box remote."
    text = r.retry_message(rule, 3, "PeerUnavailable: refused", 15)
    assert "Trying again later" in text and "box remote" in text
