"""Listing and query parameters of the metadata routes (spec §3.4, §5.2.3)."""

from __future__ import annotations

import enum

import attrs

from .index import SourceRef


class QueryOperator(enum.StrEnum):
    EQUALS = "="
    LIKE = "like"


@attrs.frozen
class QueryProperty:
    property_name: str
    operator: QueryOperator
    property_value: str


@attrs.frozen
class QueryOrder:
    order_by: str
    order_ascending: bool = True


@attrs.frozen
class QueryFilters:
    """Advanced filters: OR within a list, AND between lists; empty list = no constraint."""

    source_refs: tuple[SourceRef, ...] = ()
    series_type_ids: tuple[int, ...] = ()
    series_tag_ids: tuple[int, ...] = ()


@attrs.frozen
class Query:
    """The body of ``POST /api/metadata/<entity>/query``."""

    start_index: int
    count: int
    query_properties: tuple[QueryProperty, ...] = ()
    order: QueryOrder | None = None
    filters: QueryFilters | None = None


@attrs.frozen(kw_only=True)
class ListQuery:
    """The query parameters of the GET listing routes."""

    start_index: int = 0
    count: int = 20
    order_by: str | None = None
    order_ascending: bool = True
    filter: str | None = None
    filters: QueryFilters = QueryFilters()
