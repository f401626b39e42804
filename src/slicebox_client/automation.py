"""Client methods for automation: series types, tag filters, directory watches, import
sessions and the log (spec §3.6, §3.12, §3.14 to §3.16).

A mixin of :class:`~slicebox_client.SliceboxClient`; it uses only the client's ``_json``,
``_request`` plumbing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from slicebox_core import wire
from slicebox_core.models import Image, LogEntry, LogEntryType, SeriesType, Source
from slicebox_core.models.filters import (
    SourceTagFilter,
    TagFilter,
    TagFilterTagPath,
    TagFilterType,
    TagTree,
)
from slicebox_core.models.imports import ImportSession
from slicebox_core.models.seriestypes import (
    IdsQuery,
    SeriesIdSeriesType,
    SeriesIdSeriesTypesResult,
    SeriesTypeRule,
    SeriesTypeRuleAttribute,
    UpdateSeriesTypesRunningStatus,
)
from slicebox_core.models.watch import WatchedDirectory

from .results import UploadResult

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

FileData = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO | Iterable[bytes]


def _paging(start_index: int, count: int) -> dict[str, Any]:
    return {"startindex": start_index, "count": count}


@contextmanager
def _body(data: FileData) -> Iterator[Any]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
    elif isinstance(data, str | os.PathLike):
        with open(data, "rb") as f:
            yield f
    else:
        yield data


class AutomationMixin:
    """Series types, tag filters, directory watches, import sessions and the log."""

    if TYPE_CHECKING:

        def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...

        def _json(self, method: str, path: str, cls: type[T] | Any, **kwargs: Any) -> T: ...

    # series types (spec §3.6) -------------------------------------------------------------
    def series_types(self, *, start_index: int = 0, count: int = 20) -> list[SeriesType]:
        """Series types by id, paged."""
        params = _paging(start_index, count)
        return self._json("GET", "/api/seriestypes", list[SeriesType], params=params)

    def create_series_type(self, name: str) -> SeriesType:
        """Create a series type (ADMINISTRATOR). Raises InvalidInput for a taken name."""
        body = wire.unstructure(SeriesType(-1, name))
        return self._json("POST", "/api/seriestypes", SeriesType, json=body)

    def get_series_type(self, series_type_id: int) -> SeriesType:
        """A series type. Raises NotFound."""
        return self._json("GET", f"/api/seriestypes/{series_type_id}", SeriesType)

    def rename_series_type(self, series_type_id: int, name: str) -> None:
        """Rename a series type (ADMINISTRATOR). Raises NotFound, InvalidInput."""
        body = wire.unstructure(SeriesType(series_type_id, name))
        self._request("PUT", f"/api/seriestypes/{series_type_id}", json=body)

    def delete_series_type(self, series_type_id: int) -> None:
        """Delete a series type, its rules and assignments (ADMINISTRATOR)."""
        self._request("DELETE", f"/api/seriestypes/{series_type_id}")

    def series_type_rules(self, series_type_id: int) -> list[SeriesTypeRule]:
        """The rules of a series type."""
        params = {"seriestypeid": series_type_id}
        return self._json("GET", "/api/seriestypes/rules", list[SeriesTypeRule], params=params)

    def add_series_type_rule(self, series_type_id: int) -> SeriesTypeRule:
        """Add an empty rule to a series type (ADMINISTRATOR). Raises NotFound."""
        body = wire.unstructure(SeriesTypeRule(-1, series_type_id))
        return self._json("POST", "/api/seriestypes/rules", SeriesTypeRule, json=body)

    def delete_series_type_rule(self, rule_id: int) -> None:
        """Delete a rule and its attributes (ADMINISTRATOR)."""
        self._request("DELETE", f"/api/seriestypes/rules/{rule_id}")

    def series_type_rule_attributes(self, rule_id: int) -> list[SeriesTypeRuleAttribute]:
        """The attributes (conditions) of a rule."""
        path = f"/api/seriestypes/rules/{rule_id}/attributes"
        return self._json("GET", path, list[SeriesTypeRuleAttribute])

    def add_series_type_rule_attribute(
        self,
        rule_id: int,
        *,
        tag: int,
        values: str,
        name: str = "",
        tag_path: str | None = None,
        name_path: str | None = None,
    ) -> SeriesTypeRuleAttribute:
        """Add a condition to a rule (ADMINISTRATOR). Raises NotFound, InvalidInput."""
        attribute = SeriesTypeRuleAttribute(-1, rule_id, tag, name, values, tag_path, name_path)
        path = f"/api/seriestypes/rules/{rule_id}/attributes"
        body = wire.unstructure(attribute)
        return self._json("POST", path, SeriesTypeRuleAttribute, json=body)

    def delete_series_type_rule_attribute(self, rule_id: int, attribute_id: int) -> None:
        """Delete a condition of a rule (ADMINISTRATOR)."""
        self._request("DELETE", f"/api/seriestypes/rules/{rule_id}/attributes/{attribute_id}")

    def series_types_updating(self) -> bool:
        """True while series wait for (re-)evaluation."""
        path = "/api/seriestypes/rules/updatestatus"
        return self._json("GET", path, UpdateSeriesTypesRunningStatus).running

    def series_types_for(self, series_ids: Iterable[int]) -> list[SeriesIdSeriesType]:
        """Series types of many series (unknown ids are absent)."""
        body = wire.unstructure(IdsQuery(tuple(int(i) for i in series_ids)))
        path = "/api/seriestypes/series/query"
        result: SeriesIdSeriesTypesResult = self._json(
            "POST", path, SeriesIdSeriesTypesResult, json=body
        )
        return list(result.series_id_series_types)

    # tag filters (spec §3.14) -----------------------------------------------------------------
    def tag_filters(self, *, start_index: int = 0, count: int = 20) -> list[TagFilter]:
        """Tag filters by id, paged."""
        params = _paging(start_index, count)
        return self._json("GET", "/api/filtering/filters", list[TagFilter], params=params)

    def create_tag_filter(self, name: str, tag_filter_type: TagFilterType | str) -> TagFilter:
        """Create a white- or blacklist (ADMINISTRATOR)."""
        body = wire.unstructure(TagFilter(-1, name, TagFilterType(tag_filter_type)))
        return self._json("POST", "/api/filtering/filters", TagFilter, json=body)

    def get_tag_filter(self, filter_id: int) -> TagFilter:
        """A tag filter. Raises NotFound."""
        return self._json("GET", f"/api/filtering/filters/{filter_id}", TagFilter)

    def delete_tag_filter(self, filter_id: int) -> None:
        """Delete a filter, its tag paths and associations (ADMINISTRATOR)."""
        self._request("DELETE", f"/api/filtering/filters/{filter_id}")

    def tag_filter_paths(
        self, filter_id: int, *, start_index: int = 0, count: int = 20
    ) -> list[TagFilterTagPath]:
        """The tag trees of a filter, paged."""
        path = f"/api/filtering/filters/{filter_id}/tagpaths"
        params = _paging(start_index, count)
        return self._json("GET", path, list[TagFilterTagPath], params=params)

    def add_tag_filter_path(self, filter_id: int, tree: TagTree) -> TagFilterTagPath:
        """Add a tag tree to a filter (ADMINISTRATOR). Raises NotFound, InvalidInput."""
        body = wire.unstructure(TagFilterTagPath(-1, filter_id, tree))
        path = f"/api/filtering/filters/{filter_id}/tagpaths"
        return self._json("POST", path, TagFilterTagPath, json=body)

    def delete_tag_filter_path(self, filter_id: int, tag_path_id: int) -> None:
        """Remove a tag tree from a filter (ADMINISTRATOR)."""
        self._request("DELETE", f"/api/filtering/filters/{filter_id}/tagpaths/{tag_path_id}")

    def tag_filter_associations(
        self, *, start_index: int = 0, count: int = 20
    ) -> list[SourceTagFilter]:
        """Source-filter associations, paged."""
        params = _paging(start_index, count)
        path = "/api/filtering/associations"
        return self._json("GET", path, list[SourceTagFilter], params=params)

    def associate_tag_filter(self, source: Source, filter_id: int) -> SourceTagFilter:
        """Apply a filter to what ``source`` sends from now on (ADMINISTRATOR)."""
        association = SourceTagFilter(
            -1, source.source_type, source.source_name, source.source_id, filter_id, ""
        )
        body = wire.unstructure(association)
        return self._json("POST", "/api/filtering/associations", SourceTagFilter, json=body)

    def delete_tag_filter_association(self, association_id: int) -> None:
        """Remove a source-filter association (ADMINISTRATOR)."""
        self._request("DELETE", f"/api/filtering/associations/{association_id}")

    # directory watches (spec §3.12) ----------------------------------------------------------
    def directory_watches(self, *, start_index: int = 0, count: int = 20) -> list[WatchedDirectory]:
        """Watched directories, paged."""
        params = _paging(start_index, count)
        return self._json("GET", "/api/directorywatches", list[WatchedDirectory], params=params)

    def create_directory_watch(self, name: str, path: str) -> WatchedDirectory:
        """Watch a server-local directory (ADMINISTRATOR). Raises InvalidInput."""
        body = wire.unstructure(WatchedDirectory(-1, name, path))
        return self._json("POST", "/api/directorywatches", WatchedDirectory, json=body)

    def delete_directory_watch(self, watch_id: int) -> None:
        """Stop watching a directory (ADMINISTRATOR)."""
        self._request("DELETE", f"/api/directorywatches/{watch_id}")

    # import sessions (spec §3.15) ------------------------------------------------------------
    def import_sessions(self, *, start_index: int = 0, count: int = 20) -> list[ImportSession]:
        """Every user's import sessions, paged."""
        params = _paging(start_index, count)
        return self._json("GET", "/api/import/sessions", list[ImportSession], params=params)

    def create_import_session(self, name: str) -> ImportSession:
        """Create (or get the caller's existing) session. Raises InvalidInput when another
        user owns the name."""
        body = wire.unstructure(ImportSession(-1, name, -1, "", 0, 0, 0, 0, 0))
        return self._json("POST", "/api/import/sessions", ImportSession, json=body)

    def get_import_session(self, session_id: int) -> ImportSession:
        """An import session with its counters. Raises NotFound."""
        return self._json("GET", f"/api/import/sessions/{session_id}", ImportSession)

    def delete_import_session(self, session_id: int) -> None:
        """Delete an import session (its images stay)."""
        self._request("DELETE", f"/api/import/sessions/{session_id}")

    def import_upload(
        self, session_id: int, data: FileData, *, filename: str | None = None
    ) -> UploadResult:
        """Upload one file into a session; streamed.

        Args:
            session_id: the session.
            data: bytes, a path, a binary file object or an iterable of chunks.
            filename: send a multipart form with this file name (the server prefixes error
                messages with it); default: the raw bytes.

        Raises:
            NotFound: unknown session.
            InvalidDicom: the file was rejected (and counted as rejected).
        """
        path = f"/api/import/sessions/{session_id}/images"
        with _body(data) as body:
            if filename is not None:
                files = {"file": (filename, body, "application/octet-stream")}
                response = self._request("POST", path, files=files)
            else:
                headers = {"Content-Type": "application/octet-stream"}
                response = self._request("POST", path, content=body, headers=headers)
        image: Image = wire.structure(response.json(), Image)
        return UploadResult(image, response.status_code == 201)

    def import_session_images(self, session_id: int) -> list[Image]:
        """The session's images that still exist."""
        return self._json("GET", f"/api/import/sessions/{session_id}/images", list[Image])

    # log (spec §3.16) ------------------------------------------------------------------------
    def log(
        self,
        *,
        start_index: int = 0,
        count: int = 20,
        subject: str | None = None,
        entry_type: LogEntryType | str | None = None,
    ) -> list[LogEntry]:
        """Log entries, newest first, optionally of one subject and/or type."""
        params = _paging(start_index, count)
        if subject is not None:
            params["subject"] = subject
        if entry_type is not None:
            params["type"] = LogEntryType(entry_type).value
        return self._json("GET", "/api/log", list[LogEntry], params=params)

    def delete_log_entry(self, entry_id: int) -> None:
        """Delete one log entry."""
        self._request("DELETE", f"/api/log/{entry_id}")

    def clear_log(self) -> None:
        """Delete every log entry (ADMINISTRATOR)."""
        self._request("DELETE", "/api/log")
