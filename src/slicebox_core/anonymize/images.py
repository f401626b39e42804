"""Anonymization of stored images: in place, and as a download (spec §3.3, §3.7, §5.18.7).

:class:`ImageAnonymizer` joins the image store and the anonymization service:

* :meth:`~ImageAnonymizer.anonymize_image` replaces a stored image by its anonymized version
  (``PUT /images/{id}/anonymize``);
* :meth:`~ImageAnonymizer.anonymize_images` does that for many images, a few at a time
  (``POST /anonymization/anonymize``);
* :meth:`~ImageAnonymizer.anonymized_bytes` returns the anonymized file and leaves storage
  alone (``POST /images/{id}/anonymized``).

Every call records an anonymization key for the *real* image id. Note spec §5.4.9: with
``purge_empty_keys`` (the default) deleting an image deletes its keys, and in-place
anonymization deletes the original right after storing the anonymized copy - so the key of an
in-place anonymization is purged at once and the copy cannot be reversed later. The behaviour
is the original's and kept; set ``anonymization.purge_empty_keys = false`` to keep such keys.

    >>> anonymizer = ImageAnonymizer(sb.images, sb.anonymization)
    >>> new = anonymizer.anonymize_image(image.id, AnonymizationData(profile, ()))
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from pydicom import dcmread
from pydicom.dataset import Dataset

from ..errors import InvalidInput, NotFound
from ..images.service import ImageService
from ..models.anonymization import (
    AnonymizationData,
    AnonymizationProfile,
    BulkAnonymizationData,
    ImageTagValues,
    TagValue,
)
from ..models.index import Image
from .engine import check_burned_in
from .profile import resolve_profile
from .service import AnonymizationService, is_anonymous

#: images anonymized at once by :meth:`ImageAnonymizer.anonymize_images` (the original: 8;
#: reading, hashing and storing overlap well at 4, and more only queue on the database)
PARALLELISM = 4

# Stripped before in-place anonymization so that the data is anonymized again (spec §5.4.2)
# and the key records the real image without an earlier anonymization's markers.
_MARKERS = (0x00120062, 0x00120063)  # PatientIdentityRemoved, DeidentificationMethod
# what the burned-in check reads (file meta is always read)
_BURNED_IN_TAGS = [0x00280301, 0x00080016]  # BurnedInAnnotation, SOPClassUID


def no_image(image_id: int) -> NotFound:
    """The 404 of the anonymization routes, worded as the original (spec §3.3)."""
    return NotFound(f"No image meta data found for image id {image_id}")


class ImageAnonymizer:
    """Anonymize stored images in place or into a download.

    Args:
        images: the image store (reads the originals, stores the anonymized copies).
        anonymization: the engine with its keys.
        parallelism: images anonymized at once by :meth:`anonymize_images`.
    """

    def __init__(
        self,
        images: ImageService,
        anonymization: AnonymizationService,
        *,
        parallelism: int = PARALLELISM,
    ) -> None:
        self._images = images
        self._anonymization = anonymization
        self._parallelism = max(1, parallelism)

    def anonymize_image(
        self, image_id: int, data: AnonymizationData, *, allow_burned_in: bool = False
    ) -> Image:
        """Replace a stored image by its anonymized version (spec §5.18.7).

        The stored file is anonymized even if it is flagged anonymous already, with the
        profile as given (the engine applies the Basic Profile in any case), and stored with
        the original series' source and tags and without reverse anonymization; then the
        original is deleted (``ImagesDeleted``, which purges its key under
        ``purge_empty_keys``, see the module notes). A series without a source (ingest always
        records one) gets source ``unknown``, as with modify; the original answered 404.

        Args:
            image_id: the stored image.
            data: profile and tag values; its ``allow_burned_in_annotations`` counts too.
            allow_burned_in: anonymize images that may show identifying text in their pixels
                (BurnedInAnnotation YES, Secondary Capture); the pixels are not cleaned.

        Returns:
            The new image (a new id, unless the profile left every identifier as it was).

        Raises:
            NotFound: unknown image.
            BurnedInAnnotation: the image may show identifying text in its pixels.
            InvalidInput: unsupported profile, a bad tag value.
        """
        allow = allow_burned_in or bool(data.allow_burned_in_annotations)
        return self._in_place(image_id, data.profile, data.tag_values, allow)

    def anonymize_images(
        self, data: BulkAnonymizationData, *, allow_burned_in: bool = False
    ) -> list[Image]:
        """Anonymize many stored images in place, up to ``parallelism`` at a time (spec §3.7).

        The Basic Profile is added to the profile if absent. Unknown images (and repeated
        ids) are skipped. Unless burned-in annotation is allowed, every image is checked
        before any is changed, and one that may show identifying text in its pixels refuses
        the whole request. The originals are deleted together once all copies are stored
        (one transaction and one ``ImagesDeleted``; also when a later image failed), so a
        crash midway leaves both versions of some images, never neither.

        Args:
            data: profile, image ids with their tag values, and ``allow_burned_in_annotations``.
            allow_burned_in: as in :meth:`anonymize_image`.

        Returns:
            The new images, in no particular order.

        Raises:
            BurnedInAnnotation: an image that may show identifying text (nothing changed).
            InvalidInput: an unsupported profile (nothing changed), or a bad tag value
                (raised once the images already started are done; those not started yet are
                left alone).
        """
        profile = data.profile.with_basic()
        resolve_profile(profile)  # validate before touching anything
        allow = allow_burned_in or bool(data.allow_burned_in_annotations)
        first: dict[int, ImageTagValues] = {}
        for item in data.image_tag_values_set:
            first.setdefault(item.image_id, item)  # a repeated id is anonymized once
        items = list(first.values())
        if not allow:
            for item in items:
                self._check_burned_in(item.image_id)
        if not items:
            return []

        originals: list[int] = []  # appended by the worker threads (list.append is atomic)

        def one(item: ImageTagValues) -> Image:
            image = self._in_place(
                item.image_id, profile, item.tag_values, allow, delete_original=False
            )
            if image.id != item.image_id:
                originals.append(item.image_id)
            return image

        try:
            with ThreadPoolExecutor(min(self._parallelism, len(items))) as pool:
                futures = [pool.submit(one, item) for item in items]
                return _gather(futures)
        finally:
            # The originals of the stored copies go at the end, in one deletion (one
            # transaction, one ImagesDeleted, one key purge), also after a failure.
            self._images.delete_many(originals)

    def anonymized_bytes(
        self, image_id: int, data: AnonymizationData, *, allow_burned_in: bool = False
    ) -> bytes:
        """The anonymized file of a stored image; storage is not changed (spec §3.3).

        A key is recorded for the image. Data flagged anonymous already is returned unchanged
        (byte for byte) and records no key (spec §5.4.2).

        Args:
            image_id: the stored image.
            data: profile (as given) and tag values; its ``allow_burned_in_annotations``
                counts too.
            allow_burned_in: as in :meth:`anonymize_image`.

        Raises:
            NotFound: unknown image.
            BurnedInAnnotation: the image may show identifying text in its pixels.
            InvalidInput: unsupported profile, a bad tag value.
        """
        allow = allow_burned_in or bool(data.allow_burned_in_annotations)
        try:
            stored = self._images.read_bytes(image_id)
        except NotFound:
            raise no_image(image_id) from None
        ds = dcmread(io.BytesIO(stored))
        if is_anonymous(ds):
            return stored  # spec §5.4.2: unchanged, byte for byte
        if not allow:
            refuse_burned_in(image_id, ds)
        return self._anonymization.anonymize_to_bytes(
            ds, data.profile, data.tag_values, image_id, allow_burned_in=True
        )

    # ------------------------------------------------------------------------------------------

    def _in_place(
        self,
        image_id: int,
        profile: AnonymizationProfile,
        tag_values: Sequence[TagValue],
        allow_burned_in: bool,
        *,
        delete_original: bool = True,
    ) -> Image:
        try:
            ds = self._images.dataset(image_id)
        except NotFound:
            raise no_image(image_id) from None
        if not allow_burned_in:
            refuse_burned_in(image_id, ds)
        for tag in _MARKERS:
            if tag in ds:
                del ds[tag]
        anonymous = self._anonymization.anonymize_to_bytes(
            ds, profile, tag_values, image_id, force=True, allow_burned_in=True
        )
        try:
            return self._images.replace(
                image_id,
                anonymous,
                reverse_anonymization=False,
                delete_original=delete_original,
            )
        except NotFound:  # deleted meanwhile
            raise no_image(image_id) from None

    def _check_burned_in(self, image_id: int) -> None:
        try:
            path, temporary = self._images.local_file(image_id)
        except NotFound:
            return  # skipped later
        try:
            header = dcmread(path, stop_before_pixels=True, specific_tags=_BURNED_IN_TAGS)
        finally:
            if temporary:
                path.unlink(missing_ok=True)
        refuse_burned_in(image_id, header)


class BurnedInAnnotation(InvalidInput):
    """An image may show identifying text in its pixels and burned-in annotation was not
    allowed (PS3.15 E.3.1). Nothing was anonymized.

    Attributes:
        image_id: the refused image.
    """

    def __init__(self, image_id: int, detail: str) -> None:
        super().__init__(f"Image {image_id} was not anonymized: {detail}")
        self.image_id = image_id


def refuse_burned_in(image_id: int, ds: Dataset) -> None:
    """Raise :class:`BurnedInAnnotation` for an image flagged BurnedInAnnotation YES or of a
    Secondary Capture class; the engine's check, with the image named."""
    try:
        check_burned_in(ds, allow_burned_in=False)
    except InvalidInput as exc:
        raise BurnedInAnnotation(image_id, str(exc)) from None


def _gather(futures: list[Future[Image]]) -> list[Image]:
    """Results of the futures that did not raise NotFound; on any other error cancel those
    not started, wait for the running ones, and raise the first error."""
    images: list[Image] = []
    error: BaseException | None = None
    for future in futures:
        if future.cancelled():
            continue
        try:
            images.append(future.result())
        except NotFound:
            continue
        except BaseException as exc:  # re-raised below, once the running ones are done
            if error is None:
                error = exc
                for pending in futures:
                    pending.cancel()
    if error is not None:
        raise error
    return images
