"""``keelbase serve --https`` with a certificate and key: a real server over TLS.

The certificate is self-signed, made here for 127.0.0.1; the client trusts only
it, so an answer proves the server presented that certificate. Automatic
certificates for domain arguments are tested against Pebble in test_autocert.py.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import free_port


def _self_signed(folder: Path, name: str = "server") -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _trusting(cert: Path) -> ssl.SSLContext:
    """A client context that trusts only ``cert``."""
    return ssl.create_default_context(cafile=str(cert))


def _keelbase(*args: str, **popen: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "keelbase", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        **popen,  # type: ignore[call-overload]
    )


def _refused(*args: str) -> str:
    """The command's output when it refuses to start (exit code 2); fails if it starts."""
    proc = _keelbase(*args)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"keelbase {' '.join(args)} started instead of refusing")
    assert proc.returncode == 2, out.decode()
    return out.decode()


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    return _self_signed(tmp_path)


@pytest.fixture
def https_server(tmp_path: Path, tls_files: tuple[Path, Path]) -> Iterator[tuple[str, str, Path]]:
    cert, key = tls_files
    https_port, http_port = free_port(), free_port()
    proc = _keelbase(
        "serve", "--dir", str(tmp_path / "kb_data"),
        "--https", f"127.0.0.1:{https_port}", "--httpsCert", str(cert), "--httpsKey", str(key),
        "--http", f"127.0.0.1:{http_port}",
    )  # fmt: skip
    https_url, http_url = f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(
                    https_url + "/api/health", verify=_trusting(cert), timeout=1
                ).is_success:
                    break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"the HTTPS server did not start:\n{out}")
                time.sleep(0.2)
        yield https_url, http_url, cert
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode in (0, -15), out.decode()
        assert "keelbase stopped cleanly" in out.decode()
        for port in (https_port, http_port):  # both listeners are closed
            with socket.socket() as sock, pytest.raises(OSError):
                sock.connect(("127.0.0.1", port))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_https_serves_the_api_with_the_given_certificate(
    https_server: tuple[str, str, Path],
) -> None:
    https_url, _, cert = https_server
    with httpx.Client(verify=_trusting(cert)) as client:
        health = client.get(https_url + "/api/health")
        assert health.status_code == 200
        assert health.json()["message"] == "API is healthy."
        created = client.post(
            https_url + "/api/collections/users/records",
            json={"email": "tls@example.com", "password": "Passw0rd123",
                  "passwordConfirm": "Passw0rd123"},
        )  # fmt: skip
        assert created.status_code == 200, created.text
        signed_in = client.post(
            https_url + "/api/collections/users/auth-with-password",
            json={"identity": "tls@example.com", "password": "Passw0rd123"},
        )
        assert signed_in.status_code == 200
        # Realtime streams over TLS too: the SDK's first event arrives.
        with client.stream("GET", https_url + "/api/realtime", timeout=10) as stream:
            lines = stream.iter_lines()
            assert [next(lines)[:3], next(lines)] == ["id:", "event:PB_CONNECT"]
    # The certificate presented is the one given, not another the client would also trust.
    host, port = https_url.removeprefix("https://").split(":")
    presented = ssl.get_server_certificate((host, int(port)))
    assert x509.load_pem_x509_certificate(presented.encode()) == x509.load_pem_x509_certificate(
        cert.read_bytes()
    )
    # A client that trusts only the system's authorities refuses it (no plain-text fallback).
    with pytest.raises(httpx.ConnectError):
        httpx.get(https_url + "/api/health")
    # Plain HTTP on the HTTPS port gets no API answer.
    with pytest.raises(httpx.HTTPError):
        answer = httpx.get(https_url.replace("https://", "http://") + "/api/health", timeout=5)
        answer.raise_for_status()


def test_http_beside_https_only_redirects(https_server: tuple[str, str, Path]) -> None:
    https_url, http_url, _ = https_server
    answer = httpx.get(http_url + "/api/health?x=1&y=%20", follow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["location"] == https_url + "/api/health?x=1&y=%20"
    # No API on the plain listener: a write is refused, not served.
    write = httpx.post(http_url + "/api/collections/users/records", json={})
    assert write.status_code == 400
    assert write.text == "Use HTTPS\n"


def test_bad_https_options_refuse_to_start(tmp_path: Path, tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    other_cert, _ = _self_signed(tmp_path, "other")
    data = ["serve", "--dir", str(tmp_path / "kb_data")]
    https = ["--https", f"127.0.0.1:{free_port()}"]
    assert "--https needs --httpsCert FILE and --httpsKey FILE" in _refused(*data, *https)
    assert "need --https HOST:PORT" in _refused(
        *data, "--httpsCert", str(cert), "--httpsKey", str(key)
    )
    missing = _refused(
        *data, *https, "--httpsCert", str(tmp_path / "no.crt"), "--httpsKey", str(key)
    )
    assert "is not a readable file" in missing
    mismatched = _refused(*data, *https, "--httpsCert", str(other_cert), "--httpsKey", str(key))
    assert f"cannot use {str(other_cert)!r} with {str(key)!r}" in mismatched
    assert "--https must be HOST:PORT" in _refused(
        *data, "--https", "443", "--httpsCert", str(cert), "--httpsKey", str(key)
    )
    assert not (tmp_path / "kb_data").exists()  # refused before anything was opened


def test_bad_domain_options_refuse_to_start(
    tmp_path: Path, tls_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Domain arguments get automatic certificates (tests/e2e/test_autocert.py); options
    that cannot work with them stop the start before anything listens. In-process:
    the refusal comes before anything starts, and seven processes would cost seconds."""
    from keelbase.cli import main

    cert, key = tls_files
    data = ["serve", "--dir", str(tmp_path / "kb_data")]

    def refused(*args: str) -> str:
        capsys.readouterr()
        assert main([*data, *args]) == 2
        return capsys.readouterr().err

    assert "wildcard certificates need a DNS challenge" in refused("*.example.com")
    assert "an IP address, not a domain name" in refused("10.0.0.1")
    assert "'localhost' is not a domain name" in refused("localhost")
    both = refused("example.com", "--httpsCert", str(cert), "--httpsKey", str(key))
    assert "--httpsCert and --httpsKey do not go with domain arguments" in both
    workers = refused("example.com", "--workers", "2", "--redis", "redis://127.0.0.1")
    assert "served by one process, which also renews them; leave out --workers" in workers
    assert "--acmeDirectory must be an https:// URL" in refused(
        "example.com", "--acmeDirectory", "acme.example.com"
    )
    assert "--https must be HOST:PORT" in refused("example.com", "--https", "443")
    assert not (tmp_path / "kb_data").exists()  # refused before anything was opened
