"""Running the app under gunicorn, programmatically (used by ``slicebox serve``).

The master process never opens the slicebox: ``load`` runs in each worker after the fork
(``preload_app`` stays off), so every worker has its own engine and connection pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gunicorn.http.wsgi
from gunicorn.app.base import BaseApplication

from slicebox_core.config import Config
from slicebox_core.errors import InvalidInput

if TYPE_CHECKING:
    import falcon

    from slicebox_core import Slicebox


SERVER_HEADER = "slicebox"


def bind_address(host: str, port: int) -> str:
    """gunicorn's bind string; IPv6 literals get brackets."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def gunicorn_options(config: Config) -> dict[str, Any]:
    """gunicorn settings from ``config.server``.

    Threads (gthread) because requests block on the database, storage and DICOM parsing;
    ``timeout`` is the spec's request timeout, ``keepalive`` its idle timeout (spec §2.1).
    No access log: query strings can hold patient names (the ``filter`` parameter) and
    nothing else there is needed. TLS is on when a certificate and key are configured.

    Raises:
        InvalidInput: a TLS certificate without a key (or the reverse), or a file that
            cannot be read.
    """
    server = config.server
    options: dict[str, Any] = {
        "bind": [bind_address(server.host, server.port)],
        "workers": server.workers,
        "worker_class": "gthread",
        "threads": server.threads,
        "timeout": server.request_timeout_s,
        "graceful_timeout": 30,
        "keepalive": server.idle_timeout_s,
        "preload_app": False,
        "proc_name": "slicebox",
        "accesslog": None,
        "errorlog": "-",
        # X-Forwarded-Proto (https behind a proxy) only from the proxies trusted with
        # X-Forwarded-For
        "forwarded_allow_ips": ",".join(server.trusted_proxies),
        # gunicorn >= 25 opens a control socket at one fixed path per user, which two
        # sliceboxes on one machine would fight over; slicebox does not use it.
        "control_socket_disable": True,
    }
    if server.tls_cert_file or server.tls_key_file:
        options["certfile"] = readable(server.tls_cert_file, "server.tls_cert_file")
        options["keyfile"] = readable(server.tls_key_file, "server.tls_key_file")
    return options


def readable(path: str, key: str) -> str:
    """``path`` if it names a readable file.

    Raises:
        InvalidInput: empty, missing or unreadable (the message names the key).
    """
    if not path:
        raise InvalidInput(f"{key} must be set too: TLS needs a certificate and a key file")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise InvalidInput(f"{key}: cannot read {path}: {exc.strerror}") from None
    return path


class GunicornServer(BaseApplication):
    """A gunicorn application serving one slicebox configuration.

    Args:
        config: the configuration each worker opens its slicebox with.
        options: extra gunicorn settings, overriding :func:`gunicorn_options`.
    """

    def __init__(self, config: Config, options: dict[str, Any] | None = None) -> None:
        self._config = config
        self._options = {**gunicorn_options(config), **(options or {})}
        self._sb: Slicebox | None = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings:  # skip settings this gunicorn version lacks
                self.cfg.set(key, value)
        self.cfg.set("worker_exit", self._worker_exit)
        # spec §2.1: the Server header says "slicebox" (gunicorn has no setting for it and
        # would otherwise announce itself); set in the master, inherited by the workers
        gunicorn.http.wsgi.SERVER = SERVER_HEADER

    def load(self) -> falcon.App:
        """Runs in the worker, after the fork: open this worker's slicebox."""
        from slicebox_core import Slicebox

        self._sb = Slicebox(self._config, migrate=False)
        from .app import create_app  # in the worker: the master never loads the core

        return create_app(self._sb)

    def _worker_exit(self, server: Any, worker: Any) -> None:
        if self._sb is not None:
            self._sb.close()
            self._sb = None
