"""Boxes: connections to other slicebox instances, and the transfers between them (spec §4.3).

The shapes are the original's, so a Python slicebox and an original Slicebox understand each
other's JSON: ``Box``, ``RemoteBox``, ``RemoteBoxConnectionData``, ``OutgoingTransaction``,
``OutgoingImage``, ``OutgoingTransactionImage``, ``IncomingTransaction``,
``BoxTransactionStatus`` and ``FailedOutgoingTransactionImage``. Times are epoch milliseconds.
"""

from __future__ import annotations

import enum

import attrs

from .anonymization import AnonymizationProfile


class SendMethod(enum.StrEnum):
    """How images travel, seen from the local instance (spec §4.3).

    ``POLL``: created by *createconnection*; this instance is the public side, the remote
    polls it for our images and pushes its images to it. ``PUSH``: created by *connect*; this
    instance pushes its images to the remote and polls the remote for images meant for it.
    """

    PUSH = "PUSH"
    POLL = "POLL"


class TransactionStatus(enum.StrEnum):
    """State of a transfer (spec §5.5.7). The original's parse fallback ``UNKNOWN`` is not a
    member: it is refused on input."""

    WAITING = "WAITING"
    PROCESSING = "PROCESSING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"


@attrs.frozen
class Box:
    """A connection to another slicebox. ``token`` authenticates the remote's calls of a POLL
    box; ``base_url`` is ``<api base>/transactions/<token>``."""

    id: int
    name: str
    token: str
    base_url: str
    send_method: SendMethod
    default_profile: AnonymizationProfile
    online: bool


@attrs.frozen
class RemoteBox:
    """Body of ``POST /boxes/connect``: the URL received from the public side."""

    name: str
    base_url: str
    default_profile: AnonymizationProfile


@attrs.frozen
class RemoteBoxConnectionData:
    """Body of ``POST /boxes/createconnection``."""

    name: str
    default_profile: AnonymizationProfile


@attrs.frozen
class OutgoingTransaction:
    """Images queued for, or sent to, a box. ``profile`` includes the Basic Profile."""

    id: int
    box_id: int
    box_name: str
    profile: AnonymizationProfile
    sent_image_count: int
    total_image_count: int
    created: int
    updated: int
    status: TransactionStatus


@attrs.frozen
class OutgoingImage:
    """One image of an outgoing transaction; ``sequence_number`` runs 1..N."""

    id: int
    outgoing_transaction_id: int
    image_id: int
    sequence_number: int
    sent: bool


@attrs.frozen
class OutgoingTransactionImage:
    """What a poll answers, and what ``outgoing/done`` takes back."""

    transaction: OutgoingTransaction
    image: OutgoingImage


@attrs.frozen
class IncomingTransaction:
    """Images received from a box; ``outgoing_transaction_id`` is the sender's id."""

    id: int
    box_id: int
    box_name: str
    outgoing_transaction_id: int
    received_image_count: int
    added_image_count: int
    total_image_count: int
    created: int
    updated: int
    status: TransactionStatus


@attrs.frozen
class BoxTransactionStatus:
    """Body of ``GET``/``PUT …/status``."""

    status: TransactionStatus


@attrs.frozen
class FailedOutgoingTransactionImage:
    """Body of ``POST …/outgoing/failed``."""

    transaction_image: OutgoingTransactionImage
    message: str
