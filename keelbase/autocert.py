"""Automatic HTTPS certificates (ACME, Let's Encrypt) for ``keelbase serve DOMAIN...``.

As PocketBase's ``serve example.com`` does with Go's autocert: the plain HTTP
listener answers the ACME server's http-01 challenges (and sends everything else
to HTTPS), the certificate and the account key are kept in
``<dir>/.autocert_cache`` (files mode 0600), a cached certificate is used while
it is valid, and a certificate near its end is renewed in the background
without a restart.

The ACME protocol is certbot's ``acme`` library, which is synchronous
(``requests``): every call to the ACME server runs in a daemon thread, never
on the event loop. The HTTPS listener serves from one ``ssl.SSLContext`` made here; a
renewal loads the new chain into that same context (``load_cert_chain``), and
every connection after it gets the new certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import logging
import os
import re
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

log = logging.getLogger("keelbase.autocert")

CACHE_FOLDER = ".autocert_cache"
# Renew when less than this is left (or a third of the certificate's life, if shorter).
RENEW_BEFORE = datetime.timedelta(days=30)
# After a failed renewal, try again this much later (the old certificate still serves).
RETRY_AFTER = datetime.timedelta(hours=1)
# How long to wait for the ACME server to validate and issue.
ISSUE_TIMEOUT = datetime.timedelta(seconds=90)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class AcmeProblem(Exception):
    """Getting a certificate failed; the message says why, in one line for the user."""


def domain_problem(domains: list[str]) -> str | None:
    """Why ``domains`` cannot get certificates over http-01 (``None`` when they can)."""
    for domain in domains:
        if domain.startswith("*."):
            return f"{domain}: wildcard certificates need a DNS challenge; list each name instead"
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(domain.strip("[]"))
            return f"{domain}: an IP address, not a domain name"
        labels = domain.lower().rstrip(".").split(".")
        if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
            return f"{domain!r} is not a domain name (e.g. example.com)"
    return None


def cache_folder(data_dir: Path) -> Path:
    return data_dir / CACHE_FOLDER


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_") or "_"


def _write_private(path: Path, data: bytes) -> None:
    """``data`` into ``path`` (mode 0600), replacing it at once: a reader sees old or new."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _new_key() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _renew_before(
    certificate: x509.Certificate, override: datetime.timedelta | None
) -> datetime.timedelta:
    if override is not None:
        return override
    life = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    return min(RENEW_BEFORE, life / 3)


