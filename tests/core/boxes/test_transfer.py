"""Whole transfers between two in-process sliceboxes (LocalPeer: the protocol without HTTP):
PUSH and POLL, anonymized with keys at the sender, exactly once, retried, failed."""

from __future__ import annotations

import time
from collections.abc import Callable

import pydicom
import pytest
from pydicom.uid import generate_uid

from slicebox_core import Slicebox
from slicebox_core.boxes.peer import PushOutcome
from slicebox_core.boxes.worker import BoxLoops, BoxWorker
from slicebox_core.errors import PeerUnavailable
from slicebox_core.models.anonymization import (
    AnonymizationProfile,
    BulkAnonymizationData,
    ImageTagValues,
    TagValue,
)
from slicebox_core.models.boxes import TransactionStatus
from slicebox_core.models.dicom import TagPath
from slicebox_core.models.query import ListQuery
from tests.factories import dicom_bytes

from .conftest import Pair
from .test_service import all_images, bulk

PATIENTS = [("Smith^Anna", "PID-A", "19610203"), ("Berg^Bo", "PID-B", "19720304")]


def add_set(sb: Slicebox, *, series: int = 2, images: int = 3) -> list[int]:
    """A multi-patient, multi-series set: patients x 1 study x ``series`` x ``images``."""
    ids = []
    for name, pid, birth in PATIENTS:
        study = generate_uid()
        for s in range(series):
            series_uid = generate_uid()
            for i in range(images):
                data = dicom_bytes(
                    patient_name=name,
                    patient_id=pid,
                    PatientBirthDate=birth,
                    study_uid=study,
                    series_uid=series_uid,
                    InstanceNumber=i + 1,
                    pixel_seed=100 * s + i,
                )
                ids.append(sb.images.add(data).image.id)
    return ids


def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def received_datasets(sb: Slicebox) -> list[pydicom.Dataset]:
    return [sb.images.dataset(image.id) for image in all_images(sb)]


def assert_anonymized_with_keys(sender: Slicebox, receiver: Slicebox, count: int) -> None:
    datasets = received_datasets(receiver)
    assert len(datasets) == count
    for image in all_images(receiver):
        raw = receiver.images.read_bytes(image.id)
        for name, pid, birth in PATIENTS:
            for secret in (name, pid, birth):
                assert secret.encode() not in raw
    keys = sender.anonymization.keys.list(ListQuery(count=100_000))
    by_anon = {k.anon_sop_instance_uid: k for k in keys}
    real = {(n, p) for n, p, _ in PATIENTS}
    for ds in datasets:
        key = by_anon[ds.SOPInstanceUID]  # the sender's key maps every pseudonym back
        assert (key.anon_patient_name, key.anon_patient_id) == (
            str(ds.PatientName),
            ds.PatientID,
        )
        assert (key.patient_name, key.patient_id) in real
    # harmonized: one pseudonym per real patient
    assert len({ds.PatientID for ds in datasets}) == len(PATIENTS)


def drain_push(loops: BoxLoops, pair: Pair, tx_id: int) -> None:
    deadline = time.monotonic() + 30
    while pair.h.get_outgoing(tx_id).status != TransactionStatus.FINISHED:
        if not loops.push_once():
            time.sleep(0.06)  # back-off of a failed image
        assert time.monotonic() < deadline


def test_push_transfer(pair: Pair) -> None:
    ids = add_set(pair.hospital)
    tx = pair.h.send(pair.push_box.id, bulk(*ids))
    loops = BoxLoops(pair.h, pair.push_box, pair.peer(), owner="test")
    try:
        drain_push(loops, pair, tx.id)
    finally:
        loops.stop()
    out = pair.h.get_outgoing(tx.id)
    assert (out.sent_image_count, out.total_image_count) == (len(ids), len(ids))
    (incoming,) = pair.u.incoming()
    assert incoming.status == TransactionStatus.FINISHED
    assert (incoming.received_image_count, incoming.added_image_count) == (len(ids), len(ids))
    assert incoming.outgoing_transaction_id == tx.id
    assert_anonymized_with_keys(pair.hospital, pair.public, len(ids))
    assert [e.image_ids for e in pair.sent] == [tuple(ids)]  # ImagesSent once
    assert pair.h.pending() == 0


