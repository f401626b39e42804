"""The box worker: for every PUSH box, a push loop (our images to the remote) and a poll loop
(the remote's images for us), plus housekeeping (spec §5.5.3, §5.5.6, §5.5.7).

It is a ``BackgroundTask`` of :mod:`slicebox_core.worker`, run by ``slicebox worker`` (which
``slicebox serve`` starts beside gunicorn). Boxes are created and deleted by HTTP workers in
other processes, so the worker finds them in the database: every ``scan_interval_s`` it starts
loops for new PUSH boxes and stops those of deleted ones.

Nothing is kept in memory that a restart would need: a loop claims outgoing image rows with a
lease, and what it learns (sent, failed attempt, next try) is written back before it moves on.
Several workers (processes, hosts on PostgreSQL) may run at once; they share the queue.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from ..errors import InvalidInput, NotFound
from ..models.boxes import Box, OutgoingTransactionImage, TransactionStatus
from ..outbox.service import worker_id
from .config import BoxConfig
from .peer import BoxPeer, PushOutcome
from .protocol import CorruptTransfer
from .service import SUBJECT, BoxService, ClaimedImage

log = logging.getLogger(__name__)

FETCH_ATTEMPTS = 3
"""Tries of one polled image within a poll (then the remote offers it again later)."""


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _error_of(future: Future[str | None]) -> str | None:
    """The error a push reported, or the exception it raised (e.g. the index was down while
    recording it: the image is pushed again after its lease, and recognised by the remote)."""
    exc = future.exception()
    if exc is not None:
        log.error("a box push failed unexpectedly", exc_info=exc)
        return _describe(exc)
    return future.result()


class _Throttle:
    """True at most once per ``interval_s`` (spec §5.5.3 step 6: 1.2 x retry interval)."""

    def __init__(self, interval_s: float) -> None:
        self._interval = interval_s
        self._last = float("-inf")

    def ready(self) -> bool:
        now = time.monotonic()
        if now - self._last > self._interval:
            self._last = now
            return True
        return False


class BoxLoops:
    """The push and poll loops of one PUSH box, each with ``parallelism`` transfers at once.

    ``push_once`` and ``poll_once`` are one pass each, usable without the threads (tests,
    scripts).

    Args:
        service: the box service.
        box: the PUSH box.
        peer: its remote.
        owner: the name claims are taken under.
    """

    def __init__(self, service: BoxService, box: Box, peer: BoxPeer, *, owner: str) -> None:
        self.box = box
        self._service = service
        self._peer = peer
        self._owner = owner
        self._config: BoxConfig = service.config
        workers = self._config.parallelism
        self._push_pool = ThreadPoolExecutor(workers, thread_name_prefix=f"box{box.id}-push")
        self._poll_pool = ThreadPoolExecutor(workers, thread_name_prefix=f"box{box.id}-poll")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._batch_broken = threading.Event()
        self._threads: list[threading.Thread] = []
        self._online: bool | None = None
        throttle_s = 1.2 * self._config.retry_interval_s
        self._push_warning = _Throttle(throttle_s)
        self._poll_warning = _Throttle(throttle_s)

    # --- pushing ------------------------------------------------------------------------------

    def push_once(self) -> int:
        """Claim a batch of due images and push them all; returns how many were claimed."""
        config = self._config
        limit = min(config.batch_size, 4 * config.parallelism)
        claimed = self._service.claim_outgoing(self.box.id, owner=self._owner, limit=limit)
        self._warn_push([e for e in self._push_pool.map(self._push_one, claimed) if e])
        return len(claimed)

    def _warn_push(self, errors: list[str]) -> None:
        if errors and self._push_warning.ready():
            self._service.system_log.warn(
                SUBJECT,
                f"Connection to {self.box.name} (push) failed ({errors[0]}; "
                f"{len(errors)} images). Retrying later.",
            )

    def _push_one(self, claimed: ClaimedImage) -> str | None:
        """Push one image; None when it was delivered (or skipped), else the error."""
        service = self._service
        if self._stop.is_set():
            service.release(claimed)
            return None
        tx, image = claimed.transaction, claimed.image
        try:
            try:
                with service.prepare(
                    claimed.item,
                    allow_burned_in=claimed.allow_burned_in,
                    tag_values=claimed.tag_values,
                ) as p:
                    outcome = self._peer.push_image(
                        tx.id, image.sequence_number, tx.total_image_count, p.file, sha256=p.sha256
                    )
            except NotFound:  # the image was deleted since it was queued
                outcome = PushOutcome.REMOVED
            except CorruptTransfer:
                raise
            except InvalidInput as exc:  # cannot be anonymized (e.g. burned-in annotations)
                service.system_log.error(
                    SUBJECT,
                    f"Image {image.image_id} of transaction {tx.id} to box {tx.box_name} "
                    f"was not sent: {exc}",
                )
                outcome = PushOutcome.REJECTED
        except Exception as exc:
            error = _describe(exc)
            log.info("box %s: pushing image %s failed: %s", tx.box_name, image.image_id, error)
            if service.record_failure(claimed, error):
                self._tell(tx.id, TransactionStatus.FAILED)
            return error
        if service.record_delivery(claimed, outcome):
            self._tell(tx.id, TransactionStatus.FINISHED)
        return None

    def _tell(self, transaction_id: int, status: TransactionStatus) -> None:
        """Set the remote's status of a transaction; a failure is only logged (§5.5.3)."""
        try:
            self._peer.set_status(transaction_id, status)
        except Exception as exc:
            log.warning(
                "box %s: could not set the remote status of transaction %s: %s",
                self.box.name,
                transaction_id,
                _describe(exc),
            )

    # --- polling ------------------------------------------------------------------------------

    def poll_once(self) -> int:
        """Poll the remote once and store what it has for us; returns how many it offered.

        Raises:
            Exception: the poll itself failed (the box is marked offline first).
        """
        try:
            items = self._peer.poll(self._config.batch_size)
        except Exception:
            self._set_online(False)
            raise
        self._set_online(True)
        if items:
            self._batch_broken.clear()
            list(self._poll_pool.map(self._fetch_one, items))
        return len(items)

    def _set_online(self, online: bool) -> None:
        if online != self._online:
            self._service.set_online(self.box.id, online)
            self._online = online

    def _fetch_one(self, item: OutgoingTransactionImage) -> None:
        """Store one polled image (unless it was stored before) and confirm it. A damaged
        or broken-off download is tried again at once, a few times: otherwise the remote
        would offer it again only when its lease ends."""
        service, box = self._service, self.box
        tx, image = item.transaction, item.image
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            if self._stop.is_set() or self._batch_broken.is_set():
                return  # the remote offers it again when its lease ends
            try:
                if not service.has_received(box.id, tx.id, image.sequence_number):
                    self._store(item)
                self._peer.done(item)
                break
            except Exception as exc:
                error = _describe(exc)
            log.info("box %s: fetching image %s failed: %s", box.name, image.id, error)
            if attempt == FETCH_ATTEMPTS:
                self._batch_broken.set()  # the remote is in trouble: leave the rest for later
                if self._poll_warning.ready():
                    service.system_log.warn(
                        SUBJECT,
                        f"Connection to {box.name} (poll) failed ({error}). Retrying later.",
                    )
                return
            self._stop.wait(min(self._config.retry_interval_s, 1.0) * attempt)
        if service.incoming_finished(box.id, tx.id):
            self._tell(tx.id, TransactionStatus.FINISHED)

    def _store(self, item: OutgoingTransactionImage) -> None:
        """Fetch and store one polled image; one the remote will not serve (404, 400) is
        skipped, counted as received but not added (spec §5.5.6 step 2).

        Raises:
            CorruptTransfer, PeerUnavailable: try again.
        """
        service, box = self._service, self.box
        tx, image = item.transaction, item.image
        try:
            with self._peer.fetch(tx.id, image.id) as stream:
                service.store_image(
                    box,
                    tx.id,
                    image.sequence_number,
                    tx.total_image_count,
                    stream,
                    sha256=getattr(stream, "expected_sha256", None),
                )
        except CorruptTransfer:
            raise
        except (NotFound, InvalidInput) as exc:
            service.system_log.warn(
                SUBJECT,
                f"Box {box.name}: skipping image {image.sequence_number} of transaction "
                f"{tx.id}: {exc}",
            )
            service.record_rejected(box, tx.id, image.sequence_number, tx.total_image_count)

    # --- threads ------------------------------------------------------------------------------

    def start(self) -> None:
        for name, target in (("push", self._push_loop), ("poll", self._poll_loop)):
            thread = threading.Thread(
                target=target, name=f"box{self.box.id}-{name}-loop", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Look for queued images now rather than at the next scan."""
        self._wake.set()

    def _push_loop(self) -> None:
        """Keep ``parallelism`` pushes going, claiming more as pushes finish (no batch
        boundaries to wait at), and at most ``2 x parallelism`` images claimed at once."""
        config = self._config
        in_flight: set[Future[str | None]] = set()
        while not self._stop.is_set():
            room = min(config.batch_size, 2 * config.parallelism) - len(in_flight)
            if room > 0:
                try:
                    claimed = self._service.claim_outgoing(
                        self.box.id, owner=self._owner, limit=room
                    )
                except Exception:
                    log.exception("box %s: claiming images failed", self.box.name)
                    claimed = []
                in_flight.update(self._push_pool.submit(self._push_one, c) for c in claimed)
            if not in_flight:
                self._wake.wait(config.scan_interval_s)
                self._wake.clear()
                continue
            finished, in_flight = wait(
                in_flight, timeout=config.scan_interval_s, return_when=FIRST_COMPLETED
            )
            self._warn_push([e for e in map(_error_of, finished) if e])
        wait(in_flight)

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            try:
                offered = self.poll_once()
            except Exception as exc:
                if self._poll_warning.ready():
                    self._service.system_log.warn(
                        SUBJECT,
                        f"Connection to {self.box.name} (poll) failed ({_describe(exc)}). "
                        "Retrying later.",
                    )
                offered = 0
            if offered and not self._batch_broken.is_set():
                continue  # immediately again after a successful, non-empty batch
            self._stop.wait(self._config.poll_interval_s)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop both loops after the transfers in hand; claimed but untried images are
        given back."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._push_pool.shutdown(wait=True, cancel_futures=True)
        self._poll_pool.shutdown(wait=True, cancel_futures=True)
        try:
            self._peer.close()
        except Exception:
            log.exception("closing the peer of box %s failed", self.box.name)


class BoxWorker:
    """Runs :class:`BoxLoops` for every PUSH box, and the housekeeping job.

    Args:
        service: the box service; its ``peer_factory`` must be set before ``start``.
        owner: the name claims are taken under (default: host:pid:random).
    """

    name = "boxes"

    def __init__(self, service: BoxService, *, owner: str | None = None) -> None:
        self._service = service
        self.owner = owner or worker_id()
        self.loops: dict[int, BoxLoops] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False
        self._subscribed = False

    def start(self) -> None:
        """Start the supervising thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        if not self._subscribed:
            self._service.on_queued.append(self.wake)
            self._subscribed = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="slicebox-boxes", daemon=True)
        self._thread.start()

    def wake(self, box_id: int | None = None, *_: Any) -> None:
        """Have the push loop of ``box_id`` (all when None) look at the queue now."""
        for loops in list(self.loops.values()):
            if box_id is None or loops.box.id == box_id:
                loops.wake()

    def _run(self) -> None:
        config = self._service.config
        try:
            released = self._service.release_dead_claims()
            if released:
                log.info("released %d images claimed by stopped workers", released)
        except Exception:
            log.exception("releasing the claims of stopped workers failed")
        next_housekeeping = 0.0
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception:
                log.exception("looking for boxes failed; retrying")
            if time.monotonic() >= next_housekeeping:
                try:
                    self._service.housekeeping()
                except Exception:
                    log.exception("box housekeeping failed")
                next_housekeeping = time.monotonic() + config.housekeeping_interval_s
            self._stop.wait(config.scan_interval_s)

    def sync(self) -> None:
        """Start loops for new PUSH boxes, stop those of deleted (or re-pointed) ones."""
        factory = self._service.peer_factory
        if factory is None:
            if not self._warned:
                log.warning("no box peer factory configured: box transfers are not running")
                self._warned = True
            return
        boxes = {box.id: box for box in self._service.push_boxes()}
        for box_id, loops in list(self.loops.items()):
            box = boxes.get(box_id)
            if box is None or box.base_url != loops.box.base_url:
                del self.loops[box_id]
                loops.stop()
        for box_id, box in boxes.items():
            if box_id not in self.loops:
                loops = BoxLoops(
                    self._service,
                    box,
                    factory(box.base_url, self._service.config),
                    owner=self.owner,
                )
                self.loops[box_id] = loops
                loops.start()

    def stop(self) -> None:
        """Stop supervising and every box's loops."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        while self.loops:
            _, loops = self.loops.popitem()
            loops.stop()
