"""The ``keelbase`` command, shaped like PocketBase's."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from keelbase import collector
from keelbase.cli_backups import add_commands as add_backup_commands
from keelbase.cli_backups import run as run_backups
from keelbase.cli_migrations import add_commands as add_migrations_commands
from keelbase.cli_migrations import migrations_dir_argument
from keelbase.cli_migrations import run as run_migrations
from keelbase.cli_payments import add_commands as add_payments_commands
from keelbase.cli_payments import run as run_payments
from keelbase.cli_transfer import add_commands as add_transfer_commands
from keelbase.cli_transfer import run as run_transfer
from keelbase.config import Config, env_default, otlp_problem, tracing_wanted
from keelbase.log_format import FORMATS, configure

if TYPE_CHECKING:
    import uvicorn

    from keelbase.app import App
    from keelbase.autocert import Autocert
    from keelbase.serve_granian import GranianServer


def _version() -> str:
    from keelbase import __version__

    return __version__


def _add_dir(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--dir``: on ``keelbase`` itself (its default) and again after a command, as in PocketBase."""
    parser.add_argument(
        "--dir",
        default=default if default is not None else argparse.SUPPRESS,
        help="the data folder (default ./kb_data, env KEELBASE_DIR)",
    )
    parser.add_argument(
        "--encryptionEnv",
        dest="encryption_env",
        metavar="VAR",
        default=env_default("ENCRYPTION_ENV", "") if default is not None else argparse.SUPPRESS,
        help="the environment variable whose 32-character value encrypts the stored "
        "settings (env KEELBASE_ENCRYPTION_ENV)",
    )


