"""Box transfers between live ``slicebox serve`` processes on loopback, set up and driven
through the REST API only: PUSH and POLL between two servers, and a chain of three that
brings the data home, where the keys restore the real identities."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pydicom
import pytest

from slicebox_core.models.boxes import Box, TransactionStatus

from .box_data import (
    DataSet,
    assert_received_anonymized,
    make_set,
    pixel_hash,
    stored,
    until,
)
from .live import LiveServer
from .servers import Client, box_server, check, client

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    hospital = box_server(tmp_path / "hospital")
    try:
        public = box_server(tmp_path / "public")
    except BaseException:
        hospital.stop()
        raise
    try:
        yield hospital, public
    finally:
        public.stop()
        hospital.stop()


def connect(public: Client, hospital: Client, name: str = "hospital") -> tuple[Box, Box]:
    """``createconnection`` on the public side, ``connect`` with its URL on the other:
    (the public side's POLL box, the hospital's PUSH box)."""
    poll_box = public.create_connection(name)
    push_box = hospital.connect(f"to-{name}", poll_box.base_url)
    return poll_box, push_box


def upload(api: Client, data: DataSet) -> list[list[int]]:
    """Upload a set; the image ids by series."""
    return [[api.upload(f).image.id for f in series] for series in data.series]


def all_finished(api: Client, outgoing: int) -> bool:
    transactions = api.outgoing_transactions(count=100)
    return len(transactions) == outgoing and all(
        t.status == TransactionStatus.FINISHED for t in transactions
    )


def test_push_and_poll(two: tuple[LiveServer, LiveServer]) -> None:
    hospital, public = two
    with client(hospital) as h, client(public) as u:
        poll_box, push_box = connect(u, h)
        up = make_set("Hosp", patients=3, series=2, images=5)
        down = make_set("Pub", patients=2, series=2, images=4)
        up_ids = upload(h, up)
        down_ids = upload(u, down)
        # PUSH in two transactions that carry the same patients: one pseudonym each
        h.send_to_box(push_box.id, [i for s in up_ids[0::2] for i in s])
        h.send_to_box(push_box.id, [i for s in up_ids[1::2] for i in s])
        # POLL: the public side queues, the hospital fetches
        u.send_to_box(poll_box.id, [i for s in down_ids for i in s])
        until(lambda: all_finished(h, 2), what="the hospital's pushes")
        until(lambda: all_finished(u, 1), what="the public side's queue")
        until(
            lambda: {t.status for t in u.incoming_transactions()} == {TransactionStatus.FINISHED},
            what="FINISHED at the receiver",
        )
        incoming = u.incoming_transactions()
        assert sorted(t.received_image_count for t in incoming) == [15, 15]
        assert all(t.added_image_count == 15 for t in incoming)
        (pulled,) = h.incoming_transactions()
        assert (pulled.received_image_count, pulled.total_image_count) == (16, 16)
        assert {b.name: b.online for b in u.boxes()} == {"hospital": True}
        assert {b.name: b.online for b in h.boxes()} == {"to-hospital": True}
        assert len(h.outgoing_transaction_images(h.outgoing_transactions()[0].id)) == 15
    assert_received_anonymized(public.data_dir, hospital.data_dir, [up], extra=16)
    assert_received_anonymized(hospital.data_dir, public.data_dir, [down], extra=30)
    hospital.stop()
    public.stop()
    for server in two:
        report = check(server.data_dir)
        assert "exit status 0" in report, report


def test_a_chain_of_three_brings_the_data_home(tmp_path: Path) -> None:
    """A pushes to B, C polls B, C pushes to A: B and C only ever see pseudonyms, and A's
    keys turn what comes home back into A's own instances (overwritten, not added)."""
    servers: list[LiveServer] = []
    try:
        with ThreadPoolExecutor(3) as pool:  # start together: saves half the test's time
            starting = [pool.submit(box_server, tmp_path / n, workers=1) for n in "abc"]
            failures = []
            for future in starting:
                try:
                    servers.append(future.result())
                except Exception as exc:  # the others are stopped below
                    failures.append(exc)
        if failures:
            raise failures[0]
        a, b, c = servers
        with client(a) as ca, client(b) as cb, client(c) as cc:
            _, a_to_b = connect(cb, ca, "a")  # A pushes to B
            c_polled_by, _ = connect(cb, cc, "c")  # C polls B
            _, c_to_a = connect(ca, cc, "c-home")  # C pushes to A
            data = make_set("Home", patients=2, series=2, images=5)
            ids = [i for s in upload(ca, data) for i in s]
            ca.send_to_box(a_to_b.id, ids)
            until(lambda: all_finished(ca, 1), what="A to B")
            (at_b,) = cb.incoming_transactions()
            cb.send_to_box(c_polled_by.id, [i.id for i in cb.incoming_transaction_images(at_b.id)])
            until(lambda: all_finished(cb, 1), what="B to C")
            (at_c,) = cc.incoming_transactions()
            cc.send_to_box(c_to_a.id, [i.id for i in cc.incoming_transaction_images(at_c.id)])
            until(lambda: all_finished(cc, 1), what="C to A")
            until(
                lambda: ca.incoming_transactions()[0].status == TransactionStatus.FINISHED,
                what="A received",
            )
            (home,) = ca.incoming_transactions()
            assert (home.received_image_count, home.added_image_count) == (20, 0)
        assert_received_anonymized(b.data_dir, a.data_dir, [data])
        assert_received_anonymized(c.data_dir, a.data_dir, [data])
        at_home = [pydicom.dcmread(io.BytesIO(f)) for _, f in stored(a.data_dir)]
        assert len(at_home) == 20
        real = {(p.name, p.id) for p in data.patients}
        assert {(str(ds.PatientName), ds.PatientID) for ds in at_home} == real
        assert sorted(data.pixel_hashes().elements()) == sorted(map(pixel_hash, at_home))
    finally:
        for server in reversed(servers):
            server.stop()
    for server in servers:
        report = check(server.data_dir)
        assert "exit status 0" in report, report
