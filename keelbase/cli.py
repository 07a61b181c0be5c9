"""The ``keelbase`` command, shaped like PocketBase's."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from keelbase.cli_transfer import add_commands as add_transfer_commands
from keelbase.cli_transfer import run as run_transfer
from keelbase.config import Config, env_default

if TYPE_CHECKING:
    import uvicorn

    from keelbase.app import App


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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="start the web server")
    serve.add_argument(
        "--http",
        default=env_default("HTTP", "127.0.0.1:8090"),
        help="HOST:PORT to listen on (default 127.0.0.1:8090, env KEELBASE_HTTP)",
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
        default=int(env_default("WORKERS", "1") or 1),
        help="worker processes (more than one needs --redis)",
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
        help="log SQL statements and requests",
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
    return parser


async def _superuser(args: argparse.Namespace) -> int:
    from keelbase.app import App
    from keelbase.services.auth.superusers import SuperuserError
    from keelbase.services.settings import SettingsKeyError

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
    from keelbase.services.settings import SettingsKeyError
    from keelbase.user_code import HooksError

    config = _config_of(
        args,
        http=args.http,
        dev=args.dev,
        origins=[o.strip() for o in args.origins.split(",") if o.strip()],
        public_dir=Path(args.public_dir) if args.public_dir else None,
        index_fallback=args.index_fallback,
        hooks_dir=Path(args.hooks_dir) if args.hooks_dir else None,
        redis_url=args.redis or "",
        db_url=args.db or "",
        redis_channel=env_default("REDIS_CHANNEL", "keelbase:events") or "keelbase:events",
        hint_superuser=True,
    )
    logging.basicConfig(
        level=logging.DEBUG if config.dev else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.workers > 1 and not config.redis_url:
        print(
            "Error: --workers needs --redis (or KEELBASE_REDIS_URL). Each worker is its own "
            "process, and realtime subscribers connected to one worker would miss the changes "
            "made through another; Redis carries every event to every worker.",
            file=sys.stderr,
        )
        return 2
    try:
        asyncio.run(_check_settings(config))
    except SettingsKeyError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print(f"Server started at http://{config.http}", flush=True)
    print(f"├─ REST API:  http://{config.http}/api/", flush=True)
    log_level = "info" if config.dev else "warning"
    if args.workers > 1:
        os.environ["KEELBASE_CONFIG_JSON"] = config.model_dump_json()
        uvicorn.run(
            "keelbase.asgi:from_environment",
            factory=True,
            workers=args.workers,
            host=config.host,
            port=config.port,
            log_level=log_level,
            access_log=config.dev,
            timeout_graceful_shutdown=10,
        )
        return 0
    app = App(config)
    try:
        loaded = app.load_hooks()
    except HooksError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    for path in loaded:
        print(f"├─ hooks:     {path}", flush=True)
    server_config = uvicorn.Config(
        app.asgi,
        host=config.host,
        port=config.port,
        log_level=log_level,
        access_log=config.dev,
        timeout_graceful_shutdown=10,
        proxy_headers=False,  # X-Forwarded-* is trusted only when configured (settings.trustedProxy)
        server_header=False,
    )
    _make_server(server_config, app).run()
    return 0


async def _check_settings(config: Config) -> None:
    """Read the stored settings once before serving, so that a wrong or missing
    ``--encryptionEnv`` key is a clear error, not a failed start inside the server."""
    from keelbase.app import App

    app = App(config)
    await app.store.open()
    try:
        await app.collections.bootstrap()  # a new data folder gets its tables first
        await app.settings.load()
    finally:
        await app.store.close()


def _make_server(config: uvicorn.Config, app: App) -> uvicorn.Server:
    """uvicorn's server, which also ends realtime streams as soon as shutdown begins.

    Open SSE streams would otherwise hold the graceful shutdown for its whole timeout.
    """
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            app.realtime.close_all()
            super().handle_exit(sig, frame)

    return Server(config)


def _config_of(args: argparse.Namespace, **values: object) -> Config:
    """The start-up configuration from the global flags and ``values``."""
    return Config.model_validate(
        {
            "data_dir": Path(args.dir),
            "encryption_env": args.encryption_env,
            "query_timeout": args.query_timeout,
            **values,
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
    if args.command == "superuser":
        return asyncio.run(_superuser(args))
    if args.command in ("export", "import", "migrate"):
        return run_transfer(args)
    parser.print_help(sys.stderr)
    return 2
