"""The typed client: one method per route, core models in and out."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any, BinaryIO, Literal, TypeVar

import httpx

from slicebox_core import wire
from slicebox_core.models import (
    ApiUser,
    ClearTextUser,
    Destination,
    DicomDictionaryKeyword,
    DicomDictionaryKeywords,
    DicomDictionaryTag,
    DicomValueRepresentation,
    ExportSetId,
    FlatSeries,
    Image,
    ImageAttribute,
    ImageInformation,
    ListQuery,
    Multiplicity,
    Patient,
    Query,
    QueryFilters,
    Role,
    Series,
    SeriesTag,
    SeriesType,
    Source,
    Study,
    SystemInformation,
    TagMapping,
    UserInfo,
)

from .anonymization import AnonymizationMixin
from .automation import AutomationMixin
from .boxes import BoxesMixin
from .errors import error_for_response, transport_error
from .forwarding import ForwardingMixin
from .network import NetworkMixin
from .params import filter_params, list_params
from .results import UploadResult

T = TypeVar("T")

Upload = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO | Iterable[bytes]
"""What :meth:`SliceboxClient.upload` accepts: bytes, a file path, a binary file object or an
iterable of byte chunks. Paths and file objects are streamed, never read whole."""

KeywordKind = Literal["all", "sequence", "nonsequence"]

SESSION_COOKIE = "slicebox-session"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
CHUNK = 1 << 20


class SliceboxClient(
    AutomationMixin, NetworkMixin, AnonymizationMixin, BoxesMixin, ForwardingMixin
):
    """A slicebox server over HTTP.

    Args:
        base_url: e.g. ``http://127.0.0.1:5000`` (``/api`` is added by the methods).
        user: user name for HTTP Basic authentication (with ``password``).
        password: password for HTTP Basic authentication.
        transport: an httpx transport, e.g. ``httpx.WSGITransport(app=create_app(sb))`` to
            talk to an app in-process.
        timeout: seconds, or an ``httpx.Timeout``.
        verify: TLS verification: True (system CAs), False, an ``ssl.SSLContext``, or the
            path of a CA bundle (e.g. a server's self-signed certificate).

    Authentication: HTTP Basic with ``user`` and ``password`` on every request, or a cookie
    session after :meth:`login` (the session is bound to this client's address and
    User-Agent and ends after the server's idle timeout).

    Every method raises the core exception of the response's status (``Unauthorized`` for
    401, ``Forbidden`` for 403, ``NotFound`` for 404, ``TooManyRequests`` for 429 with
    ``retry_after``, ``InvalidInput`` for 400, ...), with ``status`` set, and
    :class:`~slicebox_core.errors.PeerUnavailable` when the server cannot be reached.
    """

    def __init__(
        self,
        base_url: str,
        user: str | None = None,
        password: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        verify: bool | str | ssl.SSLContext = True,
    ) -> None:
        self._user = user
        self._password = password
        auth = httpx.BasicAuth(user, password or "") if user is not None else None
        if isinstance(verify, str):  # httpx wants a context for a CA file
            verify = ssl.create_default_context(cafile=verify)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=auth,
            transport=transport,
            timeout=timeout,
            verify=verify,
            headers={"User-Agent": "slicebox-client"},
        )

    # plumbing -------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> SliceboxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; return the response, read in full, whatever its status.

        Raises:
            PeerUnavailable: the server could not be reached.
        """
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request (keywords as for ``httpx.Client.request``); return a successful
        response, read in full.

        Raises:
            SliceboxError: the subclass for the response's status.
            PeerUnavailable: the server could not be reached.
        """
        response = self._send(method, path, **kwargs)
        if response.is_error:
            raise error_for_response(response)
        return response

    @contextmanager
    def _streaming(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None
    ) -> Iterator[httpx.Response]:
        """A successful response whose body is not read yet.

        Raises:
            SliceboxError: the subclass for the response's status.
            PeerUnavailable: the server could not be reached.
        """
        try:
            with self._http.stream(method, path, params=params) as response:
                if response.is_error:
                    response.read()
                    raise error_for_response(response)
                yield response
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc

    def _json(self, method: str, path: str, cls: type[T] | Any, **kwargs: Any) -> T:
        response = self._request(method, path, **kwargs)
        return wire.structure(response.json(), cls)

    @staticmethod
    def _copy(response: httpx.Response, fileobj: IO[bytes]) -> int:
        written = 0
        for chunk in response.iter_bytes(CHUNK):
            fileobj.write(chunk)
            written += len(chunk)
        return written

    # users and sessions (spec §3.1) ------------------------------------------------------
    def login(self, user: str | None = None, password: str | None = None) -> None:
        """Start a cookie session; later requests use the cookie instead of Basic auth.

        Args:
            user: defaults to the constructor's user.
            password: defaults to the constructor's password.

        Raises:
            Unauthorized: wrong user name or password.
        """
        user = self._user if user is None else user
        password = self._password if password is None else password
        if user is None or password is None:
            raise ValueError("login needs a user and a password")
        self._request("POST", "/api/users/login", json={"user": user, "pass": password})
        self._http.auth = None  # type: ignore[assignment]  # from now on the cookie alone

    def logout(self) -> None:
        """End the cookie session (the server clears the cookie).

        Raises:
            Unauthorized: there is no valid session (nor Basic credentials).
        """
        self._request("POST", "/api/users/logout")
        self._http.cookies.delete(SESSION_COOKIE)

    def current_user(self) -> UserInfo | None:
        """The user of the cookie session, or None without a valid session."""
        response = self._send("GET", "/api/users/current")
        if response.status_code == 404:
            return None
        if response.is_error:
            raise error_for_response(response)
        return wire.structure(response.json(), UserInfo)

    def users(self, *, start_index: int = 0, count: int = 20) -> list[ApiUser]:
        """Users in id order, one page (no password hashes)."""
        params = {"startindex": str(start_index), "count": str(count)}
        return self._json("GET", "/api/users", list[ApiUser], params=params)

    def add_user(self, user: str, password: str, *, role: Role = Role.USER) -> ApiUser:
        """Add a user (needs ADMINISTRATOR); an existing name is returned unchanged.

        Raises:
            InvalidInput: role SUPERUSER, or an invalid name or password.
            Forbidden: the caller is not an administrator.
        """
        body = wire.unstructure(ClearTextUser(user, role, password))
        return self._json("POST", "/api/users", ApiUser, json=body)

    def delete_user(self, user_id: int) -> None:
        """Delete a user and its sessions (needs ADMINISTRATOR); unknown ids are ignored.

        Raises:
            InvalidInput: the user is the superuser.
            Forbidden: the caller is not an administrator.
        """
        self._request("DELETE", f"/api/users/{user_id}")

    # system (spec §3.2) ----------------------------------------------------------------------
    def health(self) -> bool:
        """True when the server answers its liveness check."""
        return self._request("GET", "/api/system/health").status_code == 200

    def information(self) -> SystemInformation:
        """The server's version."""
        return self._json("GET", "/api/system/information", SystemInformation)

    def sources(self) -> list[Source]:
        """Every source images can come from."""
        return self._json("GET", "/api/sources", list[Source])

    def destinations(self) -> list[Destination]:
        """Every destination images can be sent to."""
        return self._json("GET", "/api/destinations", list[Destination])

    def openapi(self) -> dict[str, Any]:
        """The server's OpenAPI document."""
        return dict(self._request("GET", "/api/openapi.json").json())

    # DICOM dictionary (spec §3.2) ----------------------------------------------------------
    def keywords(self, filter: str | None = None, *, kind: KeywordKind = "all") -> list[str]:
        """Dictionary keywords, optionally only sequences or non-sequences."""
        path = "/api/dicom/dictionary/keywords"
        if kind != "all":
            path += f"/{kind}"
        params = {"filter": filter} if filter else None
        return list(self._json("GET", path, DicomDictionaryKeywords, params=params).keywords)

    def vr(self, tag: int) -> DicomValueRepresentation:
        """The value representation of a tag (``UN`` when unknown)."""
        params = {"tag": tag}
        return self._json(
            "GET", "/api/dicom/dictionary/vr", DicomValueRepresentation, params=params
        )

    def vm(self, tag: int) -> Multiplicity:
        """The value multiplicity of a tag."""
        return self._json("GET", "/api/dicom/dictionary/vm", Multiplicity, params={"tag": tag})

    def keyword(self, tag: int) -> str:
        """The keyword of a tag. Raises NotFound."""
        params = {"tag": tag}
        found: DicomDictionaryKeyword = self._json(
            "GET", "/api/dicom/dictionary/keyword", DicomDictionaryKeyword, params=params
        )
        return found.keyword

    def tag(self, keyword: str) -> int:
        """The tag of a keyword. Raises NotFound."""
        params = {"keyword": keyword}
        return self._json("GET", "/api/dicom/dictionary/tag", DicomDictionaryTag, params=params).tag

    # images (spec §3.3) ------------------------------------------------------------------------
    def upload(self, data: Upload, *, multipart: bool = False) -> UploadResult:
        """Upload one DICOM instance.

        Args:
            data: bytes, a path, a binary file object or an iterable of chunks; paths and
                file objects are streamed.
            multipart: send a ``multipart/form-data`` body with a ``file`` part instead of the
                raw bytes.

        Returns:
            The stored image, and ``created`` False when it replaced an existing instance.

        Raises:
            InvalidDicom: the server rejected the data; nothing was stored.
        """
        with _opened(data) as body:
            if multipart:
                files = {"file": ("upload.dcm", body, "application/octet-stream")}
                response = self._request("POST", "/api/images", files=files)
            else:
                headers = {"Content-Type": "application/octet-stream"}
                response = self._request("POST", "/api/images", content=body, headers=headers)
        image: Image = wire.structure(response.json(), Image)
        return UploadResult(image, response.status_code == 201)

    def download(self, image_id: int) -> bytes:
        """The stored file of an image. Raises NotFound."""
        return self._request("GET", f"/api/images/{image_id}").content

    def download_to(self, image_id: int, fileobj: IO[bytes]) -> int:
        """Stream the stored file of an image into ``fileobj``; returns the bytes written.

        Raises:
            NotFound: unknown image (nothing is written).
        """
        with self._streaming("GET", f"/api/images/{image_id}") as response:
            return self._copy(response, fileobj)

    def delete_image(self, image_id: int) -> None:
        """Delete an image. Raises NotFound."""
        self._request("DELETE", f"/api/images/{image_id}")

    def delete_images(self, image_ids: Iterable[int]) -> None:
        """Delete images; unknown ids are ignored."""
        self._request("POST", "/api/images/delete", json=[int(i) for i in image_ids])

    def attributes(self, image_id: int) -> list[ImageAttribute]:
        """All attributes before Pixel Data, sequences flattened. Raises NotFound."""
        return self._json("GET", f"/api/images/{image_id}/attributes", list[ImageAttribute])

    def image_information(self, image_id: int) -> ImageInformation:
        """Frames, frame index and pixel value range. Raises NotFound."""
        return self._json("GET", f"/api/images/{image_id}/imageinformation", ImageInformation)

    def png(
        self,
        image_id: int,
        *,
        frame: int = 1,
        window_min: int = 0,
        window_max: int = 0,
        height: int = 0,
    ) -> bytes:
        """One frame rendered as PNG.

        Raises:
            NotFound: unknown image.
            NotRenderable: pixel data that cannot be rendered.
        """
        params = {
            "framenumber": frame,
            "windowmin": window_min,
            "windowmax": window_max,
            "imageheight": height,
        }
        return self._request("GET", f"/api/images/{image_id}/png", params=params).content

    def modify(self, image_id: int, mappings: Iterable[TagMapping]) -> Image:
        """Insert or replace attributes; returns the new image (the old one is deleted).

        Raises:
            NotFound: unknown image.
            InvalidInput: a mapping that cannot be applied.
        """
        body = wire.unstructure(list(mappings))
        return self._json("PUT", f"/api/images/{image_id}/modify", Image, json=body)

    def upload_jpeg(self, data: Upload, *, study_id: int, description: str | None = None) -> Image:
        """Add a JPEG as a Secondary Capture image in a new series of a study.

        Raises:
            NotFound: unknown study.
            InvalidInput: not a JPEG.
        """
        params: dict[str, Any] = {"studyid": study_id}
        if description is not None:
            params["description"] = description
        headers = {"Content-Type": "image/jpeg"}
        with _opened(data) as body:
            return self._json(
                "POST", "/api/images/jpeg", Image, params=params, content=body, headers=headers
            )

    def export(self, image_ids: Iterable[int]) -> int | None:
        """Create a zip export set; returns its id, or None for an empty list."""
        response = self._request("POST", "/api/images/export", json=[int(i) for i in image_ids])
        if response.status_code == 204:
            return None
        return wire.structure(response.json(), ExportSetId).id

    def download_export(self, export_id: int, fileobj: IO[bytes]) -> int:
        """Stream an export set's zip into ``fileobj``; returns the bytes written.

        Raises:
            NotFound: unknown (or expired) export set.
        """
        with self._streaming("GET", "/api/images/export", params={"id": export_id}) as response:
            return self._copy(response, fileobj)

    # metadata (spec §3.4) ------------------------------------------------------------------------
    def patients(self, query: ListQuery | None = None) -> list[Patient]:
        """Patients, paged, ordered and filtered by ``query``."""
        return self._json("GET", "/api/metadata/patients", list[Patient], params=list_params(query))

    def query_patients(self, query: Query) -> list[Patient]:
        """Patients matching a query body."""
        return self._query("patients", query, Patient)

    def get_patient(self, patient_id: int) -> Patient:
        """A patient. Raises NotFound."""
        return self._json("GET", f"/api/metadata/patients/{patient_id}", Patient)

    def patient_images(self, patient_id: int, filters: QueryFilters | None = None) -> list[Image]:
        """All images of a patient's matching series ([] for an unknown patient)."""
        path = f"/api/metadata/patients/{patient_id}/images"
        return self._json("GET", path, list[Image], params=filter_params(filters))

    def studies(self, patient_id: int, query: ListQuery | None = None) -> list[Study]:
        """Studies of a patient (paging and advanced filters of ``query`` apply)."""
        params = {"patientid": str(patient_id), **list_params(query, ordering=False)}
        return self._json("GET", "/api/metadata/studies", list[Study], params=params)

    def query_studies(self, query: Query) -> list[Study]:
        """Studies matching a query body."""
        return self._query("studies", query, Study)

    def get_study(self, study_id: int) -> Study:
        """A study. Raises NotFound."""
        return self._json("GET", f"/api/metadata/studies/{study_id}", Study)

    def study_images(self, study_id: int, filters: QueryFilters | None = None) -> list[Image]:
        """All images of a study's matching series ([] for an unknown study)."""
        path = f"/api/metadata/studies/{study_id}/images"
        return self._json("GET", path, list[Image], params=filter_params(filters))

    def series(self, study_id: int, query: ListQuery | None = None) -> list[Series]:
        """Series of a study (paging and advanced filters of ``query`` apply)."""
        params = {"studyid": str(study_id), **list_params(query, ordering=False)}
        return self._json("GET", "/api/metadata/series", list[Series], params=params)

    def query_series(self, query: Query) -> list[Series]:
        """Series matching a query body."""
        return self._query("series", query, Series)

    def get_series(self, series_id: int) -> Series:
        """A series. Raises NotFound."""
        return self._json("GET", f"/api/metadata/series/{series_id}", Series)

    def images(self, series_id: int, query: ListQuery | None = None) -> list[Image]:
        """Images of a series (paging, ordering and text filter of ``query`` apply)."""
        params = {"seriesid": str(series_id), **list_params(query)}
        for key in ("sources", "seriestypes", "seriestags"):
            params.pop(key, None)
        return self._json("GET", "/api/metadata/images", list[Image], params=params)

    def query_images(self, query: Query) -> list[Image]:
        """Images matching a query body."""
        return self._query("images", query, Image)

    def get_image(self, image_id: int) -> Image:
        """The index entry of an image. Raises NotFound."""
        return self._json("GET", f"/api/metadata/images/{image_id}", Image)

    def flat_series(self, query: ListQuery | None = None) -> list[FlatSeries]:
        """Series with their study and patient."""
        return self._json(
            "GET", "/api/metadata/flatseries", list[FlatSeries], params=list_params(query)
        )

    def query_flat_series(self, query: Query) -> list[FlatSeries]:
        """Flat series matching a query body."""
        return self._query("flatseries", query, FlatSeries)

    def get_flat_series(self, series_id: int) -> FlatSeries:
        """A flat series (by series id). Raises NotFound."""
        return self._json("GET", f"/api/metadata/flatseries/{series_id}", FlatSeries)

    def _query(self, entity: str, query: Query, cls: type[T]) -> list[T]:
        path = f"/api/metadata/{entity}/query"
        return self._json("POST", path, list[cls], json=wire.unstructure(query))  # type: ignore[valid-type]

    # series properties --------------------------------------------------------------------
    def series_source(self, series_id: int) -> Source:
        """The source that most recently added to a series. Raises NotFound."""
        return self._json("GET", f"/api/metadata/series/{series_id}/source", Source)

    def series_types_of(self, series_id: int) -> list[SeriesType]:
        """Series types assigned to a series."""
        path = f"/api/metadata/series/{series_id}/seriestypes"
        return self._json("GET", path, list[SeriesType])

    def add_series_type(self, series_id: int, series_type_id: int) -> None:
        """Assign a series type (idempotent). Raises NotFound."""
        self._request("PUT", f"/api/metadata/series/{series_id}/seriestypes/{series_type_id}")

    def remove_series_type(self, series_id: int, series_type_id: int) -> None:
        """Remove one series type from a series."""
        path = f"/api/metadata/series/{series_id}/seriestypes/{series_type_id}"
        self._request("DELETE", path)

    def remove_series_types(self, series_id: int) -> None:
        """Remove every series type from a series."""
        self._request("DELETE", f"/api/metadata/series/{series_id}/seriestypes")

    def tags_of_series(self, series_id: int) -> list[SeriesTag]:
        """Tags of a series."""
        return self._json("GET", f"/api/metadata/series/{series_id}/seriestags", list[SeriesTag])

    def tag_series(self, series_id: int, name: str) -> SeriesTag:
        """Tag a series by name, creating the tag if needed. Raises NotFound (series)."""
        body = wire.unstructure(SeriesTag(-1, name))
        path = f"/api/metadata/series/{series_id}/seriestags"
        return self._json("POST", path, SeriesTag, json=body)

    def untag_series(self, series_id: int, tag_id: int) -> None:
        """Remove a tag from a series (the tag survives)."""
        self._request("DELETE", f"/api/metadata/series/{series_id}/seriestags/{tag_id}")

    # series tags (spec §3.5) -------------------------------------------------------------------
    def series_tags(
        self,
        *,
        start_index: int = 0,
        count: int = 20,
        order_by: str | None = None,
        order_ascending: bool = True,
        filter: str | None = None,
    ) -> list[SeriesTag]:
        """All series tags, used or not."""
        params: dict[str, Any] = {
            "startindex": start_index,
            "count": count,
            "orderascending": "true" if order_ascending else "false",
        }
        if order_by is not None:
            params["orderby"] = order_by
        if filter is not None:
            params["filter"] = filter
        return self._json("GET", "/api/metadata/seriestags", list[SeriesTag], params=params)

    def create_series_tag(self, name: str) -> SeriesTag:
        """Create a series tag. Raises Conflict for an existing name."""
        body = wire.unstructure(SeriesTag(-1, name))
        return self._json("POST", "/api/metadata/seriestags", SeriesTag, json=body)

    def get_series_tag(self, tag_id: int) -> SeriesTag:
        """A series tag. Raises NotFound."""
        return self._json("GET", f"/api/metadata/seriestags/{tag_id}", SeriesTag)

    def rename_series_tag(self, tag_id: int, name: str) -> SeriesTag:
        """Rename a series tag. Raises NotFound, Conflict."""
        body = wire.unstructure(SeriesTag(tag_id, name))
        return self._json("PUT", f"/api/metadata/seriestags/{tag_id}", SeriesTag, json=body)

    def delete_series_tag(self, tag_id: int) -> None:
        """Delete a series tag and its links to series."""
        self._request("DELETE", f"/api/metadata/seriestags/{tag_id}")


@contextmanager
def _opened(data: Upload) -> Iterator[Any]:
    """Upload data as an httpx body: paths are opened (and closed), the rest passes."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        yield bytes(data)
    elif isinstance(data, (str, os.PathLike)):
        with open(data, "rb") as f:
            yield f
    else:
        yield data
