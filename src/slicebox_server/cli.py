"""The ``slicebox`` command: ``serve``, ``worker``, ``import`` and ``check``.

    slicebox --version
    slicebox serve [--config FILE] [--data DIR] [--host H] [--port N] [--workers N] [--no-worker]
    slicebox worker [--config FILE] [--data DIR]
    slicebox import PATH... [--data DIR] [--config FILE]
    slicebox check [--data DIR] [--config FILE] [--sweep]

``serve`` runs gunicorn (HTTP only) and, beside it, one ``slicebox worker`` process that runs
everything in the background: DICOM listeners, directory watches, box transfers, queued work.
Deployments that separate them run ``serve --no-worker`` and ``worker`` on their own.

Configuration: the TOML file of ``--config`` (or ``SLICEBOX_CONFIG``), then ``SLICEBOX_*``
environment variables, then the command-line options.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import attrs

from slicebox_core.config import Config, load_config
from slicebox_core.errors import SliceboxError

EXIT_OK = 0
EXIT_NOTHING_IMPORTED = 1
EXIT_USAGE = 2


def package_version() -> str:
    """The installed version of slicebox."""
    try:
        return version("slicebox")
    except PackageNotFoundError:
        return "0.0.0+unknown"


def cli_config(args: argparse.Namespace) -> Config:
    """The configuration: file, then environment, then command-line options.

    Raises:
        InvalidInput: unreadable file or a bad value.
    """
    overrides: dict[str, Any] = {"data_dir": args.data}
    for option, key in (
        ("host", "server.host"),
        ("port", "server.port"),
        ("workers", "server.workers"),
    ):
        overrides[key] = getattr(args, option, None)
    path = args.config or os.environ.get("SLICEBOX_CONFIG") or None
    return load_config(path, os.environ, overrides=overrides)


# serve ---------------------------------------------------------------------------------------
def prepare(config: Config) -> None:
    """Run migrations and make sure the superuser exists, then close everything again.

    Runs in the master before gunicorn forks; the workers open their own slicebox. A
    generated superuser password is printed once.
    """
    from slicebox_core import Slicebox

    sb = Slicebox(config, migrate=True)
    try:
        password = sb.users.ensure_superuser()
    finally:
        sb.close()
    if password:
        line = "=" * 72
        print(
            f"{line}\n"
            f"  Created superuser {config.superuser.user!r} with the generated password:\n\n"
            f"      {password}\n\n"
            "  It is shown only this once. Set SLICEBOX_SUPERUSER_PASSWORD to choose one.\n"
            f"{line}",
            flush=True,
        )


def prepare_in_child(config: Config) -> None:
    """:func:`prepare` in a short-lived process, so that the gunicorn master never loads the
    core (SQLAlchemy, pydicom, numpy): it only forks workers, and stays small.

    Raises:
        SliceboxError: preparing failed (the child printed why).
    """
    import json

    from slicebox_core.config import config_to_dict

    # a plain child process (not multiprocessing, whose resource tracker would stay running)
    code = "import sys\nfrom slicebox_server import cli\nsys.exit(cli.prepare_from_stdin())\n"
    done = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(config_to_dict(config)), text=True
    )
    if done.returncode != 0:
        raise SliceboxError("could not prepare the data directory (see the messages above)")


def prepare_from_stdin() -> int:
    """The child side of :func:`prepare_in_child`: the configuration arrives as JSON."""
    import json

    from slicebox_core.config import config_from_dict

    try:
        prepare(config_from_dict(json.loads(sys.stdin.read())))
    except SliceboxError as exc:
        print(f"slicebox: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def serve(args: argparse.Namespace) -> int:
    """``slicebox serve``: prepare the data, start the worker, run gunicorn in the foreground."""
    from .gunicorn_app import GunicornServer

    config = cli_config(args)
    prepare_in_child(config)
    server = config.server
    scheme = "https" if server.tls_cert_file else "http"
    print(
        f"slicebox {package_version()} serving {scheme}://{server.host}:{server.port}", flush=True
    )
    worker = None if args.no_worker else WorkerProcess(args)
    if worker is not None:
        worker.start()
    try:
        GunicornServer(config).run()
    finally:
        if worker is not None:
            worker.stop()
    return EXIT_OK


class WorkerProcess:
    """Runs ``slicebox worker`` as a child of ``serve`` and restarts it if it dies."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._argv = [sys.executable, "-m", "slicebox_server.cli", "worker"]
        if args.config:
            self._argv += ["--config", args.config]
        if args.data:
            self._argv += ["--data", args.data]
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="worker-watch", daemon=True)

    def start(self) -> None:
        self._process = subprocess.Popen(self._argv)
        self._thread.start()

    def _watch(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            process = self._process
            code = process.poll() if process is not None else None
            if code is not None:
                # stopped on purpose (a signal to the process group, e.g. Ctrl-C): no restart
                if code in (0, -signal.SIGTERM, -signal.SIGINT):
                    return
                if self._stopping.wait(delay):
                    return
                print("slicebox: the background worker stopped; restarting it", file=sys.stderr)
                self._process = subprocess.Popen(self._argv)
                delay = min(delay * 2, 60.0)
            self._stopping.wait(1.0)

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# worker --------------------------------------------------------------------------------------
def run_worker(args: argparse.Namespace) -> int:
    """``slicebox worker``: run the background tasks until SIGTERM or SIGINT."""
    from slicebox_core import Slicebox
    from slicebox_core.worker import Worker

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s [worker] %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL at INFO, and box URLs carry their secret token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    sb = Slicebox(cli_config(args), migrate=True)
    configure_peers(sb)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        Worker(sb).run(stop)
    finally:
        sb.close()
    return EXIT_OK


def configure_peers(sb: Any) -> None:
    """Give the core what it may not import itself: HTTP peers for boxes."""
    from slicebox_client.peer import HttpBoxPeer

    sb.boxes.peer_factory = HttpBoxPeer.for_url


# import ----------------------------------------------------------------------------------
def iter_files(paths: Sequence[str]) -> Iterator[Path]:
    """Every regular file under ``paths`` (files as given, folders recursively, sorted)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield Path(folder) / name
        else:
            yield path


def import_files(args: argparse.Namespace) -> int:
    """``slicebox import``: add every file under the paths to the data directory.

    Exit status: 0 when at least one file was stored (new or duplicate), 1 when files were
    found but every one was rejected (or none were found), 2 for a path that does not exist.
    Rejected files are listed on stderr with the reason; a rejection never stops the import.
    """
    from tqdm import tqdm

    from slicebox_core import Slicebox

    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        for path in missing:
            print(f"slicebox import: no such file or directory: {path}", file=sys.stderr)
        return EXIT_USAGE
    files = list(iter_files(args.paths))
    imported = duplicates = 0
    rejected: list[tuple[Path, str]] = []
    sb = Slicebox(cli_config(args), migrate=True)
    try:
        for path in tqdm(files, unit="file", desc="importing", disable=None):
            try:
                result = sb.images.add(path)
            except (SliceboxError, OSError) as exc:
                rejected.append((path, str(exc) or type(exc).__name__))
                continue
            except Exception as exc:  # a bug must not stop a long import; it is reported
                rejected.append((path, f"internal error ({type(exc).__name__})"))
                continue
            if result.overwrite:
                duplicates += 1
            else:
                imported += 1
    finally:
        sb.close()
    for path, reason in rejected:
        print(f"rejected {path}: {reason}", file=sys.stderr)
    print(f"imported {imported}, duplicates {duplicates}, rejected {len(rejected)}")
    return EXIT_OK if imported + duplicates > 0 else EXIT_NOTHING_IMPORTED


# check ---------------------------------------------------------------------------------------
EXIT_INCONSISTENT = 1
LISTED = 20  # names printed per category; the counts are always complete


@attrs.frozen
class Consistency:
    """Storage against index: what does not match."""

    files: int
    orphans: tuple[str, ...]  # stored files no image row points to
    missing: tuple[int, ...]  # image ids whose file is gone
    temporary: tuple[str, ...]  # spooled uploads that never finished

    @property
    def consistent(self) -> bool:
        return not (self.orphans or self.missing or self.temporary)


def consistency(sb: Any) -> Consistency:
    """Compare ``sb``'s storage with its index."""
    orphans, missing = sb.images.check()
    temporary = sorted(p.name for p in sb.storage.spool_dir.glob("tmp-*"))
    files = sum(1 for _key in sb.storage.keys())  # noqa: SIM118 - Storage is no mapping
    return Consistency(files, tuple(orphans), tuple(missing), tuple(temporary))


def print_consistency(report: Consistency) -> None:
    """The report of :func:`consistency`, on stdout."""
    print(f"files in storage: {report.files}")
    for title, items in (
        ("orphan files (no image row points to them)", report.orphans),
        ("image rows without a file (image ids)", report.missing),
        ("temporary files (uploads in flight or interrupted)", report.temporary),
    ):
        print(f"{title}: {len(items)}")
        for item in items[:LISTED]:
            print(f"  {item}")
        if len(items) > LISTED:
            print(f"  ... and {len(items) - LISTED} more")
    print("consistent" if report.consistent else "INCONSISTENT")


def check(args: argparse.Namespace) -> int:
    """``slicebox check``: compare the storage with the index.

    Reports stored files no image row points to, image rows whose file is missing, and
    temporary files of unfinished uploads. With ``--sweep`` the orphan and temporary files
    are deleted (rows without files are only reported: their images are lost). Meant for a
    stopped or quiet server: uploads in flight show as temporary or orphan files.

    Exit status: 0 consistent, 1 inconsistent (after sweeping, with ``--sweep``), 2 usage.
    """
    from slicebox_core import Slicebox

    config = cli_config(args)
    if not config.database.url and not os.path.exists(Path(config.data_dir) / "slicebox.sqlite"):
        print(f"slicebox check: no slicebox index in {config.data_dir}", file=sys.stderr)
        return EXIT_USAGE
    sb = Slicebox(config, migrate=False)
    try:
        report = consistency(sb)
        print_consistency(report)
        if args.sweep and (report.orphans or report.temporary):
            swept = sb.images.sweep_orphans(min_age_s=0)
            left = sum(1 for _ in sb.storage.spool_dir.glob("tmp-*"))
            removed_tmp = len(report.temporary) - left
            print(f"swept {len(swept)} orphan files and {removed_tmp} temporary files")
            report = consistency(sb)
            print_consistency(report)
    finally:
        sb.close()
    return EXIT_OK if report.consistent else EXIT_INCONSISTENT


# parser --------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    """The argument parser of ``slicebox``."""
    root = argparse.ArgumentParser(
        prog="slicebox", description="Store, index, browse and share DICOM."
    )
    root.add_argument("--version", action="version", version=f"slicebox {package_version()}")
    commands = root.add_subparsers(dest="command", metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="TOML configuration file")
    common.add_argument("--data", metavar="DIR", help="data directory (default ./slicebox-data)")

    run = commands.add_parser("serve", parents=[common], help="run the HTTP server")
    run.add_argument("--host", help="bind address (default 127.0.0.1)")
    run.add_argument("--port", type=int, help="port (default 5000)")
    run.add_argument("--workers", type=int, help="worker processes (default 2)")
    run.set_defaults(handler=serve)

    run.add_argument(
        "--no-worker",
        action="store_true",
        help="serve HTTP only (run `slicebox worker` separately)",
    )

    work = commands.add_parser(
        "worker", parents=[common], help="run listeners, watches, transfers and queued work"
    )
    work.set_defaults(handler=run_worker)

    imp = commands.add_parser(
        "import",
        parents=[common],
        help="import DICOM files into the data directory",
        description="Import files and folders (recursively). Exit status 0 when at least "
        "one file was stored, 1 when nothing could be imported, 2 for a missing path.",
    )
    imp.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    imp.set_defaults(handler=import_files)

    chk = commands.add_parser(
        "check",
        parents=[common],
        help="compare the stored files with the index",
        description="Report stored files no image points to, images whose file is missing "
        "and unfinished uploads. Exit status 0 when consistent, 1 when not.",
    )
    chk.add_argument(
        "--sweep",
        action="store_true",
        help="delete orphan and temporary files (run it on a stopped server)",
    )
    chk.set_defaults(handler=check)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``slicebox`` console script."""
    args = parser().parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser().print_help()
        return EXIT_USAGE
    try:
        return int(handler(args))
    except SliceboxError as exc:  # configuration errors and the like: no traceback
        print(f"slicebox: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
