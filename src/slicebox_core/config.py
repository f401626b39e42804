"""Configuration: one frozen attrs object, read from an optional TOML file and ``SLICEBOX_*``.

Precedence (later wins): defaults < TOML file < environment. Environment variables name a
nested key with a double underscore: ``SLICEBOX_DATABASE__URL``, ``SLICEBOX_SERVER__PORT``,
``SLICEBOX_STORAGE__BUCKET``. Two short forms exist for the superuser:
``SLICEBOX_SUPERUSER`` (name) and ``SLICEBOX_SUPERUSER_PASSWORD``.

The data directory is the anchor of the embedded default: an empty ``database.url`` means the
SQLite file ``<data_dir>/slicebox.sqlite``, an empty local storage path means
``<data_dir>/dicom``. Bad values raise :class:`~slicebox_core.errors.InvalidInput` naming the
key that is wrong.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import cattrs

from .anonymize.config import AnonymizationConfig
from .boxes.config import BoxConfig
from .errors import InvalidInput
from .forwarding.config import ForwardingConfig

# spec §5.20 accepted-transfer-syntaxes, widened with the common compressed syntaxes
# (stored as received; rendering goes through the pylibjpeg plugins).
DEFAULT_TRANSFER_SYNTAXES: tuple[str, ...] = (
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2.2",  # Explicit VR Big Endian (retired)
    "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline (Process 1)
    "1.2.840.10008.1.2.4.51",  # JPEG Extended (Process 2 & 4)
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless (Process 14)
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-Lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.5",  # RLE Lossless
)

# spec §5.20 accepted-sop-classes.image-data (37 storage classes)
IMAGE_DATA_SOP_CLASSES: tuple[str, ...] = (
    "1.2.840.10008.5.1.4.1.1.1",  # CR
    "1.2.840.10008.5.1.4.1.1.1.1",  # DX presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1",  # DX processing
    "1.2.840.10008.5.1.4.1.1.1.2",  # MG presentation
    "1.2.840.10008.5.1.4.1.1.1.2.1",  # MG processing
    "1.2.840.10008.5.1.4.1.1.1.3",  # IO presentation
    "1.2.840.10008.5.1.4.1.1.1.3.1",  # IO processing
    "1.2.840.10008.5.1.4.1.1.2",  # CT
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT
    "1.2.840.10008.5.1.4.1.1.3",  # US multi-frame (retired)
    "1.2.840.10008.5.1.4.1.1.3.1",  # US multi-frame
    "1.2.840.10008.5.1.4.1.1.4",  # MR
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR
    "1.2.840.10008.5.1.4.1.1.4.2",  # MR spectroscopy
    "1.2.840.10008.5.1.4.1.1.6",  # US (retired)
    "1.2.840.10008.5.1.4.1.1.6.1",  # US
    "1.2.840.10008.5.1.4.1.1.12.1",  # XA
    "1.2.840.10008.5.1.4.1.1.12.1.1",  # Enhanced XA
    "1.2.840.10008.5.1.4.1.1.12.2",  # XRF
    "1.2.840.10008.5.1.4.1.1.12.2.1",  # Enhanced XRF
    "1.2.840.10008.5.1.4.1.1.13.1.1",  # X-Ray 3D angiographic
    "1.2.840.10008.5.1.4.1.1.13.1.2",  # X-Ray 3D craniofacial
    "1.2.840.10008.5.1.4.1.1.13.1.3",  # Breast tomosynthesis
    "1.2.840.10008.5.1.4.1.1.14.1",  # IVOCT presentation
    "1.2.840.10008.5.1.4.1.1.14.2",  # IVOCT processing
    "1.2.840.10008.5.1.4.1.1.20",  # NM
    "1.2.840.10008.5.1.4.1.1.77.1.1",  # VL endoscopic
    "1.2.840.10008.5.1.4.1.1.77.1.2",  # VL microscopic
    "1.2.840.10008.5.1.4.1.1.77.1.3",  # VL slide-coordinates microscopic
    "1.2.840.10008.5.1.4.1.1.77.1.5.1",  # Ophthalmic photography 8 bit
    "1.2.840.10008.5.1.4.1.1.77.1.5.2",  # Ophthalmic photography 16 bit
    "1.2.840.10008.5.1.4.1.1.77.1.5.4",  # Ophthalmic tomography
    "1.2.840.10008.5.1.4.1.1.77.1.6",  # VL whole slide microscopy
    "1.2.840.10008.5.1.4.1.1.128",  # PET
    "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET
    "1.2.840.10008.5.1.4.1.1.481.1",  # RT image
    "1.2.840.10008.5.1.4.1.1.66.4",  # Segmentation
)

# spec §5.20 accepted-sop-classes.extended: Secondary Capture and the multi-frame SC classes
SECONDARY_CAPTURE_SOP_CLASSES: tuple[str, ...] = (
    "1.2.840.10008.5.1.4.1.1.7",
    "1.2.840.10008.5.1.4.1.1.7.1",
    "1.2.840.10008.5.1.4.1.1.7.2",
    "1.2.840.10008.5.1.4.1.1.7.3",
    "1.2.840.10008.5.1.4.1.1.7.4",
)

MiB = 1024 * 1024


@attrs.frozen
class DatabaseConfig:
    """Where the index lives. Empty url = SQLite file in the data directory."""

    url: str = ""
    pool_size: int = 5
    echo: bool = False


@attrs.frozen
class LocalStorageConfig:
    """Files in a local folder. Empty path = ``<data_dir>/dicom``."""

    kind: Literal["local"] = "local"
    path: str = ""


@attrs.frozen
class S3StorageConfig:
    """Objects in an S3-compatible bucket (credentials from the standard AWS chain)."""

    kind: Literal["s3"] = "s3"
    bucket: str = "slicebox"
    prefix: str = "dicom"
    region: str = "us-east-1"
    endpoint_url: str = ""
    create_bucket: bool = False


StorageConfig = LocalStorageConfig | S3StorageConfig


@attrs.frozen
class DicomConfig:
    """Which DICOM slicebox accepts (spec §5.20)."""

    transfer_syntaxes: tuple[str, ...] = DEFAULT_TRANSFER_SYNTAXES
    image_data_sop_classes: tuple[str, ...] = IMAGE_DATA_SOP_CLASSES
    secondary_capture_sop_classes: tuple[str, ...] = SECONDARY_CAPTURE_SOP_CLASSES


@attrs.frozen
class ServerConfig:
    """HTTP server settings (used by ``slicebox serve``)."""

    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 2
    threads: int = 4
    public_url: str = ""
    max_body_bytes: int = 64 * MiB
    max_upload_bytes: int = 0  # 0 = no limit
    request_timeout_s: int = 600
    idle_timeout_s: int = 900
    tls_cert_file: str = ""
    tls_key_file: str = ""
    max_page_size: int = 10_000
    # X-Forwarded-For is believed only from these peers (reverse proxies): the client
    # address binds sessions and keys the login rate limit, so it must not be forgeable.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")


@attrs.frozen
class SuperuserConfig:
    """The configured superuser. Empty password = generate one on first start."""

    user: str = "admin"
    password: str = attrs.field(default="", repr=False)


@attrs.frozen
class SessionConfig:
    """Login sessions (spec §5.14)."""

    timeout_s: int = 3600
    bind_ip_and_user_agent: bool = True
    # Failed password checks (login and HTTP Basic) allowed per user name and per client
    # address within a sliding window before further attempts answer 429; 0 = no limit.
    # A short window throttles guessing (20 a minute per name, with bcrypt on top) without
    # letting anyone lock a user, the superuser included, out for long.
    failure_window_s: int = 60
    max_failures_per_user: int = 20
    max_failures_per_client: int = 60


@attrs.frozen
class WatchConfig:
    """Directory watches (spec §5.11)."""

    delete_on_import: bool = False
    settle_s: float = 1.0
    rescan_s: float = 60.0
    polling: bool = False
    threads: int = 2


@attrs.frozen
class Config:
    """The whole configuration of one slicebox."""

    data_dir: str = "slicebox-data"
    database: DatabaseConfig = DatabaseConfig()
    storage: StorageConfig = LocalStorageConfig()
    dicom: DicomConfig = DicomConfig()
    server: ServerConfig = ServerConfig()
    superuser: SuperuserConfig = SuperuserConfig()
    sessions: SessionConfig = SessionConfig()
    anonymization: AnonymizationConfig = AnonymizationConfig()
    watch: WatchConfig = WatchConfig()
    boxes: BoxConfig = BoxConfig()
    forwarding: ForwardingConfig = ForwardingConfig()

    @classmethod
    def embedded(cls, data_dir: str | os.PathLike[str] = "slicebox-data") -> Config:
        """The zero-configuration default: SQLite file and local folder inside ``data_dir``."""
        return cls(data_dir=str(data_dir))

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the index."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{Path(self.data_dir).resolve() / 'slicebox.sqlite'}"

    @property
    def storage_path(self) -> Path:
        """The folder of local storage (meaningful for ``LocalStorageConfig`` only)."""
        if isinstance(self.storage, LocalStorageConfig) and self.storage.path:
            return Path(self.storage.path)
        return Path(self.data_dir) / "dicom"


_converter = cattrs.Converter(forbid_extra_keys=True)


def _structure_storage(value: Any, _: type) -> StorageConfig:
    if not isinstance(value, Mapping):
        raise ValueError("storage must be a table")
    kind = value.get("kind", "local")
    if kind == "local":
        return _converter.structure(value, LocalStorageConfig)
    if kind == "s3":
        return _converter.structure(value, S3StorageConfig)
    raise ValueError(f"unknown storage kind {kind!r} (local or s3)")


_converter.register_structure_hook(StorageConfig, _structure_storage)


def config_to_dict(config: Config) -> dict[str, Any]:
    """The configuration as plain data (for handing it to a child process)."""
    return _converter.unstructure(config)


def config_from_dict(data: Mapping[str, Any]) -> Config:
    """The inverse of :func:`config_to_dict`.

    Raises:
        InvalidInput: data that is not a configuration.
    """
    try:
        return _converter.structure(data, Config)
    except Exception as exc:
        raise InvalidInput(f"invalid configuration: {_describe(exc)}") from exc


def _coerce_env(raw: str) -> Any:
    """Environment values are strings; TOML-parse them when they look like TOML values."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _set_path(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise InvalidInput(f"configuration key {'.'.join(path)} conflicts with a value")
    node[path[-1]] = value


