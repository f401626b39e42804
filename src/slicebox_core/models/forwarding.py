"""Forwarding rules: images from a source sent on to a destination (spec §3.13, §4.6, §5.6).

``ForwardingRule`` is the original's JSON shape
``{id, source: Source, destination: Destination, keepImages}``.
"""

from __future__ import annotations

import attrs

from .index import Destination, Source


@attrs.frozen
class ForwardingRule:
    """Every image that arrives from ``source`` is sent to ``destination`` (a box or an SCU).

    Attributes:
        id: the rule's id (ignored when a rule is created).
        source: where the images come from (``user``, ``box``, ``directory``, ``scp`` or
            ``import``, by id).
        destination: where they go (``box`` or ``scu``, by id).
        keep_images: False deletes the local copies once every rule with this source has
            delivered them.
    """

    id: int
    source: Source
    destination: Destination
    keep_images: bool


@attrs.frozen
class ForwardingTransaction:
    """A batch of one rule's images on its way (spec §4.6; internal, no endpoint).

    Attributes:
        id: the batch's id.
        forwarding_rule_id: its rule.
        created: epoch milliseconds.
        updated: epoch milliseconds of the last image that joined it.
        enroute: dispatched (or being retried) and not yet delivered.
        delivered: every image reached the destination; finalized soon.
        outgoing_transaction_id: the box transaction it became (box destinations).
        attempts: dispatches so far.
        image_ids: its images, in arrival order.
    """

    id: int
    forwarding_rule_id: int
    created: int
    updated: int
    enroute: bool
    delivered: bool
    outgoing_transaction_id: int | None
    attempts: int
    image_ids: tuple[int, ...]
