"""The gunicorn entry points: lazy WSGI app and gunicorn settings from the configuration."""

from __future__ import annotations

from pathlib import Path

import falcon
import pytest
from falcon import testing

from slicebox_core.config import Config, ServerConfig
from slicebox_core.errors import InvalidInput
from slicebox_server.gunicorn_app import GunicornServer, bind_address, gunicorn_options
from slicebox_server.wsgi import LazyApplication, config_from_environment

from .fixtures import open_box


def test_config_from_environment(tmp_path: Path) -> None:
    toml = tmp_path / "slicebox.toml"
    toml.write_text("[server]\nport = 6001\n")
    config = config_from_environment(
        {"SLICEBOX_CONFIG": str(toml), "SLICEBOX_SERVER__WORKERS": "3"}
    )
    assert config.server.port == 6001 and config.server.workers == 3


def test_lazy_application_builds_once_on_first_request(tmp_path: Path) -> None:
    built: list[falcon.App] = []

    def factory() -> falcon.App:
        from slicebox_server import create_app

        app = create_app(open_box(tmp_path / "data"))
        built.append(app)
        return app

    lazy = LazyApplication(factory)
    assert built == []  # nothing is opened at import/fork time
    sim = testing.TestClient(lazy)
    assert sim.simulate_get("/api/system/health").text == "OK"
    assert sim.simulate_get("/api/system/health").status_code == 200
    assert len(built) == 1


def test_gunicorn_options(tmp_path: Path) -> None:
    for name in ("c.pem", "k.pem"):
        (tmp_path / name).write_text("pem")
    config = Config(
        server=ServerConfig(
            host="::1",
            port=5001,
            workers=3,
            threads=8,
            request_timeout_s=600,
            idle_timeout_s=900,
            tls_cert_file=str(tmp_path / "c.pem"),
            tls_key_file=str(tmp_path / "k.pem"),
        )
    )
    options = gunicorn_options(config)
    assert options["bind"] == ["[::1]:5001"]
    assert options["worker_class"] == "gthread"
    assert (options["workers"], options["threads"]) == (3, 8)
    assert (options["timeout"], options["keepalive"]) == (600, 900)
    assert (options["certfile"], options["keyfile"]) == (
        str(tmp_path / "c.pem"),
        str(tmp_path / "k.pem"),
    )
    assert options["preload_app"] is False
    assert options["accesslog"] is None  # query strings may hold patient names
    only_cert = Config(server=ServerConfig(tls_cert_file=str(tmp_path / "c.pem")))
    with pytest.raises(InvalidInput, match="tls_key_file"):
        gunicorn_options(only_cert)
    missing = Config(server=ServerConfig(tls_cert_file="nope.pem", tls_key_file="nope.key"))
    with pytest.raises(InvalidInput, match=r"cannot read nope\.pem"):
        gunicorn_options(missing)
    assert bind_address("127.0.0.1", 5000) == "127.0.0.1:5000"


def test_gunicorn_server_applies_settings() -> None:
    server = GunicornServer(Config(server=ServerConfig(port=5055)))
    assert server.cfg.bind == ["127.0.0.1:5055"]
    assert server.cfg.worker_class_str == "gthread"
    assert server.cfg.preload_app is False
