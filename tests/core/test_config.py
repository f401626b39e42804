"""Configuration from TOML and SLICEBOX_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from slicebox_core import Config, InvalidInput, load_config
from slicebox_core.config import S3StorageConfig


def test_defaults_are_the_embedded_default(tmp_path: Path) -> None:
    config = load_config(None, {})
    assert config == Config()
    assert config.database_url.startswith("sqlite:///")
    assert config.server.port == 5000 and config.server.host == "127.0.0.1"
    assert config.superuser.user == "admin" and config.superuser.password == ""
    assert "password" not in repr(Config(superuser=config.superuser)).split("superuser")[1][:40]


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "sb.toml"
    path.write_text(
        '[server]\nport = 6000\nhost = "0.0.0.0"\n'
        '[storage]\nkind = "s3"\nbucket = "images"\n'
        '[database]\nurl = "postgresql+psycopg://x@y/z"\n'
    )
    env = {
        "SLICEBOX_SERVER__PORT": "7000",
        "SLICEBOX_SUPERUSER": "root",
        "SLICEBOX_SUPERUSER_PASSWORD": "12345",
        "UNRELATED": "x",
    }
    config = load_config(path, env)
    assert config.server.port == 7000 and config.server.host == "0.0.0.0"
    assert isinstance(config.storage, S3StorageConfig) and config.storage.bucket == "images"
    assert config.database_url == "postgresql+psycopg://x@y/z"
    assert config.superuser.user == "root" and config.superuser.password == "12345"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLICEBOX_SERVER__PORT": "abc"}, "server.port"),
        ({"SLICEBOX_SERVER__NOPE": "1"}, "nope"),
        ({"SLICEBOX_STORAGE__KIND": "ftp"}, "storage"),
    ],
)
def test_bad_values_name_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        load_config(None, env)


def test_bad_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        load_config(tmp_path / "missing.toml", {})
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\n")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        load_config(bad, {})
