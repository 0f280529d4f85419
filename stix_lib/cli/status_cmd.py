"""``stix-pipeline status``: backlog, current/last TM file, errors, runs, kernels, config version.

Exit codes: 0 everything shown; 3 the Airflow REST API could not be used (URL ``airflow_api_url``,
user ``airflow_api_user``, password ``$STIX_AIRFLOW_API_PASSWORD``) — the pipeline-database part
is still printed, followed by the reason; 1 the pipeline database could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys

from stix_lib.settings import Settings

NAME = "status"
HELP = (
    "pipeline status from the pipeline DB and the Airflow REST API (open files, current/last TM file, last "
    "error, runs, SPICE, STIX-CONF); exit 3 when the API is unreachable"
)

#: Exit code when the REST API could not be used (the DB part is still shown).
EXIT_API_UNREACHABLE = 3
#: Exit code when the pipeline database could not be read.
EXIT_DB_ERROR = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``status``."""
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("-n", "--next", action="store_true", help="print only 'open files: N' (old status -n)")
    parser.add_argument("--db-url", help="pipeline DB SQLAlchemy URL (default: the pipeline_db_url setting)")
    parser.add_argument("--api-url", help="Airflow API base URL (default: the airflow_api_url setting)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per REST API request (default 10)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Collect and print the status; see the module docstring for exit codes."""
    from sqlalchemy.exc import SQLAlchemyError

    from stix_lib.db import connect
    from stix_lib.monitor.api import AirflowApi
    from stix_lib.monitor.status import collect_status, db_status, format_status

    if args.api_url:
        settings = settings.replace(airflow_api_url=args.api_url)
    try:
        engine = connect(args.db_url or settings.pipeline_db_url)
        if args.next:
            print(f"open files: {db_status(settings, engine)['open_files']}")
            return 0
        with AirflowApi.from_settings(settings, timeout=args.timeout) as api:
            status = collect_status(settings, engine, api)
    except SQLAlchemyError as exc:
        print(f"stix-pipeline status: pipeline database unreadable: {exc}", file=sys.stderr)
        return EXIT_DB_ERROR
    print(json.dumps(status, indent=2) if args.json else format_status(status))
    if not status["airflow"]["reachable"]:
        if args.json:  # the text form already ends with the reason
            print(f"stix-pipeline status: Airflow API unreachable: {status['airflow']['error']}", file=sys.stderr)
        return EXIT_API_UNREACHABLE
    return 0