class Autocert:
    """Certificates for ``domains`` from the ACME ``directory``, cached in ``cache``.

    ``renew_before`` overrides when a certificate counts as due (default: 30 days
    before its end, or a third of its life if that is shorter, so short-lived
    certificates renew too). ``ca_file`` is a PEM bundle to trust for the ACME
    server's own HTTPS (a private ACME server); the system's roots otherwise.
    """

    def __init__(
        self,
        domains: list[str],
        directory: str,
        cache: Path,
        email: str = "",
        renew_before: datetime.timedelta | None = None,
        ca_file: str = "",
    ) -> None:
        self.domains = [d.lower().rstrip(".") for d in domains]
        self.directory = directory
        self.email = email
        self.renew_before = renew_before
        self.ca_file = ca_file
        self.folder = cache / _slug(urlsplit(directory).netloc + urlsplit(directory).path)
        self.certificate_path = self.folder / f"{self.domains[0]}.pem"
        self.account_key_path = self.folder / "account.key"
        self.account_path = self.folder / "account.json"
        # token -> key authorization, read by the HTTP listener while an order is open
        self.challenges: dict[str, str] = {}
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.not_after: datetime.datetime | None = None  # of the certificate being served

    # -- the cache -----------------------------------------------------------------

    def cached(self) -> x509.Certificate | None:
        """The cached certificate when it covers the domains and has not ended, else ``None``."""
        try:
            pem = self.certificate_path.read_bytes()
            certificate = x509.load_pem_x509_certificate(pem)
            names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except (OSError, ValueError, x509.ExtensionNotFound):
            return None
        covered = set(names.value.get_values_for_type(x509.DNSName))
        now = datetime.datetime.now(datetime.UTC)
        if not set(self.domains) <= covered or certificate.not_valid_after_utc <= now:
            return None
        return certificate

    def due(self, certificate: x509.Certificate) -> datetime.datetime:
        """When ``certificate`` should be renewed."""
        return certificate.not_valid_after_utc - _renew_before(certificate, self.renew_before)

    def load(self) -> bool:
        """Serve the cached certificate (on the same context); ``False`` when there is none."""
        certificate = self.cached()
        if certificate is None:
            return False
        try:
            # a key with a pass phrase fails here: OpenSSL must not ask for one on a terminal
            self.context.load_cert_chain(self.certificate_path, password=_no_passphrase)
        except (ssl.SSLError, OSError) as error:
            log.warning("autocert: the cached %s is unusable (%s)", self.certificate_path, error)
            return False
        self.not_after = certificate.not_valid_after_utc
        return True

    # -- the ACME conversation (blocking: run it in a thread) --------------------------

    def obtain(self) -> None:
        """Order, prove and fetch a certificate for the domains, and cache it.

        Blocking; raises ``AcmeProblem`` with the reason. Call ``load`` after it
        (on the event loop) to serve the new certificate.
        """
        try:
            self._obtain()
        except AcmeProblem:
            raise
        except Exception as error:  # every failure of the ACME exchange, told in one line
            raise AcmeProblem(explain(error, self.directory, self.domains)) from error
        finally:
            self.challenges.clear()

    def _obtain(self) -> None:
        import josepy
        import requests
        from acme import challenges, client, crypto_util, errors, messages

        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.folder.parent, 0o700)
        if not self.account_key_path.exists():
            _write_private(self.account_key_path, _new_key())
        account_key = josepy.JWKEC(
            key=serialization.load_pem_private_key(self.account_key_path.read_bytes(), None)
        )
        verify: Any = self.ca_file or True  # requests takes a CA bundle path here too
        net = client.ClientNetwork(
            account_key, alg=josepy.ES256, verify_ssl=cast(bool, verify), user_agent="keelbase"
        )
        try:
            directory = client.ClientV2.get_directory(self.directory, net)
        except requests.exceptions.InvalidJSONError as error:
            raise AcmeProblem(
                f"{self.directory} is not an ACME directory (its answer is not JSON)"
            ) from error
        except requests.exceptions.RequestException:
            raise  # unreachable or untrusted: explain() says which
        except Exception as error:
            response = error.args[0] if error.args else None
            status = getattr(response, "status_code", None)
            raise AcmeProblem(
                f"{self.directory} is not an ACME directory "
                + (f"(it answered HTTP {status})" if status else f"({error})")
            ) from error
        acme = client.ClientV2(directory, net)
        registration = messages.NewRegistration.from_data(
            email=self.email or None, terms_of_service_agreed=True
        )
        try:
            account = acme.new_account(registration)
        except errors.ConflictError as existing:  # this key's account already exists
            account = messages.RegistrationResource(
                uri=existing.location, body=messages.Registration()
            )
            net.account = account
        if not self.account_path.exists():
            _write_private(self.account_path, json.dumps({"uri": account.uri}).encode())

        key_pem = _new_key()
        csr = crypto_util.make_csr(key_pem, self.domains)
        order = acme.new_order(csr)
        for authorization in order.authorizations:
            if authorization.body.status == messages.STATUS_VALID:
                continue  # proven recently; the server reuses it
            http01 = next(
                (
                    c
                    for c in authorization.body.challenges
                    if isinstance(c.chall, challenges.HTTP01)
                ),
                None,
            )
            if http01 is None:
                raise AcmeProblem(
                    f"the ACME server offers no http-01 challenge for "
                    f"{authorization.body.identifier.value}"
                )
            response, validation = http01.response_and_validation(account_key)
            self.challenges[http01.chall.encode("token")] = validation
            acme.answer_challenge(http01, response)
        deadline = datetime.datetime.now() + ISSUE_TIMEOUT
        done = acme.poll_and_finalize(order, deadline)
        _write_private(self.certificate_path, key_pem + done.fullchain_pem.encode())
        log.info("autocert: got a certificate for %s", ", ".join(self.domains))

    # -- start and renewals ------------------------------------------------------------

    async def start(self) -> None:
        """A certificate to serve before HTTPS listens: the cached one, or a new one.

        A cached certificate that is due is served at once and renewed in the
        background (``renewals``); only a missing or ended one waits for the
        ACME server. Raises ``AcmeProblem``.
        """
        if self.load():
            log.info("autocert: using the cached certificate %s", self.certificate_path)
            return
        await _off_loop(self.obtain)
        if not self.load():
            raise AcmeProblem(f"the certificate written to {self.certificate_path} does not load")

    async def renewals(self) -> None:
        """Renew ahead of the end, for as long as the server runs; failures are logged and retried."""
        while True:
            certificate = self.cached()
            now = datetime.datetime.now(datetime.UTC)
            wait = (self.due(certificate) - now).total_seconds() if certificate else 0.0
            if wait > 0:
                await asyncio.sleep(min(wait, 12 * 3600.0))  # re-read the cache twice a day
                continue
            try:
                await _off_loop(self.obtain)
            except AcmeProblem as error:
                log.error("autocert: renewing failed, trying again in an hour: %s", error)
                await asyncio.sleep(RETRY_AFTER.total_seconds())
                continue
            if self.load():
                log.info("autocert: now serving the renewed certificate")
            certificate = self.cached()
            if certificate is not None and self.due(certificate) <= datetime.datetime.now(
                datetime.UTC
            ):
                # A certificate due as soon as it is issued (a forced threshold): not again at once.
                await asyncio.sleep(RETRY_AFTER.total_seconds())


