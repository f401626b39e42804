"""Box transfers between live servers under faults: ``kill -9`` of the receiver or the sender
in the middle of a transfer, a network that resets connections, a wrong token, a tampered
body. Every transfer still ends FINISHED with every image exactly once (instances and pixel
data compared), and the data directories stay consistent."""

from __future__ import annotations

import hashlib
import uuid
import zlib
from pathlib import Path

import httpx
import pytest

from slicebox_core.models.boxes import TransactionStatus

from .box_data import assert_received_anonymized, make_set, stored, until
from .live import LiveServer
from .servers import CuttingProxy, box_server, check, client
from .test_boxes_transfer import all_finished, connect, upload

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# large enough that a transfer takes a few seconds, so a kill lands in its middle
CRASH_SET = {"patients": 2, "series": 2, "images": 12, "size": 256}
SLOW = {"parallelism": 1}


def received(api) -> int:  # type: ignore[no-untyped-def]
    return sum(t.received_image_count for t in api.incoming_transactions())


def assert_consistent(server: LiveServer, *, crashed: bool) -> None:
    """``slicebox check`` of a stopped server: clean, or after a crash clean once swept
    (a kill in the middle of an ingest may leave a temporary or unreferenced file, never an
    image row without its file)."""
    report = check(server.data_dir)
    assert "image rows without a file (image ids): 0" in report, report
    if crashed:
        check(server.data_dir, sweep=True)
        report = check(server.data_dir)
    assert "exit status 0" in report, report


@pytest.mark.parametrize("victim", ["receiver", "sender"])
def test_kill_9_in_the_middle_of_a_push(tmp_path: Path, victim: str) -> None:
    sender = box_server(tmp_path / "sender", boxes=SLOW)
    receiver = box_server(tmp_path / "receiver", boxes=SLOW)
    try:
        with client(sender) as s, client(receiver) as r:
            _, push_box = connect(r, s)
            data = make_set("Crash", **CRASH_SET)
            total = len(data.files)
            s.send_to_box(push_box.id, [i for series in upload(s, data) for i in series])
            until(lambda: received(r) >= 5, what="the transfer under way")
        killed, survivor = (receiver, sender) if victim == "receiver" else (sender, receiver)
        killed.kill()
        with client(survivor) as api:
            if victim == "receiver":
                progress = api.outgoing_transactions()[0].sent_image_count
            else:
                progress = received(api)
        assert 0 < progress < total, "the kill did not land in the middle of the transfer"
        killed.start()  # same data directory, same port
        with client(sender) as s, client(receiver) as r:
            until(lambda: all_finished(s, 1), what="FINISHED at the sender")
            until(
                lambda: r.incoming_transactions()[0].status == TransactionStatus.FINISHED,
                what="FINISHED at the receiver",
            )
            (incoming,) = r.incoming_transactions()
            assert incoming.received_image_count == total
            (outgoing,) = s.outgoing_transactions()
            assert outgoing.sent_image_count == total
        assert_received_anonymized(receiver.data_dir, sender.data_dir, [data])
    finally:
        receiver.stop()
        sender.stop()
    assert_consistent(sender, crashed=victim == "sender")
    assert_consistent(receiver, crashed=victim == "receiver")


def test_connections_cut_in_the_middle(tmp_path: Path) -> None:
    """Every request of the first connections through the proxy dies half-way, in both
    directions (pushed bodies, polled downloads, answers): nothing is lost or doubled."""
    hospital = box_server(tmp_path / "hospital")
    public = box_server(tmp_path / "public")
    try:
        with (
            CuttingProxy(public.port, after_bytes=120_000, cuts=6) as proxy,
            client(hospital) as h,
            client(public) as u,
        ):
            poll_box = u.create_connection("hospital")
            via_proxy = poll_box.base_url.replace(f":{public.port}/", f":{proxy.port}/")
            push_box = h.connect("public", via_proxy)
            up = make_set("Cut", patients=2, series=2, images=8, size=128)
            down = make_set("Down", patients=2, series=1, images=8, size=128)
            h.send_to_box(push_box.id, [i for s in upload(h, up) for i in s])
            u.send_to_box(poll_box.id, [i for s in upload(u, down) for i in s])
            until(lambda: all_finished(h, 1), what="the pushes")
            until(lambda: all_finished(u, 1), what="the polls")
            assert proxy.cut == 6
            (incoming,) = u.incoming_transactions()
            assert incoming.received_image_count == len(up.files)
            (pulled,) = h.incoming_transactions()
            assert pulled.received_image_count == len(down.files)
        assert_received_anonymized(public.data_dir, hospital.data_dir, [up], extra=16)
        assert_received_anonymized(hospital.data_dir, public.data_dir, [down], extra=32)
    finally:
        public.stop()
        hospital.stop()
    assert_consistent(hospital, crashed=False)
    assert_consistent(public, crashed=False)


def test_wrong_tokens_and_tampered_bodies(tmp_path: Path) -> None:
    public = box_server(tmp_path / "public", workers=1)
    try:
        with client(public) as u:
            poll_box = u.create_connection("hospital")
            # a PUSH box's token (the remote's) authenticates nobody here
            push_box = u.connect("elsewhere", f"http://127.0.0.1:9/api/transactions/{uuid.uuid4()}")
        data = make_set("Tamper", patients=1, series=1, images=1).files[0]
        params = {"transactionid": 1, "sequencenumber": 1, "totalimagecount": 1}
        with httpx.Client(base_url=public.url, timeout=10) as http:  # no user: the token is it
            for token in (push_box.token, "00000000-0000-0000-0000-000000000000"):
                answer = http.post(
                    f"/api/transactions/{token}/image", params=params, content=zlib.compress(data)
                )
                assert answer.status_code == 401
                assert answer.text == f"No box found for token {token}"
            body = bytearray(zlib.compress(data))
            body[len(body) // 2] ^= 0x01
            for headers, content in (
                ({"X-Slicebox-Sha256": hashlib.sha256(data).hexdigest()}, bytes(body)),
                ({"X-Slicebox-Sha256": hashlib.sha256(b"other").hexdigest()}, zlib.compress(data)),
                ({}, bytes(body)),
            ):
                answer = http.post(
                    f"{poll_box.base_url.removeprefix(public.url)}/image",
                    params=params,
                    content=content,
                    headers=headers,
                )
                assert answer.status_code == 400
                assert answer.headers["X-Slicebox-Error"] == "corrupt"
        with client(public) as u:
            assert u.incoming_transactions() == []
        assert stored(public.data_dir) == []
    finally:
        public.stop()
    assert_consistent(public, crashed=False)