def test_poll_transfer(pair: Pair) -> None:
    ids = add_set(pair.public)  # the public side sends to the hospital, which polls
    tx = pair.u.send(pair.poll_box.id, bulk(*ids))
    loops = BoxLoops(pair.h, pair.push_box, pair.peer(), owner="test")
    try:
        while loops.poll_once():
            pass
    finally:
        loops.stop()
    assert pair.u.get_outgoing(tx.id).status == TransactionStatus.FINISHED
    (incoming,) = pair.h.incoming()
    assert incoming.status == TransactionStatus.FINISHED
    assert incoming.received_image_count == len(ids)
    assert_anonymized_with_keys(pair.public, pair.hospital, len(ids))
    assert pair.h.list()[0].online


def test_damaged_downloads_are_fetched_again_at_once(pair: Pair) -> None:
    ids = add_set(pair.public, series=1, images=2)
    tx = pair.u.send(pair.poll_box.id, bulk(*ids))
    peer = pair.peer(damage_fetches=2)  # at most 2 of an image's 3 tries
    loops = BoxLoops(pair.h, pair.push_box, peer, owner="test")
    try:
        assert loops.poll_once() == len(ids)  # one pass: no waiting for the leases to end
    finally:
        loops.stop()
    assert peer.damage_fetches == 0
    assert pair.u.get_outgoing(tx.id).status == TransactionStatus.FINISHED
    assert len(all_images(pair.hospital)) == len(ids)


def test_same_patient_twice_gets_the_same_pseudonym(pair: Pair) -> None:
    name, pid, _ = PATIENTS[0]
    first = pair.hospital.images.add(dicom_bytes(patient_name=name, patient_id=pid)).image.id
    second = pair.hospital.images.add(dicom_bytes(patient_name=name, patient_id=pid)).image.id
    loops = BoxLoops(pair.h, pair.push_box, pair.peer(), owner="test")
    try:
        for image_id in (first, second):
            tx = pair.h.send(pair.push_box.id, bulk(image_id))
            drain_push(loops, pair, tx.id)
    finally:
        loops.stop()
    a, b = received_datasets(pair.public)
    assert (str(a.PatientName), a.PatientID) == (str(b.PatientName), b.PatientID)
    assert a.PatientID != pid


def test_custom_tag_values_are_applied_on_the_way_out(pair: Pair) -> None:
    image_id = add_set(pair.hospital, series=1, images=1)[0]
    values = (
        TagValue(TagPath.of(0x00100010), "anon 001"),
        TagValue(TagPath.of(0x00100020), "ID 001"),
    )
    profile = AnonymizationProfile.of("RETAIN_PATIENT_CHARACTERISTICS")
    data = BulkAnonymizationData(profile, (ImageTagValues(image_id, values),))
    tx = pair.h.send(pair.push_box.id, data)
    loops = BoxLoops(pair.h, pair.push_box, pair.peer(), owner="test")
    try:
        drain_push(loops, pair, tx.id)
    finally:
        loops.stop()
    (ds,) = received_datasets(pair.public)
    assert (str(ds.PatientName), ds.PatientID, ds.PatientSex) == ("anon 001", "ID 001", "M")


