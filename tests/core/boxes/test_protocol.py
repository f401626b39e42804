"""The pure side of the box protocol: URLs, compression and checksums, transitions, back-off."""

from __future__ import annotations

import hashlib
import io
import os
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slicebox_core.boxes import protocol
from slicebox_core.boxes.protocol import (
    CorruptTransfer,
    InflatingReader,
    after_received,
    after_sent,
    api_base,
    backoff_s,
    deflate_chunks,
    gives_up,
    is_stalled,
    parse_base_url,
    parse_status,
    poll_box_online,
)
from slicebox_core.errors import InvalidInput
from slicebox_core.models.boxes import TransactionStatus

TOKEN = "a8d2f3c4-6a3e-4bd2-9c3e-1f2d3c4b5a69"


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port"),
    [
        (f"http://example.com/api/transactions/{TOKEN}", "http", "example.com", 80),
        (f"https://example.com/api/transactions/{TOKEN}", "https", "example.com", 443),
        (f"http://10.0.0.1:5000/api/transactions/{TOKEN}", "http", "10.0.0.1", 5000),
        (
            f"https://sbx.example.org:8443/x/y/transactions/{TOKEN}/",
            "https",
            "sbx.example.org",
            8443,
        ),
        (f"http://[::1]:5001/api/transactions/{TOKEN}", "http", "::1", 5001),
    ],
)
def test_base_urls_parse(url: str, scheme: str, host: str, port: int) -> None:
    parsed = parse_base_url(url)
    assert (parsed.scheme, parsed.host, parsed.port, parsed.token) == (scheme, host, port, TOKEN)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "http://example.com/api/transactions/not-a-uuid",
        f"ftp://example.com/api/transactions/{TOKEN}",
        f"http:///api/transactions/{TOKEN}",
        f"http://example.com:99999/api/transactions/{TOKEN}",
    ],
)
def test_malformed_base_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="Malformed box base url"):
        parse_base_url(url)


def test_api_base_prefers_the_public_url() -> None:
    assert api_base("", "http://127.0.0.1:5000") == "http://127.0.0.1:5000/api"
    assert api_base("https://sbx.example.org/", "http://x") == "https://sbx.example.org/api"
    assert api_base("https://sbx.example.org/api", "http://x") == "https://sbx.example.org/api"
    assert protocol.transactions_url("http://h/api", TOKEN) == f"http://h/api/transactions/{TOKEN}"
    assert protocol.is_token(protocol.new_token())


def _deflated(data: bytes, level: int = 1, chunk: int = 1000) -> list[bytes]:
    return list(deflate_chunks(io.BytesIO(data), level=level, chunk_size=chunk))


@given(st.binary(max_size=20_000), st.integers(0, 9), st.integers(1, 5000))
def test_deflate_inflate_round_trip(data: bytes, level: int, chunk: int) -> None:
    chunks = _deflated(data, level, chunk)
    assert zlib.decompress(b"".join(chunks)) == data  # what the original's Inflater reads
    reader = InflatingReader(chunks, hashlib.sha256(data).hexdigest())
    assert reader.read() == data[: protocol.MAX_INFLATED_CHUNK] or data == b""
    reader = InflatingReader(iter(chunks), hashlib.sha256(data).hexdigest())
    out = b"".join(iter(lambda: reader.read(777), b""))
    assert out == data and reader.size == len(data)


def test_inflating_reader_reads_a_stream_in_bounded_pieces() -> None:
    data = os.urandom(3 * protocol.MAX_INFLATED_CHUNK + 5)
    stream = io.BytesIO(b"".join(_deflated(data)))
    reader = InflatingReader(stream, hashlib.sha256(data).hexdigest())
    pieces = list(iter(lambda: reader.read(-1), b""))
    assert max(len(p) for p in pieces) <= protocol.MAX_INFLATED_CHUNK
    assert b"".join(pieces) == data
    assert reader.sha256 == hashlib.sha256(data).hexdigest()


def test_a_zip_bomb_is_inflated_in_bounded_pieces() -> None:
    bomb = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)  # 64 MiB from ~64 KiB
    reader = InflatingReader([bomb], None)
    sizes = [len(piece) for piece in iter(lambda: reader.read(-1), b"")]
    assert max(sizes) <= protocol.MAX_INFLATED_CHUNK and sum(sizes) == 64 * 1024 * 1024


def test_sha_mismatch_raises_at_the_end() -> None:
    data = b"DICM" * 1000
    reader = InflatingReader(_deflated(data), hashlib.sha256(b"other").hexdigest())
    with pytest.raises(CorruptTransfer, match="SHA-256"):
        while reader.read(100):
            pass


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_damaged_bodies_raise(damage: str) -> None:
    data = os.urandom(50_000)
    body = b"".join(_deflated(data))
    if damage == "truncate":
        body = body[: len(body) // 2]
    elif damage == "flip":
        raw = bytearray(body)
        raw[len(raw) // 2] ^= 0x55
        body = bytes(raw)
    elif damage == "garbage":
        body += b"more"
    else:
        body = b""
    reader = InflatingReader([body], None)  # no checksum: the zlib stream alone catches it
    with pytest.raises(CorruptTransfer):
        while reader.read(4096):
            pass


def test_sha_header_is_validated() -> None:
    assert protocol.check_sha256(None) is None
    assert protocol.check_sha256("A" * 64) == "a" * 64
    with pytest.raises(InvalidInput):
        protocol.check_sha256("xyz")


def test_statuses() -> None:
    assert parse_status("FINISHED") == TransactionStatus.FINISHED
    for bad in ("UNKNOWN", "finished", None, 3):
        with pytest.raises(InvalidInput):
            parse_status(bad)


def test_transitions() -> None:
    waiting = TransactionStatus.WAITING
    assert after_sent(0, 3, waiting).status == TransactionStatus.PROCESSING
    assert after_sent(2, 3, TransactionStatus.PROCESSING) == protocol.Counts(
        3, 0, 3, TransactionStatus.FINISHED
    )
    assert after_sent(3, 3, TransactionStatus.FINISHED).done == 3  # never beyond the total
    assert after_sent(1, 3, TransactionStatus.FAILED).status == TransactionStatus.FAILED
    first = after_received(0, 0, 2, is_new=True)
    assert (first.done, first.added, first.status) == (1, 1, TransactionStatus.PROCESSING)
    second = after_received(1, 1, 2, is_new=False)
    assert (second.done, second.added, second.status) == (2, 1, TransactionStatus.FINISHED)
    assert after_received(2, 2, 2, is_new=True).done == 2


def test_timeouts_and_back_off() -> None:
    assert is_stalled(TransactionStatus.PROCESSING, 0, 15_001, 15)
    assert not is_stalled(TransactionStatus.PROCESSING, 0, 15_000, 15)
    assert not is_stalled(TransactionStatus.WAITING, 0, 99_000, 15)
    assert poll_box_online(1000, 15_999, 15) and not poll_box_online(1000, 16_000, 15)
    assert not poll_box_online(None, 1, 15)
    assert [backoff_s(a, base_s=15, cap_s=100) for a in range(5)] == [0, 15, 30, 60, 100]
    assert backoff_s(10_000, base_s=1, cap_s=7) == 7
    assert not gives_up(4, 5) and gives_up(5, 5)