def _no_passphrase() -> bytes:
    return b""


async def _off_loop(work: Callable[[], None]) -> None:
    """Run blocking ``work`` in a daemon thread and wait for it.

    Not ``asyncio.to_thread``: the loop's executor is joined when the server
    stops, so a stop during a slow ACME exchange would wait for its timeouts.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def run() -> None:
        error: BaseException | None = None
        try:
            work()
        except BaseException as raised:  # handed to the waiting coroutine
            error = raised
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=run, name="keelbase-acme", daemon=True).start()
    await done


def explain(error: BaseException, directory: str, domains: list[str]) -> str:
    """One line for why the ACME exchange failed."""
    import josepy
    import requests
    from acme import errors, messages

    names = ", ".join(domains)
    if isinstance(error, requests.exceptions.SSLError):
        return (
            f"cannot trust the ACME directory {directory}: its HTTPS certificate does not verify "
            "(for a private ACME server set KEELBASE_ACME_CA to its CA bundle)"
        )
    if isinstance(error, requests.exceptions.RequestException):
        return f"cannot reach the ACME directory {directory}: {_root(error)}"
    if isinstance(error, messages.Error):
        kind = (error.typ or "").rsplit(":", 1)[-1]
        detail = error.detail or error.title or error.typ
        if kind == "rateLimited":
            return f"the ACME server refuses more certificates for {names} for now (rate limited): {detail}"
        return f"the ACME server refused the request ({kind}): {detail}"
    if isinstance(error, errors.ValidationError):
        reasons = []
        for authorization in error.failed_authzrs:
            for challenge in authorization.body.challenges:
                if challenge.error is not None:
                    reasons.append(
                        f"{authorization.body.identifier.value}: "
                        f"{challenge.error.detail or challenge.error.typ}"
                    )
        return (
            f"the ACME server could not reach {names} over HTTP to check the challenge "
            f"({'; '.join(reasons) or 'no detail given'}); the domain must resolve to this "
            "machine and port 80 (--http) must be reachable from the internet"
        )
    if isinstance(error, errors.TimeoutError):
        return f"the ACME server did not validate {names} within {ISSUE_TIMEOUT.seconds} seconds"
    if isinstance(error, KeyError):  # the directory object lacks a resource
        return f"{directory} is not an ACME directory ({error.args[0] if error.args else error})"
    if isinstance(error, josepy.errors.DeserializationError):
        return f"the ACME server answered something that is not ACME: {error}"
    return f"{type(error).__name__}: {error}"


def _root(error: BaseException) -> str:
    """The innermost reason of a network error (refused, unknown host, timed out)."""
    while error.__context__ is not None and error.__context__ is not error:
        error = error.__context__
    text = str(error)
    return text.rsplit(": ", 1)[-1] if "Errno" in text or "]" in text else text
