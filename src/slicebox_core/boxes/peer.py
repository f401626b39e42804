"""The remote side of a PUSH box, as the worker sees it: :class:`BoxPeer`.

Core may not speak HTTP itself; ``slicebox_client.peer.HttpBoxPeer`` implements this protocol
with httpx against ``/api/transactions/{token}/…`` (spec §3.9), and the server/CLI injects its
factory (``sb.boxes.peer_factory = HttpBoxPeer.for_url``). Tests may implement it in-process.

Errors a peer raises:

* :class:`~slicebox_core.errors.PeerUnavailable`: the remote could not be reached, timed out,
  or answered something unexpected (5xx, ...). Retried with back-off.
* :class:`~.protocol.CorruptTransfer`: the bytes were damaged in transit (checksum or deflate
  stream). Retried.
* :class:`~slicebox_core.errors.Unauthorized`: the remote does not know the box's token.
* :class:`~slicebox_core.errors.NotFound` / :class:`~slicebox_core.errors.InvalidInput`:
  ``fetch`` of an image the remote no longer has, or refuses to serve.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import BinaryIO, Protocol

from ..models.boxes import OutgoingTransactionImage, TransactionStatus
from .config import BoxConfig


class PushOutcome(enum.Enum):
    """What the remote did with a pushed image (spec §5.5.3 step 3)."""

    STORED = "stored"  # 2xx
    REJECTED = "rejected"  # 400: e.g. not acceptable DICOM; counts as delivered
    REMOVED = "removed"  # 404: counts as delivered


class BoxPeer(Protocol):
    """One remote slicebox, reached through one box's token URL."""

    def push_image(
        self,
        transaction_id: int,
        sequence_number: int,
        total_image_count: int,
        data: BinaryIO,
        *,
        sha256: str | None = None,
    ) -> PushOutcome:
        """Send one (anonymized, uncompressed) image; the peer deflates it on the way.

        Raises:
            PeerUnavailable: not delivered; try again later.
            CorruptTransfer: the remote found it damaged; try again.
        """
        ...

    def poll(self, n: int) -> list[OutgoingTransactionImage]:
        """Up to ``n`` images the remote has queued for us ([] when none).

        Raises:
            PeerUnavailable: the remote could not be asked.
        """
        ...

    def fetch(self, transaction_id: int, image_id: int) -> AbstractContextManager[BinaryIO]:
        """The inflated bytes of one polled image, as a stream to read within the context.

        The stream raises :class:`~.protocol.CorruptTransfer` on its last read if the bytes
        do not match the remote's SHA-256 (when it sent one) or the deflate stream is broken.

        Raises:
            NotFound: the remote no longer has it (404).
            InvalidInput: the remote refuses it (400).
            PeerUnavailable: the remote could not be reached.
        """
        ...

    def done(self, item: OutgoingTransactionImage) -> None:
        """Tell the remote an image it queued for us is stored (``outgoing/done``)."""
        ...

    def failed(self, item: OutgoingTransactionImage, message: str) -> None:
        """Tell the remote to fail the transaction of ``item`` (``outgoing/failed``)."""
        ...

    def set_status(self, transaction_id: int, status: TransactionStatus) -> None:
        """Set the status of the remote's incoming transaction for our ``transaction_id``."""
        ...

    def get_status(self, transaction_id: int) -> TransactionStatus | None:
        """The status of the remote's incoming transaction, None when it has none."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


PeerFactory = Callable[[str, BoxConfig], BoxPeer]
"""Makes the peer of a box from its base URL (``HttpBoxPeer.for_url``)."""
