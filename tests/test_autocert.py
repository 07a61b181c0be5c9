"""The parts of ``keelbase.autocert`` the Pebble end-to-end test cannot reach: what a
rate limit says, which names are refused, and that a renewal reaches new connections."""

from __future__ import annotations

import asyncio
import datetime
import re
import socket
import ssl
import threading
from pathlib import Path

import pytest
from acme import messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from keelbase.autocert import Autocert, domain_problem, explain


def test_a_rate_limit_is_said_plainly() -> None:
    limited = messages.Error(
        typ="urn:ietf:params:acme:error:rateLimited",
        detail="too many certificates (5) already issued for this exact set of identifiers",
    )
    text = explain(limited, "https://acme.example/dir", ["example.com"])
    assert text == (
        "the ACME server refuses more certificates for example.com for now (rate limited): "
        "too many certificates (5) already issued for this exact set of identifiers"
    )
    refused = messages.Error(typ="urn:ietf:params:acme:error:rejectedIdentifier", detail="no")
    assert explain(refused, "u", ["a.example"]) == (
        "the ACME server refused the request (rejectedIdentifier): no"
    )


@pytest.mark.parametrize(
    ("domains", "problem"),
    [
        (["example.com", "www.example.com"], None),
        (["xn--bcher-kva.example"], None),
        (["*.example.com"], "wildcard"),
        (["127.0.0.1"], "an IP address"),
        (["[::1]"], "an IP address"),
        (["localhost"], "not a domain name"),
        (["exa_mple.com"], "not a domain name"),
        (["-bad.example.com"], "not a domain name"),
    ],
)
def test_domain_names(domains: list[str], problem: str | None) -> None:
    found = domain_problem(domains)
    assert (found is None) if problem is None else (found is not None and problem in found)


def _certificate(folder: Path, name: str, days: float) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=max(0.01, -days + 1)))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = folder / f"{name}-{days}.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return path


def test_reloading_the_same_context_reaches_new_connections(tmp_path: Path) -> None:
    """What renewals rely on: ``load_cert_chain`` on a context already serving changes
    the certificate of the connections made after it, on the same listening socket."""
    keeper = Autocert(["site.example"], "https://acme.example/dir", tmp_path / "cache")
    old, new = (
        _certificate(tmp_path, "site.example", 60),
        _certificate(tmp_path, "site.example", 90),
    )
    keeper.context.load_cert_chain(old)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            with keeper.context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def presented() -> x509.Certificate:
        client = ssl.create_default_context()
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            client.wrap_socket(raw, server_hostname="site.example") as tls,
        ):
            der = tls.getpeercert(binary_form=True)
            tls.sendall(b"x")
        assert der is not None
        return x509.load_der_x509_certificate(der)

    first = presented()
    keeper.context.load_cert_chain(new)
    second = presented()
    thread.join(timeout=5)
    listener.close()
    assert (second.not_valid_after_utc - first.not_valid_after_utc).days == 30


def test_a_cached_certificate_is_due_a_month_or_a_third_of_its_life_before_its_end(
    tmp_path: Path,
) -> None:
    keeper = Autocert(["site.example"], "https://acme.example/dir", tmp_path / "cache")
    for days, due_days in ((90, 30), (6, 2)):  # Let's Encrypt's usual and short-lived ones
        path = _certificate(tmp_path, "site.example", days)
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
        before = certificate.not_valid_after_utc - keeper.due(certificate)
        assert abs(before.total_seconds() - due_days * 86400) < 1000, days
    forced = Autocert(["site.example"], "u", tmp_path, renew_before=datetime.timedelta(days=36500))
    assert forced.due(certificate) < datetime.datetime.now(datetime.UTC)
    # a certificate for other names, or an ended one, is not served from the cache
    keeper.folder.mkdir(parents=True)
    _certificate(tmp_path, "other.example", 90).rename(keeper.certificate_path)
    assert keeper.cached() is None and keeper.load() is False
    _certificate(tmp_path, "site.example", -1).rename(keeper.certificate_path)
    assert keeper.cached() is None
    _certificate(tmp_path, "site.example", 90).rename(keeper.certificate_path)
    assert keeper.load() is True and keeper.not_after is not None


@pytest.mark.anyio
async def test_a_failed_renewal_keeps_serving_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    directory = f"https://127.0.0.1:{closed.getsockname()[1]}/dir"  # bound, not listening
    keeper = Autocert(
        ["site.example"], directory, tmp_path / "cache", renew_before=datetime.timedelta(days=365)
    )
    keeper.folder.mkdir(parents=True)
    _certificate(tmp_path, "site.example", 90).rename(keeper.certificate_path)
    await keeper.start()  # due, but valid: served at once
    served = keeper.not_after
    renewing = asyncio.create_task(keeper.renewals())
    try:
        for _ in range(100):
            if "renewing failed" in caplog.text:
                break
            await asyncio.sleep(0.05)
    finally:
        renewing.cancel()
        closed.close()
    assert f"trying again in an hour: cannot reach the ACME directory {directory}" in caplog.text
    assert keeper.not_after == served and keeper.cached() is not None


_LOAD_ON_A_TERMINAL = """
import os, sys
from pathlib import Path
from keelbase.autocert import Autocert
os.setsid()
os.close(os.open(sys.argv[1], os.O_RDWR))  # the terminal becomes this process's own
keeper = Autocert(["site.example"], "https://acme.example/dir", Path(sys.argv[2]))
print("LOADED", keeper.load(), flush=True)
"""


def test_a_cached_key_with_a_passphrase_is_refused_without_a_prompt(tmp_path: Path) -> None:
    """Started from a terminal, a cached certificate whose key is encrypted must not
    make OpenSSL ask for a pass phrase there (the start would wait for it): it is
    unusable, and a new certificate is obtained."""
    import os
    import select
    import subprocess
    import sys

    keeper = Autocert(["site.example"], "https://acme.example/dir", tmp_path / "cache")
    keeper.folder.mkdir(parents=True)
    plain = _certificate(tmp_path, "site.example", 90).read_bytes()
    key = serialization.load_pem_private_key(plain, None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    certificate = plain[plain.index(b"-----BEGIN CERTIFICATE-----") :]
    keeper.certificate_path.write_bytes(encrypted + certificate)
    master, slave = os.openpty()
    child = subprocess.Popen(
        [sys.executable, "-c", _LOAD_ON_A_TERMINAL, os.ttyname(slave), str(tmp_path / "cache")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    os.close(slave)
    seen = b""
    try:
        assert child.stdout is not None
        # until the child's whole answer line is in (a read may end inside it)
        while b"pass phrase" not in seen and not re.search(rb"LOADED [^\n]*\n", seen):
            ready, _, _ = select.select([child.stdout, master], [], [], 30)
            assert ready, f"neither loaded nor prompted: {seen!r}"
            for source in ready:
                fd = source if isinstance(source, int) else source.fileno()
                try:
                    data = os.read(fd, 4096)
                except OSError:  # the terminal closed with the child
                    data = b""
                assert data or child.poll() is None, f"the child ended: {seen!r}"
                seen += data
    finally:
        child.kill()
        child.wait()
        os.close(master)
    assert b"pass phrase" not in seen
    assert b"LOADED False" in seen