def _flag(value: str) -> bool:
    """A boolean flag's value, as Go's flags take it (``--x=false``)."""
    lowered = value.lower()
    if lowered in ("1", "t", "true", "yes"):
        return True
    if lowered in ("0", "f", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {value!r}")


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keelbase", description="Keelbase app backend.")
    parser.add_argument("--version", action="version", version=f"keelbase {_version()}")
    # Global flags go before the command (``keelbase --dir X serve``) or after it.
    _add_dir(parser, env_default("DIR", "kb_data"))
    parser.add_argument(
        "--dev",
        action="store_true",
        default=False,
        help="log SQL statements and requests",
    )
    parser.add_argument(
        "--queryTimeout",
        dest="query_timeout",
        type=float,
        metavar="SECONDS",
        default=float(env_default("QUERY_TIMEOUT", "30") or 30),
        help="stop a database query after this many seconds and answer 400 (default 30, "
        "0: no limit, env KEELBASE_QUERY_TIMEOUT)",
    )
    parser.add_argument(
        "--syncWindow",
        dest="sync_window",
        type=_positive_seconds,
        metavar="SECONDS",
        default=env_default("SYNC_WINDOW", str(7 * 24 * 3600)),
        help="how long sync keeps changes and tombstones; an older cursor gets 410 "
        "(default 604800, a week, env KEELBASE_SYNC_WINDOW)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="start the web server")
    serve.add_argument(
        "domains",
        nargs="*",
        metavar="DOMAIN",
        help="serve HTTPS for these domains with certificates obtained automatically "
        "(ACME, Let's Encrypt by default): HTTPS on 0.0.0.0:443, and HTTP on 0.0.0.0:80 "
        "for the ACME challenges and the redirect to HTTPS",
    )
    serve.add_argument(
        "--http",
        default=env_default("HTTP"),
        help="HOST:PORT to listen on (default 127.0.0.1:8090, or 0.0.0.0:80 with domain "
        "arguments, env KEELBASE_HTTP); with --https, plain HTTP only redirects to HTTPS",
    )
    serve.add_argument(
        "--https",
        default=env_default("HTTPS"),
        help="HOST:PORT to serve HTTPS on, with --httpsCert and --httpsKey, or with domain "
        "arguments (default then 0.0.0.0:443) (env KEELBASE_HTTPS)",
    )
    serve.add_argument(
        "--acmeDirectory",
        dest="acme_directory",
        metavar="URL",
        default=env_default("ACME_DIRECTORY", "https://acme-v02.api.letsencrypt.org/directory"),
        help="the ACME directory that issues certificates for domain arguments (default "
        "Let's Encrypt's production one, env KEELBASE_ACME_DIRECTORY)",
    )
    serve.add_argument(
        "--acmeEmail",
        dest="acme_email",
        metavar="EMAIL",
        default=env_default("ACME_EMAIL", ""),
        help="the contact address of the ACME account, for the CA's notices "
        "(optional, env KEELBASE_ACME_EMAIL)",
    )
    serve.add_argument(
        "--httpsCert",
        dest="https_cert",
        metavar="FILE",
        default=env_default("HTTPS_CERT"),
        help="the PEM certificate (chain) for --https (env KEELBASE_HTTPS_CERT)",
    )
    serve.add_argument(
        "--httpsKey",
        dest="https_key",
        metavar="FILE",
        default=env_default("HTTPS_KEY"),
        help="the PEM private key of --httpsCert (env KEELBASE_HTTPS_KEY)",
    )
    serve.add_argument(
        "--durability",
        choices=("full", "normal"),
        default=env_default("DURABILITY", "full"),
        help="full: every answered write is on disk first; normal: faster, the last writes "
        "may be lost on a power loss or OS crash (default full, env KEELBASE_DURABILITY)",
    )
    serve.add_argument(
        "--origins",
        default=env_default("ORIGINS", "*"),
        help="comma separated CORS allowed origins (default all)",
    )
    serve.add_argument(
        "--publicDir",
        dest="public_dir",
        default=env_default("PUBLIC_DIR"),
        help="folder of static files to serve (default ./kb_public beside the data folder)",
    )
    serve.add_argument(
        "--indexFallback",
        dest="index_fallback",
        type=_flag,
        nargs="?",
        const=True,
        default=_flag(env_default("INDEX_FALLBACK", "true") or "true"),
        help="answer index.html for paths of the public folder that name no file "
        "(single-page apps; default true, --indexFallback=false to turn off)",
    )
    serve.add_argument(
        "--hooksDir",
        dest="hooks_dir",
        default=env_default("HOOKS_DIR"),
        help="the folder of Python hooks (default ./kb_hooks beside the data folder)",
    )
    serve.add_argument(
        "--redis",
        default=env_default("REDIS_URL"),
        help="redis://... URL: share realtime events between workers and nodes (env KEELBASE_REDIS_URL)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=int(env_default("WORKERS", "0") or 0) or None,
        help="worker processes (default: one per usable CPU core; 1 with --dev or with --http "
        "beside --https); workers share events and limits through a local hub, or --redis "
        "(env KEELBASE_WORKERS)",
    )
    serve.add_argument(
        "--http-server",
        dest="http_server",
        metavar="NAME",
        default=env_default("HTTP_SERVER", "uvicorn"),
        help="the HTTP server: uvicorn (default) or granian (faster; plain HTTP only) "
        "(env KEELBASE_HTTP_SERVER)",
    )
    serve.add_argument(
        "--db",
        default=env_default("DB_URL"),
        help="postgresql://... URL: keep the data in PostgreSQL, shared by several nodes "
        "(default: SQLite in the data folder, env KEELBASE_DB_URL)",
    )
    serve.add_argument(
        "--dev",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log SQL statements and requests; automigrate unless --no-automigrate",
    )
    serve.add_argument(
        "--automigrate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write a migration file for every collection change (default: on with --dev)",
    )
    migrations_dir_argument(serve)
    serve.add_argument(
        "--log-format",
        dest="log_format",
        choices=FORMATS,
        default=env_default("LOG_FORMAT", "text"),
        help="text (default) or json: one JSON object per line on stderr (env KEELBASE_LOG_FORMAT)",
    )
    _add_dir(serve)

    superuser = commands.add_parser("superuser", help="manage superusers")
    actions = superuser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, needs_password in (
        ("upsert", True),
        ("create", True),
        ("update", True),
        ("delete", False),
    ):
        sub = actions.add_parser(action, help=f"{action} a superuser")
        sub.add_argument("email")
        if needs_password:
            sub.add_argument("password")
        _add_dir(sub)
        sub.add_argument(
            "--db",
            default=env_default("DB_URL"),
            help="postgresql://... URL when the data is in PostgreSQL (env KEELBASE_DB_URL)",
        )
    otp = actions.add_parser("otp", help="print a one-time password for a superuser")
    otp.add_argument("email")
    _add_dir(otp)
    otp.add_argument(
        "--db",
        default=env_default("DB_URL"),
        help="postgresql://... URL when the data is in PostgreSQL (env KEELBASE_DB_URL)",
    )
    ips = actions.add_parser(
        "ips",
        help="show the superuserIPs setting, set it (IPs or CIDR subnets), or --reset it",
    )
    ips.add_argument("ips", nargs="*", metavar="IP", help="addresses or subnets to allow")
    ips.add_argument(
        "--reset", action="store_true", help="allow superusers from every address again"
    )
    _add_dir(ips)
    ips.add_argument(
        "--db",
        default=env_default("DB_URL"),
        help="postgresql://... URL when the data is in PostgreSQL (env KEELBASE_DB_URL)",
    )
    add_transfer_commands(commands)
    add_migrations_commands(commands)
    add_backup_commands(commands)
    add_payments_commands(commands)
    return parser


def _pocketbase_refusal(data_dir: str, db_url: str | None) -> bool:
    """Print why a PocketBase folder is not opened (see ``transfer.pocketbase``); True if so."""
    from keelbase.services.transfer.pocketbase import refusal

    reason = None if db_url else refusal(Path(data_dir))
    if reason is not None:
        print(f"Error: {reason}", file=sys.stderr)
    return reason is not None


async def _superuser(args: argparse.Namespace) -> int:
    from keelbase.app import App
    from keelbase.services.auth.superusers import SuperuserError
    from keelbase.services.settings import SettingsKeyError

    if _pocketbase_refusal(args.dir, args.db):
        return 1
    app = App(_config_of(args, db_url=args.db or ""))
    try:
        await app.start()
    except SettingsKeyError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    try:
        if args.action == "ips":
            return await _superuser_ips(app, args)
        if args.action == "otp":
            otp_id, code, seconds = await app.superusers.otp(args.email)
            print(f"Successfully created OTP for superuser {args.email!r}:")
            print(f"├─ Id:    {otp_id}")
            print(f"├─ Pass:  {code}")
            print(f"└─ Valid: {seconds}s")
            return 0
        service = app.superusers
        if args.action == "delete":
            await service.delete(args.email)
            print(f"Successfully deleted superuser {args.email}.")
            return 0
        action = getattr(service, args.action)
        await action(args.email, args.password)
        print(f"Successfully saved superuser {args.email}.")
        return 0
    except SuperuserError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    finally:
        await app.stop()


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _env_flag(name: str) -> bool | None:
    """A yes/no ``KEELBASE_<NAME>``; ``None`` when it is neither."""
    value = (env_default(name, "") or "").strip().lower()
    return True if value in _TRUE else False if value in _FALSE else None


def _error(log_format: str, message: str) -> None:
    """Why the server cannot start: a log record in JSON (one line a shipper can read), else text."""
    if log_format == "json":
        logging.getLogger("keelbase").error(message)
    else:
        print(f"Error: {message}", file=sys.stderr)


async def _superuser_ips(app: App, args: argparse.Namespace) -> int:
    """Show, set or clear ``superuserIPs``: how a locked-out owner gets back in."""
    from keelbase.errors import ApiError

    if args.reset and args.ips:
        print("Error: give addresses or --reset, not both", file=sys.stderr)
        return 2
    if args.reset or args.ips:
        try:
            await app.settings.update({"superuserIPs": [] if args.reset else args.ips})
        except ApiError as error:
            problems = error.data.get("superuserIPs", {})
            for index, problem in problems.items():
                print(f"Error: {args.ips[int(index)]!r}: {problem['message']}", file=sys.stderr)
            if not problems:
                print(f"Error: {error.message}", file=sys.stderr)
            return 1
    current = app.settings.current.superuserIPs
    if not current:
        print("Superusers may sign in from every address (superuserIPs is empty).")
        return 0
    print("Superusers may sign in only from:")
    for index, entry in enumerate(current):
        print(f"{'└─' if index == len(current) - 1 else '├─'} {entry}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from keelbase.app import App
    from keelbase.http_protocol import BatchedHttpProtocol
    from keelbase.services.settings import SettingsKeyError
    from keelbase.user_code import HooksError

    if args.log_format not in FORMATS:
        print(
            f"Error: unknown log format {args.log_format!r} (KEELBASE_LOG_FORMAT); "
            f"choose one of {', '.join(FORMATS)}.",
            file=sys.stderr,
        )
        return 2
    sentry_pii = _env_flag("SENTRY_PII")
    if sentry_pii is None:
        print("Error: KEELBASE_SENTRY_PII must be true or false.", file=sys.stderr)
        return 2
    from keelbase.serve_granian import HTTP_SERVERS, refusal

    if args.http_server not in HTTP_SERVERS:
        _error(
            args.log_format,
            f"unknown HTTP server {args.http_server!r} (--http-server, KEELBASE_HTTP_SERVER); "
            f"choose one of {', '.join(HTTP_SERVERS)}.",
        )
        return 2
    granian = args.http_server == "granian"
    if granian and (
        problem := refusal(https=args.https or "", domains=args.domains, workers=args.workers)
    ):
        _error(args.log_format, problem + ".")
        return 2
    from keelbase.https import address_problem, certificate_problem

    autocert = None
    if args.domains:
        autocert, problem = _autocert_of(args)
        https, http = args.https or "0.0.0.0:443", args.http or "0.0.0.0:80"
        problem = problem or address_problem("--https", https) or address_problem("--http", http)
        if problem is None and args.workers is not None and args.workers > 1:
            problem = (
                "automatic certificates (domain arguments) are served by one process, which "
                "also renews them; leave out --workers"
            )
        if problem:
            _error(args.log_format, problem + ".")
            return 2
        args.http = http
    else:
        https = args.https or ""
        problem = certificate_problem(https, args.https_cert or "", args.https_key or "")
        if problem is None and args.http:
            problem = address_problem("--http", args.http)
        if problem:
            _error(args.log_format, problem + ".")
            return 2
    # automatic certificates: one process, which also renews them
    workers = 1 if args.domains else _worker_count(args)
    if workers < 1:
        _error(args.log_format, f"--workers must be at least 1 (got {workers}).")
        return 2
    if https and args.http and workers > 1:
        _error(
            args.log_format,
            "--http beside --https (the redirect to HTTPS) is served by one process only; "
            "with --workers, leave out --http.",
        )
        return 2
    config = _config_of(
        args,
        migrations_dir=Path(args.migrations_dir) if args.migrations_dir else None,
        apply_migrations=True,
        automigrate=args.automigrate,
        # With --https, the main listener is the HTTPS one; --http only redirects to it.
        http=https or args.http or "127.0.0.1:8090",
        https=bool(https),
        https_cert=args.https_cert or "",
        https_key=args.https_key or "",
        redirect_http=(args.http or "") if https else "",
        domains=[d.lower().rstrip(".") for d in args.domains],
        durability=args.durability,
        dev=args.dev,
        origins=[o.strip() for o in args.origins.split(",") if o.strip()],
        public_dir=Path(args.public_dir) if args.public_dir else None,
        index_fallback=args.index_fallback,
        hooks_dir=Path(args.hooks_dir) if args.hooks_dir else None,
        redis_url=args.redis or "",
        db_url=args.db or "",
        redis_channel=env_default("REDIS_CHANNEL", "keelbase:events") or "keelbase:events",
        hint_superuser=True,
        # Sentry and OpenTelemetry from the environment only: the usual place for a
        # DSN or an endpoint, and it keeps the DSN's key out of the process list.
        sentry_dsn=(env_default("SENTRY_DSN", "") or "").strip(),
        sentry_pii=sentry_pii,
        sentry_environment=env_default("SENTRY_ENVIRONMENT", "") or "",
        tracing=tracing_wanted(os.environ),
    )
    if config.tracing and (problem := otlp_problem(os.environ)):
        print(f"Error: {problem}.", file=sys.stderr)
        return 2
    if config.sentry_dsn:
        from keelbase.adapters.sentry import dsn_problem

        problem = dsn_problem(config.sentry_dsn)
        if problem:
            print(f"Error: KEELBASE_SENTRY_DSN is not a Sentry DSN: {problem}.", file=sys.stderr)
            return 2
    own_log_config = configure(args.log_format, "DEBUG" if config.dev else "INFO")
    log_config = own_log_config
    if log_config is None:
        log_config = uvicorn.config.LOGGING_CONFIG
    if _pocketbase_refusal(args.dir, args.db):
        return 1
    log_level = "info" if config.dev else "warning"
    if workers > 1:
        # Applied once, here, before any worker starts; the workers find nothing pending.
        # This app also prints the first-superuser link, once rather than per worker, and
        # reads the stored settings: a wrong or missing ``--encryptionEnv`` key is one clear
        # error here, not a failed start inside every worker.
        # Without tracing: OpenTelemetry's global provider can be set once a process, and
        # the workers forked from this one set their own.
        migrating = App(config.model_copy(update={"tracing": False}))
        try:
            migrating.load_hooks()
        except HooksError as error:
            print(f"Error: {error}", file=sys.stderr)
            return 1
        try:
            if asyncio.run(_apply_migrations(migrating)) != 0:
                return 1
        except SettingsKeyError as error:
            _error(args.log_format, str(error))
            return 1
        _print_started(config)
        print(f"├─ workers:   {workers} ({_sharing(config)})", flush=True)
        with _metrics_folder(), _local_hub(config) as config:
            config = config.model_copy(update={"apply_migrations": False, "hint_superuser": False})
            os.environ["KEELBASE_CONFIG_JSON"] = config.model_dump_json()
            del migrating
            if granian:
                return _serve_granian_workers(config, workers, log_level, own_log_config, args)
            _fork_workers()
            # This process's start is over: its survivors frozen, so that the workers forked
            # from it share them as they are (no collection of theirs touches them).
            collector.resume()
            uvicorn.run(
                "keelbase.asgi:from_environment",
                factory=True,
                workers=workers,
                host=config.host,
                port=config.port,
                log_level=log_level,
                log_config=log_config,
                access_log=config.dev,
                timeout_graceful_shutdown=10,
                proxy_headers=False,  # X-Forwarded-* is trusted only when configured
                server_header=False,
                ws="none",  # no WebSocket routes (realtime is SSE)
                http=BatchedHttpProtocol,  # each loop turn's answers written together
                ssl_certfile=config.https_cert or None,  # --https: TLS with these files
                ssl_keyfile=config.https_key or None,
            )
        return 0
    app = App(config)
    try:
        loaded = app.load_hooks()
    except HooksError as error:
        _error(args.log_format, str(error))
        return 1
    if granian:
        return _serve_granian(app, loaded, log_level, own_log_config, args.log_format)
    server_config = (uvicorn.Config if autocert is None else _autocert_config(autocert))(
        app.asgi,
        host=config.host,
        port=config.port,
        log_level=log_level,
        log_config=log_config,
        access_log=config.dev,
        timeout_graceful_shutdown=10,
        proxy_headers=False,  # X-Forwarded-* is trusted only when configured (settings.trustedProxy)
        server_header=False,
        ws="none",  # no WebSocket routes (realtime is SSE): spares importing websockets
        http=BatchedHttpProtocol,  # each loop turn's answers written together (http_protocol.py)
        ssl_certfile=config.https_cert or None,  # --https: TLS with these files
        ssl_keyfile=config.https_key or None,
    )
    redirect = _redirect_server(config, log_level, log_config, autocert)
    server = _make_server(server_config, app, redirect)
    with asyncio.Runner(loop_factory=server_config.get_loop_factory()) as runner:
        try:
            return runner.run(_start_and_serve(app, server, loaded, redirect, autocert))
        except SettingsKeyError as error:  # the settings are read once, by the start itself
            _error(args.log_format, str(error))
            return 1


def _serve_granian(
    app: App,
    hooks: list[Path],
    log_level: str,
    log_config: dict[str, object] | None,
    log_format: str,
) -> int:
    """``--http-server granian``: the same start and stop, granian in front (serve_granian)."""
    from keelbase.serve_granian import GranianServer, ListenError, loop_factory
    from keelbase.services.settings import SettingsKeyError

    server = GranianServer(app, app.config, log_level, log_config)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        try:
            code = runner.run(_start_and_serve(app, server, hooks))
        except SettingsKeyError as error:  # the settings are read once, by the start itself
            _error(log_format, str(error))
            return 1
        except ListenError as error:
            _error(log_format, str(error))
            return 1
    return 1 if code == 0 and server.failed else code


def _serve_granian_workers(
    config: Config,
    workers: int,
    log_level: str,
    log_config: dict[str, object] | None,
    args: argparse.Namespace,
) -> int:
    """``--http-server granian --workers N``: forked workers (serve_granian_workers)."""
    from keelbase.serve_granian import ListenError
    from keelbase.serve_granian_workers import serve_workers

    collector.resume()  # as before uvicorn's workers: what survived the start is frozen
    try:
        return serve_workers(config, workers, log_level, log_config)
    except ListenError as error:
        _error(args.log_format, str(error))
        return 1


def _autocert_of(args: argparse.Namespace) -> tuple[Autocert | None, str | None]:
    """The certificate keeper for ``serve DOMAIN...``, or why the options cannot make one."""
    from keelbase.autocert import Autocert, cache_folder, domain_problem

    if args.https_cert or args.https_key:
        return None, (
            "--httpsCert and --httpsKey do not go with domain arguments, whose certificates "
            "are obtained automatically; give one or the other"
        )
    if problem := domain_problem(args.domains):
        return None, problem
    directory = (args.acme_directory or "").strip()
    if not directory.lower().startswith("https://"):  # RFC 8555: ACME is served over HTTPS
        return None, f"--acmeDirectory must be an https:// URL, not {directory!r}"
    renew_before = None
    if raw := (env_default("ACME_RENEW_BEFORE", "") or "").strip():
        try:
            renew_before = datetime.timedelta(days=float(raw))
        except (ValueError, OverflowError):
            return None, f"KEELBASE_ACME_RENEW_BEFORE must be a number of days, not {raw!r}"
    ca_file = (env_default("ACME_CA", "") or "").strip()
    if ca_file and not Path(ca_file).is_file():
        return None, f"KEELBASE_ACME_CA {ca_file!r} is not a readable file"
    autocert = Autocert(
        args.domains,
        directory,
        cache_folder(Path(args.dir)),
        email=(args.acme_email or "").strip(),
        renew_before=renew_before,
        ca_file=ca_file,
    )
    return autocert, None


def _autocert_config(autocert: Autocert) -> type[uvicorn.Config]:
    """uvicorn's config serving TLS from ``autocert``'s context, which renewals reload in place."""
    import uvicorn

    class AutocertConfig(uvicorn.Config):
        def load(self) -> None:
            super().load()
            self.ssl = autocert.context

    return AutocertConfig


def _redirect_server(
    config: Config,
    log_level: str,
    log_config: dict[str, object] | None,
    autocert: Autocert | None = None,
) -> uvicorn.Server | None:
    """The plain-HTTP listener that sends browsers to ``--https`` (``--http`` beside it);
    with domain arguments it also answers the ACME server's http-01 challenges."""
    if not config.redirect_http:
        return None
    import uvicorn

    from keelbase.https import challenge_app, redirect_app

    class Quiet(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the main server handles the signals and stops this one

    host, _, port = config.redirect_http.rpartition(":")
    served = redirect_app(config.http)
    return Quiet(
        uvicorn.Config(
            served if autocert is None else challenge_app(autocert.challenges, served),
            host=host or "127.0.0.1",
            port=int(port),
            lifespan="off",
            log_level=log_level,
            log_config=log_config,
            access_log=config.dev,
            server_header=False,
        )
    )


async def _start_and_serve(
    app: App,
    server: uvicorn.Server | GranianServer,
    hooks: list[Path],
    redirect: uvicorn.Server | None = None,
    autocert: Autocert | None = None,
) -> int:
    """Start the app (applying pending migrations) and only then serve it.

    A migration that fails, or a database that cannot be reached, ends the
    command with one ``Error:`` line (and the migration's traceback) and exit
    code 1, before anything listens. The server's lifespan finds the app
    started and stops it at shutdown.
    """
    if await _apply_migrations(app, keep_running=True) != 0:
        return 1
    if autocert is not None and redirect is not None:
        from keelbase.serve_granian import GranianServer

        assert not isinstance(server, GranianServer)  # refused with domain arguments
        return await _serve_with_autocert(app, server, hooks, redirect, autocert)
    _print_started(app.config)
    for path in hooks:
        print(f"├─ hooks:     {path}", flush=True)
    try:
        if redirect is None:
            await server.serve()
        else:
            await asyncio.gather(server.serve(), redirect.serve())
    finally:
        await app.stop()
    return 0


async def _serve_with_autocert(
    app: App,
    server: uvicorn.Server,
    hooks: list[Path],
    redirect: uvicorn.Server,
    autocert: Autocert,
) -> int:
    """``serve DOMAIN...``: plain HTTP first (the ACME server checks the challenges there),
    then a certificate (cached or new), then HTTPS, with renewals in the background.

    A certificate that cannot be had ends the command with one ``Error:`` line
    and exit code 1."""
    from keelbase.autocert import AcmeProblem

    collector.resume()  # the certificate may take a while
    plain = asyncio.create_task(redirect.serve())
    renewals: asyncio.Task[None] | None = None
    loop = asyncio.get_running_loop()
    waiting = asyncio.current_task()
    stops = (signal.SIGINT, signal.SIGTERM)
    try:
        # uvicorn handles the signals once it serves; until then, they end the wait.
        for stop in stops:
            loop.add_signal_handler(stop, waiting.cancel if waiting else lambda: None)
        try:
            while not redirect.started:
                if plain.done():  # the listener could not start: uvicorn has said why
                    return 1
                await asyncio.sleep(0.02)
            print(f"├─ certificate for {', '.join(autocert.domains)}", flush=True)
            await autocert.start()
        except AcmeProblem as error:
            print(
                f"Error: no certificate for {', '.join(autocert.domains)}: {error}.",
                file=sys.stderr,
                flush=True,
            )
            return 1
        except asyncio.CancelledError:
            print("Stopped while waiting for the certificate.", file=sys.stderr, flush=True)
            return 1
        finally:
            for stop in stops:
                loop.remove_signal_handler(stop)
        renewals = asyncio.create_task(autocert.renewals())
        port = app.config.port
        urls = [f"https://{d}{'' if port == 443 else f':{port}'}" for d in autocert.domains]
        _print_started(app.config, urls[0])  # as PocketBase: the first domain's URL
        for url in urls[1:]:
            print(f"├─ also:      {url}", flush=True)
        for path in hooks:
            print(f"├─ hooks:     {path}", flush=True)
        await server.serve()
        return 0
    finally:
        if renewals is not None:
            renewals.cancel()
        redirect.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await plain
        await app.stop()


def _worker_count(args: argparse.Namespace) -> int:
    """``--workers``, else one per CPU core this process may use (``taskset`` counts).

    One process when a single one is needed: ``--dev`` (hooks reload in place,
    one log to read) and ``--http`` beside ``--https`` (the redirect listener).
    """
    if args.workers is not None:
        return int(args.workers)
    if args.dev or (args.https and args.http):
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _sharing(config: Config) -> str:
    return "sharing through Redis" if config.redis_url else "sharing through the local hub"


def _fork_workers() -> None:
    """Have uvicorn fork its workers from this process instead of spawning fresh interpreters.

    This supervisor has imported the app and started it once (the migrations), so a
    forked worker only builds its ``App``; a spawned one imports everything again,
    about 0.4 s of CPU each, all at once. Linux only: macOS forbids much after a fork
    in a process with threads (the hub's), and elsewhere there is no fork. The
    hub hangs up with ``shutdown`` and workers stop with their supervisor by
    ``prctl``, because forked workers hold copies of the hub's sockets.
    ``uvicorn._subprocess.spawn`` is where uvicorn keeps the context its workers
    start from; a uvicorn without it keeps spawning.
    """
    if not sys.platform.startswith("linux"):
        return
    import multiprocessing

    from uvicorn import _subprocess

    import keelbase.asgi  # noqa: F401  imported once here, inherited by every worker

    if hasattr(_subprocess, "spawn"):
        _subprocess.spawn = multiprocessing.get_context("fork")  # type: ignore[assignment]


@contextlib.contextmanager
def _local_hub(config: Config) -> Iterator[Config]:
    """Without Redis, the hub the workers share events, counters, presence and figures through.

    It runs on a thread of this, the supervisor process, on a Unix socket in a
    private folder (mode 0700, a short path: socket paths are limited to 108
    bytes); the workers find it in their config. With Redis, Redis does that.
    """
    if config.redis_url:
        yield config.model_copy(update={"hub_supervisor": os.getpid()})
        return
    from keelbase.adapters.hub import HubThread

    base = tempfile.gettempdir()
    folder = tempfile.mkdtemp(prefix="kb-hub-", dir=base if len(base) < 64 else "/tmp")
    hub = HubThread(os.path.join(folder, "hub.sock"))
    try:
        hub.start()
        yield config.model_copy(
            update={"hub_socket": hub.server.path, "hub_supervisor": os.getpid()}
        )
    finally:
        hub.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _metrics_folder() -> Iterator[None]:
    """A folder where the workers of this serve leave their Prometheus figures, for any to add up.

    prometheus-client reads ``PROMETHEUS_MULTIPROC_DIR`` when it is imported, so
    it is set here, before any worker starts; the folder goes when the serve
    ends. A folder the user set is used as it is and kept.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    folder = tempfile.mkdtemp(prefix="keelbase-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)


async def _apply_migrations(app: App, keep_running: bool = False) -> int:
    """Start ``app`` with its pending migrations applied; 1 after printing the error."""
    from keelbase.services.migrations.files import MigrationError
    from keelbase.store.base import StoreError

    try:
        await app.start()
    except (MigrationError, StoreError) as error:
        print(f"Error: {error}", file=sys.stderr, flush=True)
        return 1
    for name in app.applied_at_start:
        print(f"├─ migration: applied {name}", flush=True)
    if not keep_running:
        await app.stop()
    return 0


def _print_started(config: Config, base_url: str = "") -> None:
    base_url = base_url or f"{'https' if config.https else 'http'}://{config.http}"
    print(f"Server started at {base_url}", flush=True)
    print(f"├─ REST API:  {base_url}/api/", flush=True)
    if config.redirect_http:
        print(f"├─ redirect:  http://{config.redirect_http} → HTTPS", flush=True)


STOP_GRACE = 5.0  # seconds in-flight statements get to finish once shutdown begins


def _make_server(
    config: uvicorn.Config, app: App, companion: uvicorn.Server | None = None
) -> uvicorn.Server:
    """uvicorn's server, which also ends realtime streams as soon as shutdown begins.

    Open SSE streams would otherwise hold the graceful shutdown for its whole
    timeout. Statements still running ``STOP_GRACE`` seconds later are stopped
    (an endless query would otherwise hold the writer, and the shutdown, forever).
    """
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            app.realtime.close_all()
            app.store.stop_statements(STOP_GRACE)
            if companion is not None:
                companion.should_exit = True
            super().handle_exit(sig, frame)

    return Server(config)


def _config_of(args: argparse.Namespace, **values: object) -> Config:
    """The start-up configuration from the global flags and ``values``."""
    return Config.model_validate(
        {
            "data_dir": Path(args.dir),
            "encryption_env": args.encryption_env,
            "query_timeout": args.query_timeout,
            "sync_window": args.sync_window,
            **values,
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if env_default("DURABILITY", "full") not in ("full", "normal"):
        print("Error: KEELBASE_DURABILITY must be full or normal.", file=sys.stderr)
        return 2
    if args.encryption_env:
        # ``Config`` takes it from here in every command, the transfer ones included.
        os.environ["KEELBASE_ENCRYPTION_ENV"] = args.encryption_env
    try:
        Config(encryption_env=args.encryption_env).encryption_key()
    except ValueError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    if args.command == "serve":
        return _serve(args)
    collector.resume()  # the command's own work runs with the collector
    if args.command == "superuser":
        return asyncio.run(_superuser(args))
    if args.command == "migrations":
        return run_migrations(args)
    if args.command == "backup":
        return run_backups(args)
    if args.command == "payments":
        return run_payments(args)
    if args.command in ("export", "import", "migrate"):
        return run_transfer(args)
    parser.print_help(sys.stderr)
    return 2