def test_a_tampered_body_is_not_stored_and_sent_again(pair: Pair) -> None:
    ids = add_set(pair.hospital, series=1, images=2)
    tx = pair.h.send(pair.push_box.id, bulk(*ids))
    bad = BoxLoops(pair.h, pair.push_box, pair.peer(tamper=True), owner="bad")
    try:
        assert bad.push_once() == len(ids)
    finally:
        bad.stop()
    assert all_images(pair.public) == [] and pair.u.incoming() == []
    assert pair.h.get_outgoing(tx.id).status == TransactionStatus.WAITING
    good = BoxLoops(pair.h, pair.push_box, pair.peer(), owner="good")
    try:
        drain_push(good, pair, tx.id)
    finally:
        good.stop()
    assert len(all_images(pair.public)) == len(ids)


def test_a_lost_answer_does_not_store_twice(pair: Pair) -> None:
    """The receiver stored the image but the sender never heard: it sends again, and the
    receiver recognises the sequence number."""
    ids = add_set(pair.hospital, series=1, images=3)
    tx = pair.h.send(pair.push_box.id, bulk(*ids))
    peer = pair.peer()
    real_push = peer.push_image
    lost = {"n": 0}

    def push_and_lose_the_answer(*args, **kwargs):  # type: ignore[no-untyped-def]
        real_push(*args, **kwargs)
        if lost["n"] < 3:
            lost["n"] += 1
            raise PeerUnavailable("ReadTimeout: the answer was lost")
        return PushOutcome.STORED

    peer.push_image = push_and_lose_the_answer  # type: ignore[method-assign]
    loops = BoxLoops(pair.h, pair.push_box, peer, owner="test")
    try:
        drain_push(loops, pair, tx.id)
    finally:
        loops.stop()
    assert len(all_images(pair.public)) == len(ids)
    (incoming,) = pair.u.incoming()
    assert incoming.received_image_count == len(ids)
    assert pair.h.get_outgoing(tx.id).sent_image_count == len(ids)


class DownPeer:
    """A remote that cannot be reached."""

    def __init__(self) -> None:
        self.statuses: list[tuple[int, TransactionStatus]] = []

    def push_image(self, *args: object, **kwargs: object) -> object:
        raise PeerUnavailable("ConnectError: refused")

    def poll(self, n: int) -> list[object]:
        raise PeerUnavailable("ConnectError: refused")

    def set_status(self, transaction_id: int, status: TransactionStatus) -> None:
        self.statuses.append((transaction_id, status))

    def close(self) -> None:
        pass


def test_unreachable_remote_fails_after_max_attempts_and_goes_offline(pair: Pair) -> None:
    tx = pair.h.send(pair.push_box.id, bulk(*add_set(pair.hospital, series=1, images=1)))
    peer = DownPeer()
    loops = BoxLoops(pair.h, pair.push_box, peer, owner="test")  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + 20
        while pair.h.get_outgoing(tx.id).status != TransactionStatus.FAILED:
            loops.push_once()
            time.sleep(0.05)
            assert time.monotonic() < deadline
        with pytest.raises(PeerUnavailable):
            loops.poll_once()
    finally:
        loops.stop()
    assert peer.statuses == [(tx.id, TransactionStatus.FAILED)]
    assert not pair.h.list()[0].online
    assert any("push" in e.message and "failed" in e.message for e in pair.hospital.log.list())


def test_the_worker_runs_both_directions_in_the_background(pair: Pair) -> None:
    to_public = pair.h.send(pair.push_box.id, bulk(*add_set(pair.hospital, images=2)))
    to_hospital = pair.u.send(pair.poll_box.id, bulk(*add_set(pair.public, series=1, images=2)))
    worker = BoxWorker(pair.h)
    worker.start()
    try:
        until(
            lambda: (
                pair.h.get_outgoing(to_public.id).status == TransactionStatus.FINISHED
                and pair.u.get_outgoing(to_hospital.id).status == TransactionStatus.FINISHED
            )
        )
        pair.h.delete(pair.push_box.id)  # the worker stops the box's loops
        until(lambda: not worker.loops)
    finally:
        worker.stop()
    assert len(all_images(pair.public)) == 4 + 8 and len(all_images(pair.hospital)) == 8 + 4
