"""``stix-pipeline reprocess``: start a reprocessing backfill through the Airflow REST API.

``--run-per month`` (default) backfills ``stix_reprocess_monthly``: one run per calendar month, its
days reprocessed one after the other in one task, so that the Airflow task start-up is paid per
month and not per day (a year: 12 runs instead of 365). ``--run-per day`` backfills
``stix_reprocess``: one run per day, for a few days or to rerun one bad day.

This is the operator's reprocessing route on every deployment, the embedded SQLite one included:
the request goes to the api-server (``POST /api/v2/backfills``) and the scheduler runs the days.
``airflow backfill create`` writes to the metadata database from a separate process and, on
SQLite, races the running scheduler ("database is locked"); the REST route is retried while the
database is busy and is idempotent (a retry finds the backfill its lost first try created).

Exit codes: 0 backfill created (or listed with ``--dry-run``); 2 bad arguments; 3 the REST API
could not be used (URL ``airflow_api_url``, user ``airflow_api_user``, password
``$STIX_AIRFLOW_API_PASSWORD``); 4 another backfill of the DAG is still running.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from stix_lib.settings import Settings

NAME = "reprocess"
HELP = (
    "reprocess UTC days into a new processing version: creates a backfill of stix_reprocess_monthly (one run "
    "per month, default) or stix_reprocess (one run per day) through the Airflow REST API, unpausing the DAG"
)

#: The DAG a reprocessing backfill runs, by ``--run-per``.
DAG_IDS = {"month": "stix_reprocess_monthly", "day": "stix_reprocess"}
EXIT_API_ERROR = 3
EXIT_CONFLICT = 4
BEHAVIORS = ("none", "failed", "completed")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``reprocess``."""
    parser.add_argument("--from", dest="first", required=True, type=date.fromisoformat, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", required=True, type=date.fromisoformat, help="last day, YYYY-MM-DD")
    parser.add_argument(
        "--version", type=int, help="processing version of the new products (default: processing_version + 1)"
    )
    parser.add_argument("--end-level", help="last level to make (LB, L0, L1, L2; default: the DAG's L2)")
    parser.add_argument(
        "--max-active-runs", type=int, default=2, help="days processed at the same time (default 2)"
    )
    parser.add_argument(
        "--reprocess-behavior",
        choices=BEHAVIORS,
        default="none",
        help="days that already have a run: none = skip them, failed = re-run failed ones, completed = re-run all",
    )
    parser.add_argument(
        "--run-per",
        choices=tuple(DAG_IDS),
        default="month",
        help="month = one run per calendar month, days one after the other in one task (default; the task "
        "start-up is paid once per month); day = one run per day (stix_reprocess: a few days, or one bad day)",
    )
    parser.add_argument("--dry-run", action="store_true", help="only list the runs the backfill would make")
    parser.add_argument("--api-url", help="Airflow API base URL (default: the airflow_api_url setting)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per REST API request (default 30)")


def backfill_body(args: argparse.Namespace, settings: Settings) -> dict[str, object]:
    """The ``POST /api/v2/backfills`` body for the parsed arguments."""
    version = args.version if args.version is not None else settings.processing_version + 1
    conf: dict[str, object] = {"version": version}
    if args.end_level:
        conf["end_level"] = args.end_level
    first = args.first
    if args.run_per == "month":  # runs start their month: begin at the first month's 1st, cut by the conf
        conf.update(first_day=args.first.isoformat(), last_day=args.last.isoformat())
        first = args.first.replace(day=1)
    return {
        "dag_id": DAG_IDS[args.run_per],
        "from_date": f"{first.isoformat()}T00:00:00Z",
        "to_date": f"{args.last.isoformat()}T00:00:00Z",
        "dag_run_conf": conf,
        "reprocess_behavior": args.reprocess_behavior,
        "max_active_runs": args.max_active_runs,
    }


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Create (or dry-run) the backfill; see the module docstring for exit codes."""
    from stix_lib.monitor.api import AirflowApi, AirflowApiConflict, AirflowApiError

    if args.last < args.first:
        print(f"stix-pipeline reprocess: --to {args.last} is before --from {args.first}", file=sys.stderr)
        return 2
    if args.max_active_runs < 1:
        print("stix-pipeline reprocess: --max-active-runs must be at least 1", file=sys.stderr)
        return 2
    if args.api_url:
        settings = settings.replace(airflow_api_url=args.api_url)
    body = backfill_body(args, settings)
    dag_id = str(body["dag_id"])
    version = body["dag_run_conf"]["version"]  # type: ignore[index]
    days = (args.last - args.first).days + 1
    monthly = args.run_per == "month"
    try:
        with AirflowApi.from_settings(settings, timeout=args.timeout) as api:
            if args.dry_run:
                dates = api.backfill_dates(body)
                what = "monthly run(s)" if monthly else "day(s)"
                print(f"{dag_id} would make {len(dates)} {what} with version {version}:")
                for logical_date in dates:
                    print(f"  {_run_span(logical_date[:10], args) if monthly else logical_date[:10]}")
                return 0
            api.set_paused(dag_id, False)
            backfill = api.create_backfill(body)
    except AirflowApiConflict as exc:
        print(f"stix-pipeline reprocess: {exc}", file=sys.stderr)
        return EXIT_CONFLICT
    except AirflowApiError as exc:
        print(f"stix-pipeline reprocess: {exc}", file=sys.stderr)
        return EXIT_API_ERROR
    out = Path(settings.data_root) / "reprocess" / f"V{int(str(version)):02d}"
    months = (args.last.year - args.first.year) * 12 + args.last.month - args.first.month + 1
    runs = f", {months} monthly run(s)" if monthly else ""
    rerun = (
        "failed months: rerun with --reprocess-behavior failed, one day alone with --from DAY --to DAY --run-per day"
        if monthly
        else "failed days: rerun with --reprocess-behavior failed"
    )
    print(
        f"backfill #{backfill['id']} of {dag_id}: {args.first} .. {args.last} ({days} day(s){runs}), "
        f"version {version}, {args.max_active_runs} at a time -> {out}\n"
        f"follow it: {settings.airflow_api_url.rstrip('/')}/dags/{dag_id}  ({rerun})"
    )
    return 0


def _run_span(month_start: str, args: argparse.Namespace) -> str:
    """``2024-03-01: 2024-03-05 .. 2024-03-31`` — a monthly run's days inside the asked range."""
    from stix_lib.stages.reprocess import block_days

    days = block_days(None, month_start[:7], args.first, args.last)
    return f"{month_start}: {days[0]} .. {days[-1]}" if days else f"{month_start}: no day"
