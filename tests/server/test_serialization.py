"""Parsing query parameters and bodies (pure, through falcon's request simulator)."""

from __future__ import annotations

import pytest
from falcon import testing

from slicebox_core.config import ServerConfig
from slicebox_core.errors import InvalidInput, NotFound, PayloadTooLarge
from slicebox_core.models import ListQuery, QueryFilters, SourceRef, SourceType
from slicebox_server.serialization import (
    id_list,
    list_query,
    parse_int,
    read_json,
    required_int_param,
    source_refs,
)


def request(query: str = "", body: bytes = b"") -> object:
    return testing.create_req(query_string=query, body=body)


def test_source_refs() -> None:
    assert source_refs("user:1, BOX:23") == (
        SourceRef(SourceType.USER, 1),
        SourceRef(SourceType.BOX, 23),
    )
    assert source_refs("") == () and source_refs(None) == ()
    for bad in ("user", "user:x", "robot:1", "user:1:2"):
        with pytest.raises(InvalidInput):
            source_refs(bad)


def test_id_lists_and_ints() -> None:
    assert id_list("seriestags", "1, 2,3,") == (1, 2, 3)
    with pytest.raises(InvalidInput, match="seriestags"):
        id_list("seriestags", "1,a")
    assert parse_int("x", " -4 ") == -4
    for bad in ("1.0", "", "0x10", str(2**63)):
        with pytest.raises(InvalidInput):
            parse_int("x", bad)


def test_list_query_defaults_and_cap() -> None:
    server = ServerConfig(max_page_size=50)
    assert list_query(request(), server) == ListQuery()
    query = list_query(
        request(
            "startindex=5&count=500&orderby=patientName&orderascending=false&filter=x"
            "&sources=user:1&seriestypes=2&seriestags=3"
        ),
        server,
    )
    assert query == ListQuery(
        start_index=5,
        count=50,
        order_by="patientName",
        order_ascending=False,
        filter="x",
        filters=QueryFilters((SourceRef(SourceType.USER, 1),), (2,), (3,)),
    )
    unordered = list_query(request("orderby=x&filter=y"), server, ordering=False)
    assert unordered.order_by is None and unordered.filter is None


def test_required_int_param() -> None:
    with pytest.raises(NotFound):
        required_int_param(request(), "patientid")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        required_int_param(request("patientid=a"), "patientid")  # type: ignore[arg-type]
    assert required_int_param(request("patientid=3"), "patientid") == 3  # type: ignore[arg-type]


def test_read_json() -> None:
    assert read_json(request(body=b'{"a": 1}'), max_bytes=100) == {"a": 1}  # type: ignore[arg-type]
    with pytest.raises(PayloadTooLarge):
        read_json(request(body=b"[" + b"1," * 100 + b"1]"), max_bytes=10)  # type: ignore[arg-type]
    for bad in (b"", b"  ", b"{", b"\xff"):
        with pytest.raises(InvalidInput):
            read_json(request(body=bad), max_bytes=100)  # type: ignore[arg-type]
