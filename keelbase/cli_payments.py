"""``keelbase payments sync``: mirror Stripe's products and prices into ``_products``/``_prices``.

For an account that had a catalogue before its webhook was set up, or after
webhooks were missed. It uses the keys saved in the settings
(``payments.stripe``) and the same service as the webhooks; every failure is
one ``Error: ...`` line and exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from keelbase.config import Config, env_default


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    payments = commands.add_parser("payments", help="Stripe payments: sync the catalogue")
    actions = payments.add_subparsers(dest="action", required=True)
    sync = actions.add_parser("sync", help="copy every product and price from Stripe")
    # After the command too, as with ``serve``; the global ``--dir`` is the default.
    sync.add_argument(
        "--dir",
        default=argparse.SUPPRESS,
        help="the data folder (default ./kb_data, env KEELBASE_DIR)",
    )
    sync.add_argument(
        "--db",
        default=env_default("DB_URL"),
        help="postgresql://... URL of the database (default: SQLite in the data folder)",
    )


def run(args: argparse.Namespace) -> int:
    from keelbase.errors import ApiError

    try:
        return asyncio.run(_run(args))
    except ApiError as error:
        details = error.data.get("stripe", {}).get("message", "") if error.data else ""
        print(f"Error: {error.message} {details}".rstrip(), file=sys.stderr)
    except (ValueError, OSError) as error:
        print(f"Error: {error}", file=sys.stderr)
    except Exception as error:  # a command line tool answers with one line, never a traceback
        print(f"Error: unexpected failure ({type(error).__name__}): {error}", file=sys.stderr)
    return 1


async def _run(args: argparse.Namespace) -> int:
    from keelbase.app import App

    config = Config(data_dir=Path(args.dir), db_url=args.db or "")
    if not config.uses_postgres and not config.db_path.is_file():
        raise ValueError(f"no Keelbase app in {config.data_dir} (it has no data.db)")
    async with App(config) as app:
        counts = await app.payments.sync()
    print(f"Synced {counts['products']} products and {counts['prices']} prices from Stripe.")
    return 0
