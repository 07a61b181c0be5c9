"""``keelbase serve DOMAIN`` gets its certificate from a real ACME server: Pebble.

Pebble is Let's Encrypt's test ACME server (Debian's ``pebble``). It validates
the http-01 challenge for real: it looks the domain up in the small DNS
responder below (every ``*.test`` name is 127.0.0.1, ``nowhere.test`` does not
exist) and fetches the challenge from keelbase's plain HTTP listener, on the
port its configuration names. The client side trusts only Pebble's root, so
an answer proves keelbase serves the certificate Pebble issued.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from keelbase.autocert import AcmeProblem, Autocert
from tests.conftest import free_port

# Skipped only outside CI: make test installs pebble, so CI fails loudly without it.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("pebble") is None and not os.environ.get("CI"),
        reason="Debian's pebble is not installed (make pebble installs it)",
    ),
]

DOMAIN = "localhost.test"
NAMES = [DOMAIN, "www.localhost.test"]  # one certificate for both


class DnsResponder:
    """Answers A queries for any name with 127.0.0.1 (``nowhere.*``: NXDOMAIN), over UDP."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                query, peer = self.sock.recvfrom(512)
            except OSError:
                return
            with_answer = self._answer(query)
            if with_answer:
                self.sock.sendto(with_answer, peer)

    @staticmethod
    def _answer(query: bytes) -> bytes | None:
        if len(query) < 12:
            return None
        at, labels = 12, []
        while at < len(query) and query[at]:
            labels.append(query[at + 1 : at + 1 + query[at]].decode("ascii", "replace"))
            at += 1 + query[at]
        question = query[12 : at + 5]
        qtype = struct.unpack("!H", query[at + 1 : at + 3])[0]
        missing = labels[:1] == ["nowhere"]
        answers = b""
        if qtype == 1 and not missing:
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([127, 0, 0, 1])
        flags = 0x8583 if missing else 0x8580  # response, authoritative, NXDOMAIN or NOERROR
        header = query[:2] + struct.pack("!HHHHH", flags, 1, 1 if answers else 0, 0, 0)
        return header + question + answers

    def close(self) -> None:
        self.sock.close()


def _tls_pair(folder: Path) -> Path:
    """A CA and a certificate for Pebble's own HTTPS (127.0.0.1); returns the CA's file."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test pebble listener CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
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
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "cert.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "ca.pem"


def _trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


@dataclass
class Pebble:
    directory: str
    management: str
    listener_ca: Path  # what keelbase trusts for Pebble's own HTTPS
    http_port: int  # where Pebble checks http-01 challenges: keelbase's --http port

    def pem(self, what: str) -> str:
        """Pebble's issuing root (``roots/0``) or intermediate (``intermediates/0``)."""
        answer = httpx.get(f"{self.management}/{what}", verify=_trusting(self.listener_ca))
        answer.raise_for_status()
        return answer.text


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    folder = tmp_path_factory.mktemp("pebble")
    ca = _tls_pair(folder)
    port, management, http_port = free_port(), free_port(), free_port()
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{port}",
            "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(folder / "cert.pem"),
            "privateKey": str(folder / "key.pem"),
            "httpPort": http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    (folder / "pebble.json").write_text(json.dumps(config))
    dns = DnsResponder()
    env = {
        **os.environ,
        "PEBBLE_VA_NOSLEEP": "1",  # validate at once instead of after a random pause
        "PEBBLE_WFE_NONCEREJECT": "0",  # no random bad-nonce answers
        "PEBBLE_AUTHZREUSE": "0",  # every order proves the domain again
    }
    proc = subprocess.Popen(
        ["pebble", "-config", str(folder / "pebble.json"), "-dnsserver", dns.address],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    server = Pebble(
        f"https://127.0.0.1:{port}/dir", f"https://127.0.0.1:{management}", ca, http_port
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(server.directory, verify=_trusting(ca), timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"pebble did not start:\n{out}")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        dns.close()


class Serve:
    """One ``keelbase serve DOMAIN...`` process against Pebble."""

    def __init__(
        self, pebble: Pebble, data: Path, *domains: str, env: dict[str, str] | None = None
    ) -> None:
        self.https_port = free_port()
        self.http_port = pebble.http_port
        command = [
            sys.executable, "-m", "keelbase", "serve", *domains, "--dir", str(data),
            "--http", f"127.0.0.1:{self.http_port}",
            "--https", f"127.0.0.1:{self.https_port}",
            "--acmeDirectory", pebble.directory, "--acmeEmail", "ops@example.com",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                "KEELBASE_ACME_CA": str(pebble.listener_ca),
                **(env or {}),
            },
        )
        self.output = ""

    def finish(self, timeout: float = 40) -> int:
        """Wait for the command to end by itself; its exit code."""
        out, _ = self.proc.communicate(timeout=timeout)
        self.output = out.decode()
        return self.proc.returncode

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        self.output = out.decode()
        return self.output


def _handshake(port: int, root: str, name: str = DOMAIN) -> x509.Certificate:
    """The certificate the server presents for ``name``, verified up to Pebble's ``root``."""
    context = ssl.create_default_context(cadata=root)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def _get(port: int, root: str, path: str) -> tuple[int, bytes]:
    """``GET path`` over HTTPS as a browser visiting ``https://localhost.test`` would."""
    context = ssl.create_default_context(cadata=root)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=DOMAIN) as tls,
    ):
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {DOMAIN}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _wait_for_https(serve: Serve, root: str, timeout: float = 30) -> x509.Certificate:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _handshake(serve.https_port, root)
        except (OSError, ssl.SSLError):
            if serve.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"keelbase did not serve HTTPS:\n{serve.stop()}")
            time.sleep(0.1)


