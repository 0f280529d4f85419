"""``stix-pipeline db``: create or upgrade the pipeline database and show its state."""

from __future__ import annotations

import argparse
import json

from stix_lib.settings import Settings

NAME = "db"
HELP = "create/upgrade the pipeline database (schema migrations) and show ledger counts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``db``."""
    parser.add_argument("--url", help="SQLAlchemy URL (default: the pipeline_db_url setting)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate and report."""
    from stix_lib.db import connect, current_version, ledger
    from stix_lib.db.migrations import MIGRATIONS

    engine = connect(args.url or settings.pipeline_db_url)
    report = {
        "url": engine.url.render_as_string(hide_password=True),
        "schema_version": current_version(engine),
        "latest_version": MIGRATIONS[-1].version,
        "tm_files": ledger.count_by_state(engine),
        "products": ledger.products_per_level(engine),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0
