"""Core query values -> the query parameters of the listing routes (spec §3.4)."""

from __future__ import annotations

from slicebox_core.models import ListQuery, QueryFilters


def filter_params(filters: QueryFilters | None) -> dict[str, str]:
    """``sources``, ``seriestypes`` and ``seriestags`` (only those that constrain)."""
    if filters is None:
        return {}
    params: dict[str, str] = {}
    if filters.source_refs:
        params["sources"] = ",".join(
            f"{ref.source_type.value}:{ref.source_id}" for ref in filters.source_refs
        )
    if filters.series_type_ids:
        params["seriestypes"] = ",".join(str(i) for i in filters.series_type_ids)
    if filters.series_tag_ids:
        params["seriestags"] = ",".join(str(i) for i in filters.series_tag_ids)
    return params


def list_params(query: ListQuery | None, *, ordering: bool = True) -> dict[str, str]:
    """Paging, ordering, text filter and advanced filters of a :class:`ListQuery`.

    Args:
        query: the listing; None = the server's defaults.
        ordering: include ``orderby``/``orderascending``/``filter`` (routes that have them).
    """
    if query is None:
        return {}
    params = {"startindex": str(query.start_index), "count": str(query.count)}
    if ordering:
        if query.order_by is not None:
            params["orderby"] = query.order_by
        params["orderascending"] = "true" if query.order_ascending else "false"
        if query.filter is not None:
            params["filter"] = query.filter
    params.update(filter_params(query.filters))
    return params
