"""Anonymization over HTTP (spec §3.3, §3.7): a mixin of the client.

>>> data = AnonymizationData(AnonymizationProfile.basic(), ())
>>> new = client.anonymize_image(image.id, data)             # in place: a new image
>>> anonymous = client.anonymized_bytes(image.id, data)      # a download; storage unchanged
>>> keys = client.anonymization_keys(ListQuery(filter="ANON"))
>>> with open("keys.csv", "wb") as f:
...     client.download_anonymization_keys_csv(f)             # ADMINISTRATOR only
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import IO, TYPE_CHECKING, Any, TypeVar

import attrs

from slicebox_core import wire
from slicebox_core.models import Image, ListQuery
from slicebox_core.models.anonymization import (
    AnonymizationData,
    AnonymizationKey,
    AnonymizationKeyQuery,
    AnonymizationKeyValue,
    BulkAnonymizationData,
    ConfidentialityOption,
)

from .params import list_params

if TYPE_CHECKING:
    from typing import Protocol

    import httpx

    class _Client(Protocol):
        def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...

        def _json(self, method: str, path: str, cls: Any, **kwargs: Any) -> Any: ...

        def _streaming(
            self, method: str, path: str, *, params: Any = None
        ) -> AbstractContextManager[httpx.Response]: ...

else:
    _Client = object

D = TypeVar("D", AnonymizationData, BulkAnonymizationData)

CHUNK = 1 << 20


def _allowing(data: D, allow_burned_in: bool) -> D:
    if allow_burned_in and not data.allow_burned_in_annotations:
        return attrs.evolve(data, allow_burned_in_annotations=True)
    return data


class AnonymizationMixin(_Client):
    """Methods of :class:`~slicebox_client.SliceboxClient` for anonymization and its keys."""

    # images (spec §3.3) ---------------------------------------------------------------------
    def anonymize_image(
        self, image_id: int, data: AnonymizationData, *, allow_burned_in: bool = False
    ) -> Image:
        """Anonymize a stored image in place; returns the new image (the old one is deleted).

        Args:
            image_id: the stored image.
            data: profile (used as given; the Basic Profile always applies) and tag values.
            allow_burned_in: anonymize an image that may show identifying text in its pixels
                (sets ``allowBurnedInAnnotations``); the pixels are not cleaned.

        Raises:
            NotFound: unknown image.
            InvalidInput: unsupported profile, bad tag value, or burned-in annotation.
        """
        body = wire.unstructure(_allowing(data, allow_burned_in))
        return self._json("PUT", f"/api/images/{image_id}/anonymize", Image, json=body)

    def anonymized_bytes(
        self, image_id: int, data: AnonymizationData, *, allow_burned_in: bool = False
    ) -> bytes:
        """The anonymized file of a stored image; storage is not changed, a key is recorded.

        Data already flagged anonymous comes back unchanged.

        Raises:
            NotFound: unknown image.
            InvalidInput: unsupported profile, bad tag value, or burned-in annotation.
        """
        body = wire.unstructure(_allowing(data, allow_burned_in))
        return self._request("POST", f"/api/images/{image_id}/anonymized", json=body).content

    # anonymization (spec §3.7) ------------------------------------------------------------------
    def anonymize_images(
        self, data: BulkAnonymizationData, *, allow_burned_in: bool = False
    ) -> list[Image]:
        """Anonymize many stored images in place (Basic Profile added); returns the new
        images in no particular order. Unknown image ids are skipped.

        Raises:
            InvalidInput: unsupported profile, bad tag value, or an image with burned-in
                annotation (then no image was changed).
        """
        body = wire.unstructure(_allowing(data, allow_burned_in))
        return self._json("POST", "/api/anonymization/anonymize", list[Image], json=body)

    def anonymization_options(self) -> list[ConfidentialityOption]:
        """The supported confidentiality options besides the Basic Profile."""
        path = "/api/anonymization/options"
        return self._json("GET", path, list[ConfidentialityOption])

    def anonymization_keys(self, query: ListQuery | None = None) -> list[AnonymizationKey]:
        """Anonymization keys, paged and ordered by ``query``; its ``filter`` is a
        case-insensitive prefix of any real or anonymous name, ID or UID.

        Raises:
            InvalidInput: ``order_by`` is not a column of the key table.
        """
        params = list_params(query)
        return self._json("GET", "/api/anonymization/keys", list[AnonymizationKey], params=params)

    def query_anonymization_keys(self, query: AnonymizationKeyQuery) -> list[AnonymizationKey]:
        """Keys matching every property of ``query``.

        Raises:
            InvalidInput: a property or order name that is not a key column.
        """
        body = wire.unstructure(query)
        path = "/api/anonymization/keys/query"
        return self._json("POST", path, list[AnonymizationKey], json=body)

    def anonymization_key(self, key_id: int) -> AnonymizationKey:
        """One key. Raises NotFound."""
        return self._json("GET", f"/api/anonymization/keys/{key_id}", AnonymizationKey)

    def delete_anonymization_key(self, key_id: int) -> None:
        """Delete a key and its values (unknown ids are ignored)."""
        self._request("DELETE", f"/api/anonymization/keys/{key_id}")

    def anonymization_key_values(self, key_id: int) -> list[AnonymizationKeyValue]:
        """The extra key values of a key ([] for an unknown key)."""
        path = f"/api/anonymization/keys/{key_id}/keyvalues"
        return self._json("GET", path, list[AnonymizationKeyValue])

    def download_anonymization_keys_csv(self, fileobj: IO[bytes]) -> int:
        """Stream the keys as semicolon-separated CSV into ``fileobj``; returns bytes written.

        Raises:
            Forbidden: the user is not an ADMINISTRATOR.
        """
        with self._streaming("GET", "/api/anonymization/keys/export/csv") as response:
            written = 0
            for chunk in response.iter_bytes(CHUNK):
                fileobj.write(chunk)
                written += len(chunk)
            return written

    def anonymization_keys_csv(self) -> str:
        """The keys as CSV text (for small key tables; see
        :meth:`download_anonymization_keys_csv`).

        Raises:
            Forbidden: the user is not an ADMINISTRATOR.
        """
        return self._request("GET", "/api/anonymization/keys/export/csv").text