def load_config(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build a :class:`Config` from a TOML file, ``SLICEBOX_*`` variables and overrides.

    Args:
        path: optional TOML file; its tables mirror the attrs classes (``[database]``, ...).
        environ: the environment to read (``os.environ`` when None).
        overrides: dotted keys set last, e.g. ``{"data_dir": "x", "server.port": 5001}``.

    Raises:
        InvalidInput: unreadable file, unknown key or a value of the wrong type (the message
            names the key).
    """
    environ = os.environ if environ is None else environ
    tree: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as f:
                tree = tomllib.load(f)
        except OSError as exc:
            raise InvalidInput(f"cannot read configuration file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"configuration file {path} is not valid TOML: {exc}") from exc
    for key, raw in environ.items():
        if key == "SLICEBOX_SUPERUSER":
            _set_path(tree, ["superuser", "user"], raw)
        elif key == "SLICEBOX_SUPERUSER_PASSWORD":
            _set_path(tree, ["superuser", "password"], raw)
        elif key == "SLICEBOX_DATA_DIR":
            tree["data_dir"] = raw
        elif key.startswith("SLICEBOX_") and "__" in key:
            parts = key[len("SLICEBOX_") :].lower().split("__")
            value = raw if parts[-1] in {"password", "user", "url", "path"} else _coerce_env(raw)
            _set_path(tree, parts, value)
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_path(tree, dotted.split("."), value)
    try:
        return _converter.structure(tree, Config)
    except Exception as exc:  # cattrs raises exception groups with the failing path
        raise InvalidInput(f"invalid configuration: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc, path="config"))
    return str(exc)
