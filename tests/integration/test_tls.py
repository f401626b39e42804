"""``slicebox serve`` over TLS with a self-signed certificate made here."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from slicebox_client import SliceboxClient
from slicebox_core.errors import PeerUnavailable
from slicebox_core.models import Role

from ..factories import dicom_bytes
from .live import PASSWORD, SUPERUSER, LiveServer

pytestmark = pytest.mark.integration


def ca(cert: Path) -> ssl.SSLContext:
    """A TLS context trusting exactly ``cert``."""
    return ssl.create_default_context(cafile=str(cert))


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "slicebox test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(folder)
    env = {
        "SLICEBOX_SERVER__TLS_CERT_FILE": str(cert),
        "SLICEBOX_SERVER__TLS_KEY_FILE": str(key),
    }
    server = LiveServer(folder / "data", env=env, scheme="https", verify=ca(cert))
    with server:
        yield server, cert


def test_https_with_verified_certificate(tls_server: tuple[LiveServer, Path]) -> None:
    server, cert = tls_server
    with httpx.Client(base_url=server.url, verify=ca(cert)) as http:
        health = http.get("/api/system/health")
        assert health.status_code == 200
        assert health.http_version == "HTTP/1.1"
        headers = health.headers
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"
        assert headers["Server"] == "slicebox"  # spec §2.1, not gunicorn's banner
    # the certificate is not trusted by default: verification fails without it
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/api/system/health", verify=True)
    # plain http on the TLS port is refused
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{server.port}/api/system/health", timeout=5)


def test_session_cookie_is_secure_over_tls(tls_server: tuple[LiveServer, Path]) -> None:
    server, cert = tls_server
    with httpx.Client(base_url=server.url, verify=ca(cert)) as http:
        login = http.post("/api/users/login", json={"user": SUPERUSER, "pass": PASSWORD})
        assert login.status_code == 204
        cookie = login.headers["set-cookie"]
        for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/api"):
            assert attribute in cookie, cookie
        assert http.get("/api/users/current").json()["user"] == SUPERUSER


def test_typed_client_over_tls(tls_server: tuple[LiveServer, Path]) -> None:
    server, cert = tls_server
    with SliceboxClient(server.url, SUPERUSER, PASSWORD, verify=ca(cert)) as client:
        assert client.upload(dicom_bytes(patient_id="TLS")).created
        client.add_user("tls-user", "tls-user-password", role=Role.USER)
    with SliceboxClient(server.url, verify=str(cert)) as anon:
        anon.login("tls-user", "tls-user-password")
        assert [p.patient_id for p in anon.patients()] == ["TLS"]
        anon.logout()
    with (
        SliceboxClient(server.url, SUPERUSER, PASSWORD) as unverified,
        pytest.raises(PeerUnavailable),
    ):
        unverified.health()


def test_negotiates_modern_tls(tls_server: tuple[LiveServer, Path]) -> None:
    server, cert = tls_server
    context = ssl.create_default_context(cafile=str(cert))
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
