"""A :class:`~slicebox_core.boxes.peer.BoxPeer` that calls another slicebox's box service
in-process: the whole protocol (deflate, checksums, idempotency) without HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from slicebox_core.boxes.peer import PushOutcome
from slicebox_core.boxes.protocol import InflatingReader, deflate_chunks
from slicebox_core.boxes.service import BoxService
from slicebox_core.errors import NotFound
from slicebox_core.models.boxes import (
    FailedOutgoingTransactionImage,
    OutgoingTransactionImage,
    TransactionStatus,
)


class LocalPeer:
    """The remote ``service``'s POLL box with ``token``.

    Args:
        service: the remote's box service.
        token: the token of the remote's POLL box.
        tamper: flip a byte of every pushed body (tests of the checksum).
        damage_fetches: flip a byte in this many downloads, the first ones.
    """

    def __init__(
        self, service: BoxService, token: str, *, tamper: bool = False, damage_fetches: int = 0
    ) -> None:
        self.service = service
        self.token = token
        self.tamper = tamper
        self.damage_fetches = damage_fetches
        self.pushed = 0

    def _box(self):  # type: ignore[no-untyped-def]
        return self.service.box_for_token(self.token)

    def push_image(
        self,
        transaction_id: int,
        sequence_number: int,
        total_image_count: int,
        data: BinaryIO,
        *,
        sha256: str | None = None,
    ) -> PushOutcome:
        body = b"".join(deflate_chunks(data))
        if self.tamper:
            raw = bytearray(body)
            raw[len(raw) // 2] ^= 0xFF
            body = bytes(raw)
        self.service.receive_image(
            self._box(), transaction_id, sequence_number, total_image_count, [body], sha256=sha256
        )
        self.pushed += 1
        return PushOutcome.STORED

    def poll(self, n: int) -> list[OutgoingTransactionImage]:
        return self.service.poll(self._box(), n)

    @contextmanager
    def fetch(self, transaction_id: int, image_id: int) -> Iterator[BinaryIO]:
        with self.service.serve_outgoing(self._box(), transaction_id, image_id) as prepared:
            body = b"".join(deflate_chunks(prepared.file))
            if self.damage_fetches > 0:
                self.damage_fetches -= 1
                body = body[:-10] + bytes(b ^ 0xFF for b in body[-10:])
            yield InflatingReader([body], prepared.sha256)  # type: ignore[misc]

    def done(self, item: OutgoingTransactionImage) -> None:
        self.service.outgoing_done(self._box(), item)

    def failed(self, item: OutgoingTransactionImage, message: str) -> None:
        self.service.outgoing_failed(self._box(), FailedOutgoingTransactionImage(item, message))

    def set_status(self, transaction_id: int, status: TransactionStatus) -> None:
        self.service.set_incoming_status(self._box(), transaction_id, status)

    def get_status(self, transaction_id: int) -> TransactionStatus | None:
        try:
            return self.service.incoming_status(self._box(), transaction_id)
        except NotFound:
            return None

    def close(self) -> None:
        pass