def test_serve_domain_gets_a_certificate_reuses_it_and_renews_it_in_place(
    pebble: Pebble, tmp_path: Path
) -> None:
    root, intermediate = pebble.pem("roots/0"), pebble.pem("intermediates/0")
    issuer = x509.load_pem_x509_certificate(intermediate.encode()).subject
    data = tmp_path / "kb_data"

    first = Serve(pebble, data, *NAMES)
    try:
        issued = _wait_for_https(first, root)
        assert issued.issuer == issuer  # Pebble's intermediate issued it, for the domain
        names = issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sorted(names.get_values_for_type(x509.DNSName)) == sorted(NAMES)
        assert _handshake(first.https_port, root, "www.localhost.test") == issued
        status, body = _get(first.https_port, root, "/api/health")
        assert status == 200 and json.loads(body)["message"] == "API is healthy."
        # plain HTTP sends browsers to HTTPS; an unknown challenge token is a 404
        plain = f"http://127.0.0.1:{first.http_port}"
        moved = httpx.get(plain + "/api/health", headers={"host": DOMAIN})
        assert moved.status_code == 302
        assert moved.headers["location"] == f"https://{DOMAIN}:{first.https_port}/api/health"
        assert httpx.get(plain + "/.well-known/acme-challenge/nope").status_code == 404
    finally:
        out = first.stop()
    assert "keelbase stopped cleanly" in out, out
    base = f"https://{DOMAIN}:{first.https_port}"
    assert f"Server started at {base}\n" in out  # the domain's URL, as PocketBase prints
    assert f"create the first one: {base}/_/#/install/" in out
    cache = data / ".autocert_cache"
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {f"{DOMAIN}.pem", "account.key", "account.json"}
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in files)
    assert cache.stat().st_mode & 0o777 == 0o700

    # A second start serves the cached certificate: no new order, the same serial.
    second = Serve(pebble, data, *NAMES)
    try:
        again = _wait_for_https(second, root)
    finally:
        out = second.stop()
    assert again.serial_number == issued.serial_number
    assert "using the cached certificate" in out

    # A certificate that is due is served at once and replaced in the background:
    # the same process (no restart) presents a new certificate from Pebble.
    third = Serve(pebble, data, *NAMES, env={"KEELBASE_ACME_RENEW_BEFORE": "36500"})
    try:
        _wait_for_https(third, root)
        deadline = time.monotonic() + 20
        while (renewed := _handshake(third.https_port, root)).serial_number == issued.serial_number:
            assert time.monotonic() < deadline, "the certificate was not renewed"
            time.sleep(0.2)
        assert third.proc.poll() is None
        assert renewed.issuer == issuer
        assert _get(third.https_port, root, "/api/health")[0] == 200
    finally:
        out = third.stop()
    assert "now serving the renewed certificate" in out, out
    cached = x509.load_pem_x509_certificate((cache.rglob(f"{DOMAIN}.pem").__next__()).read_bytes())
    assert cached.serial_number == renewed.serial_number


def test_certificate_failures_are_one_clear_line(pebble: Pebble, tmp_path: Path) -> None:
    # The domain does not resolve: Pebble cannot check the challenge.
    nowhere = Serve(pebble, tmp_path / "a", "nowhere.test")
    assert nowhere.finish() == 1, nowhere.output
    assert "Error: no certificate for nowhere.test: the ACME server could not reach" in (
        nowhere.output
    )
    assert "Traceback" not in nowhere.output

    # The directory cannot be reached, or is no ACME directory: the same AcmeProblem
    # that the line above carries, raised by the certificate keeper itself (in-process,
    # as a start costs seconds).
    def problem(directory: str) -> str:
        keeper = Autocert([DOMAIN], directory, tmp_path / "cache", ca_file=str(pebble.listener_ca))
        with pytest.raises(AcmeProblem) as raised:
            keeper.obtain()
        return str(raised.value)

    closed = f"https://127.0.0.1:{free_port()}/dir"
    assert problem(closed).startswith(f"cannot reach the ACME directory {closed}: ")
    assert "Connection refused" in problem(closed)
    wrong = pebble.directory.replace("/dir", "/nothing-here")
    assert problem(wrong) == f"{wrong} is not an ACME directory (it answered HTTP 404)"
    pem = f"{pebble.management}/roots/0"  # 200, but a PEM file
    assert problem(pem) == (
        f"{pem} is not an ACME directory "
        "(Unexpected response Content-Type: application/pem-certificate-chain)"
    )
    untrusted = Autocert([DOMAIN], pebble.directory, tmp_path / "cache")  # system roots only
    with pytest.raises(AcmeProblem, match="its HTTPS certificate does not verify"):
        untrusted.obtain()
