"""Client methods for boxes and their transactions (spec §3.8).

A mixin of :class:`~slicebox_client.SliceboxClient`; it uses only the client's ``_json`` and
``_request`` plumbing. The box-to-box protocol itself (``/api/transactions/{token}/…``) is
:class:`~slicebox_client.peer.HttpBoxPeer`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from slicebox_core import wire
from slicebox_core.models import Image
from slicebox_core.models.anonymization import (
    AnonymizationProfile,
    BulkAnonymizationData,
    ImageTagValues,
    TagValue,
)
from slicebox_core.models.boxes import (
    Box,
    IncomingTransaction,
    OutgoingTransaction,
    RemoteBox,
    RemoteBoxConnectionData,
)

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

ImagesToSend = BulkAnonymizationData | Iterable[int] | Mapping[int, Sequence[TagValue]]
"""What :meth:`BoxesMixin.send_to_box` sends: a full ``BulkAnonymizationData``, image ids, or
image ids mapped to their custom tag values."""


def _paging(start_index: int, count: int) -> dict[str, Any]:
    return {"startindex": start_index, "count": count}


def bulk_anonymization_data(
    images: ImagesToSend,
    profile: AnonymizationProfile | None = None,
    *,
    allow_burned_in_annotations: bool | None = None,
) -> BulkAnonymizationData:
    """The body of a send from any :data:`ImagesToSend`."""
    if isinstance(images, BulkAnonymizationData):
        return images
    if isinstance(images, Mapping):
        entries = tuple(ImageTagValues(int(i), tuple(tvs)) for i, tvs in images.items())
    else:
        entries = tuple(ImageTagValues(int(i), ()) for i in images)
    return BulkAnonymizationData(
        profile or AnonymizationProfile(), entries, allow_burned_in_annotations
    )


class BoxesMixin:
    """Boxes: connections to other sliceboxes, sending, and incoming/outgoing transactions."""

    if TYPE_CHECKING:

        def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...

        def _json(self, method: str, path: str, cls: type[T] | Any, **kwargs: Any) -> T: ...

    def boxes(self, *, start_index: int = 0, count: int = 20) -> list[Box]:
        """Boxes by id, paged, with their tokens and online status."""
        return self._json("GET", "/api/boxes", list[Box], params=_paging(start_index, count))

    def create_connection(
        self, name: str, default_profile: AnonymizationProfile | None = None
    ) -> Box:
        """Create a POLL box (ADMINISTRATOR); give its ``base_url`` to the remote's admin.

        Raises:
            InvalidInput: a PUSH box has the name.
        """
        body = wire.unstructure(
            RemoteBoxConnectionData(name, default_profile or AnonymizationProfile())
        )
        return self._json("POST", "/api/boxes/createconnection", Box, json=body)

    def connect(
        self, name: str, base_url: str, default_profile: AnonymizationProfile | None = None
    ) -> Box:
        """Create a PUSH box from a remote's box URL (ADMINISTRATOR).

        Raises:
            InvalidInput: a malformed URL, or the name is taken by another connection.
        """
        body = wire.unstructure(
            RemoteBox(name, base_url, default_profile or AnonymizationProfile())
        )
        return self._json("POST", "/api/boxes/connect", Box, json=body)

    def delete_box(self, box_id: int) -> None:
        """Delete a box (ADMINISTRATOR); its transactions stay. Unknown ids are fine."""
        self._request("DELETE", f"/api/boxes/{box_id}")

    def send_to_box(
        self,
        box_id: int,
        images: ImagesToSend,
        profile: AnonymizationProfile | None = None,
        *,
        allow_burned_in_annotations: bool | None = None,
    ) -> None:
        """Queue images for a box; they are anonymized with ``profile`` (plus the Basic
        Profile) on the way out.

        Raises:
            NotFound: no box with that id.
        """
        data = bulk_anonymization_data(
            images, profile, allow_burned_in_annotations=allow_burned_in_annotations
        )
        self._request("POST", f"/api/boxes/{box_id}/send", json=wire.unstructure(data))

    def incoming_transactions(
        self, *, start_index: int = 0, count: int = 20
    ) -> list[IncomingTransaction]:
        """Incoming transactions, most recently updated first."""
        params = _paging(start_index, count)
        return self._json("GET", "/api/boxes/incoming", list[IncomingTransaction], params=params)

    def delete_incoming_transaction(self, transaction_id: int) -> None:
        """Delete an incoming transaction (its images stay)."""
        self._request("DELETE", f"/api/boxes/incoming/{transaction_id}")

    def incoming_transaction_images(self, transaction_id: int) -> list[Image]:
        """The images of an incoming transaction that still exist."""
        path = f"/api/boxes/incoming/{transaction_id}/images"
        return self._json("GET", path, list[Image])

    def outgoing_transactions(
        self, *, start_index: int = 0, count: int = 20
    ) -> list[OutgoingTransaction]:
        """Outgoing transactions, most recently updated first."""
        params = _paging(start_index, count)
        return self._json("GET", "/api/boxes/outgoing", list[OutgoingTransaction], params=params)

    def delete_outgoing_transaction(self, transaction_id: int) -> None:
        """Delete an outgoing transaction: its remaining images are not sent."""
        self._request("DELETE", f"/api/boxes/outgoing/{transaction_id}")

    def outgoing_transaction_images(self, transaction_id: int) -> list[Image]:
        """The images of an outgoing transaction that still exist."""
        path = f"/api/boxes/outgoing/{transaction_id}/images"
        return self._json("GET", path, list[Image])
