"""``stix-pipeline publish``: deliver products to ESA SOAR (STIXCore ``publish.py``, cron C6).

Every option of STIXCore's ``publish.py`` (same short and long names), defaults from the settings
(``soar_target_dir``, ``soar_host``, ``soar_conflicts_dir``, ``rid_lut_file``, ``publish_*``,
``fits_archive_dir``, ``log_dir``, ``pipeline_db_url``), plus:

``--dry-run``
    list what would be delivered (names, supplements, ignores) without touching anything:
    no rename, header edit, copy, database write, RID LUT update or mail;
``--update_rid_lut`` / ``--update_rid_lut_only``
    refresh the RID LUT from ``rid_lut_update_url`` first (a failed update is a warning);
``--ssh_user``, ``--ssh_port``, ``--ssh_key``, ``--known_hosts``
    the SFTP account for a remote ``--target_host`` (host key pinned by ``known_hosts``);
``--report_eml FILE``, ``--smtp HOST[:PORT]``, ``--mail_to``, ``--mail_from``
    write the report mail to a file and/or send it through an SMTP relay;
``--json``
    print the report as JSON;
``--import_stixcore_history FILE``, ``--release NAME``
    operator tools: import STIXCore's ``published.sqlite``; forget the IGNORED/BLACKLISTED
    history row of NAME so the next run offers the file again.

Every candidate passes the publish gate first (:mod:`stix_lib.publish.gate`: kernels used, request
complete, stixpy loads it — ``publish_stixpy_check`` —, no conflicting twin in the archive); a
failing product is printed ``PARKED`` with its reasons, stays in the history as ``parked`` and is
checked again by the next run.

Exit status: 0 all went well, 1 some file failed (it is retried by the next run), 2 the run could
not start (bad option, missing folder, unreadable blacklist, target unreachable, another run
active).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from contextlib import AbstractContextManager, nullcontext
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from stix_lib.publish.request import PublishRequest
from stix_lib.publish.selection import DEFAULT_LEVELS, DEFAULT_PRODUCTS
from stix_lib.settings import Settings

if TYPE_CHECKING:  # the publishing code (SQLAlchemy, astropy) is imported when a run needs it
    from sqlalchemy import Engine

    from stix_lib.publish.report import PublishReport
    from stix_lib.publish.runner import RemoteTransport
    from stix_lib.publish.transport import Transport
    from stix_lib.ridlut.refresh import RidLutRefresh

NAME = "publish"
HELP = "publish products to ESA SOAR: select, finish U files, deliver atomically, record, report"

log = logging.getLogger(__name__)

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``publish`` (defaults come from the settings at run time)."""
    add = parser.add_argument
    add("-t", "--target_dir", help="delivery folder, local or on --target_host (default: soar_target_dir)")
    add("-T", "--target_host", help="SOAR host; empty/localhost = local folder (default: soar_host)")
    add("-s", "--same_esa_name_dir", help="local folder for >2nd-supplement conflicts (default: soar_conflicts_dir)")
    add("-r", "--rid_lut_file", help="RID LUT CSV (default: rid_lut_file)")
    add("--rid_lut_update_url", help="RID API base URL (default: rid_lut_update_url)")
    add("--update_rid_lut", action="store_true", help="refresh the RID LUT from the API before publishing")
    add("--update_rid_lut_only", action="store_true", help="refresh the RID LUT and exit")
    add("--sort_files", action="store_true", help="process the selected files sorted by full path")
    add("--blacklist_files", metavar="FILE", help="file names never to publish, one per line")
    add("--supplement_report", metavar="FILE", help="TSV supplement report (default: <data_root>/publish/…)")
    add("-d", "--db_file", help="history database: SQLAlchemy URL or SQLite file (default: pipeline_db_url)")
    add("-w", "--waiting_period", help="minimum product age, e.g. 0s, 12h, 7d (default: publish_waiting_period)")
    add("--ll_waiting_period", help="minimum age of LL* products (default: publish_ll_waiting_period)")
    add("--future_guard", help="ignore products starting later than now + this (default: publish_future_guard)")
    add("-n", "--batch_size", type=int, help="max files per run, <0 = unlimited (default: publish_batch_size)")
    add("-v", "--include_versions", default="*", help="'*' or a comma list like V01,2 (default: *)")
    add("-l", "--include_levels", default=DEFAULT_LEVELS, help=f"comma list or '*' (default: {DEFAULT_LEVELS})")
    add("-p", "--include_products", default=DEFAULT_PRODUCTS, help=f"comma list or '*' (default: {DEFAULT_PRODUCTS})")
    add("-f", "--fits_dir", help="archive root to scan (default: fits_archive_dir)")
    add("-o", "--log_dir", help="folder of the run log pub_YYYYMMDD.log (default: log_dir)")
    add("--log_level", default=argparse.SUPPRESS, choices=["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"])
    add("-S", "--spice_file", help="meta kernel for ephemeris refreshes (default: latest flown MK of --spice_dir)")
    add("--spice_dir", help="SPICE kernel tree (default: spice_dir)")
    add("--dry-run", "--dry_run", dest="dry_run", action="store_true", help="list what would happen, change nothing")
    add("--run_id", default="", help="recorded on history rows (e.g. the Airflow run id)")
    add("--ssh_user", help="SFTP login (default: current user)")
    add("--ssh_port", type=int, default=22, help="SFTP port (default 22)")
    add("--ssh_key", help="private key for SFTP")
    add("--known_hosts", help="known_hosts file with the pinned host key (default ~/.ssh/known_hosts)")
    add("--report_eml", metavar="FILE", help="write the report mail to FILE")
    add("--smtp", metavar="HOST[:PORT]", help="send the report mail through this SMTP relay")
    add("--mail_to", action="append", help="report recipient (repeatable; default: alert_to)")
    add("--mail_from", help="report sender (default: alert_from)")
    add("--json", action="store_true", help="print the report as JSON")
    add("--import_stixcore_history", metavar="FILE", help="import STIXCore's published.sqlite and exit")
    add("--release", metavar="NAME", action="append", help="forget an IGNORED/BLACKLISTED history row and exit")


def _request(args: argparse.Namespace) -> PublishRequest:
    """The publishing request of the options (same names; the CLI keeps STIXCore's single, non-fatal
    ``--update_rid_lut``)."""
    names = {field.name for field in fields(PublishRequest)}
    given = {name: value for name, value in vars(args).items() if name in names}
    return PublishRequest(**given, db_url=args.db_file, rid_lut_attempts=1, rid_lut_required=False)


def _sftp(args: argparse.Namespace, settings: Settings) -> RemoteTransport:
    """The SFTP transport of ``--ssh_*``/``--known_hosts`` for a remote target host."""
    from stix_lib.publish.transport import SftpTransport
    from stix_lib.transfer.rsync import SSHEndpoint

    def remote(host: str, target_dir: Path) -> AbstractContextManager[Transport]:
        endpoint = SSHEndpoint(
            host=host,
            user=args.ssh_user or getpass.getuser(),
            key_file=Path(args.ssh_key).expanduser(),
            known_hosts_file=Path(args.known_hosts or "~/.ssh/known_hosts").expanduser(),
            port=args.ssh_port,
            connect_timeout=int(settings.ssh_connect_timeout.total_seconds()),
        )
        io_timeout = settings.transfer_io_timeout.total_seconds()
        return nullcontext(SftpTransport(endpoint, str(target_dir), io_timeout=io_timeout))

    return remote


def _send(message, spec: str) -> None:
    import smtplib  # only a run that mails imports it (every CLI start builds this parser)

    host, _, port = spec.partition(":")
    with smtplib.SMTP(host or "localhost", int(port or 25), timeout=60) as smtp:
        smtp.send_message(message)


def _print(report: PublishReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    verb = "would be " if report.dry_run else ""
    for outcome in report.outcomes:
        print(f"{outcome.outcome.value.upper():12s} {verb}{outcome.line()}")
    for warning in report.warnings:
        print(f"WARNING      {warning}")
    counts = report.counts
    print(("DRY RUN: " if report.dry_run else "") + " ".join(f"{k} {v}" for k, v in counts.items()))


def _maintenance(args: argparse.Namespace, engine: Engine) -> int:
    from stix_lib.publish.publish_history import PublishHistory, import_stixcore_history

    history = PublishHistory(engine)
    if args.import_stixcore_history:
        count = import_stixcore_history(engine, Path(args.import_stixcore_history))
        print(f"imported {count} row(s) from {args.import_stixcore_history}")
    for name in args.release or []:
        history.release(name)
        print(f"released {name}: the next run offers it again")
    return 0


def _print_refresh(result: RidLutRefresh) -> None:
    print(f"RID LUT {result.lut_file}: {result.calls} API call(s), {result.added} new row(s), {result.rows} rows")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``publish``."""
    from stix_lib.db import connect
    from stix_lib.publish.report import build_report_message
    from stix_lib.publish.runlock import PublishLockedError
    from stix_lib.publish.runner import refresh_request_lut, run_publish
    from stix_lib.publish.transport import TransportError

    if "log_level" in args and args.log_level:
        logging.getLogger().setLevel(args.log_level)
    request = _request(args)
    if args.update_rid_lut_only:
        result = refresh_request_lut(request, settings)
        _print_refresh(result)
        if error := result.error:
            print(f"stix-pipeline publish: {error}", file=sys.stderr)
        return 1 if error else 0
    try:
        if args.import_stixcore_history or args.release:
            return _maintenance(args, connect(request.history_url(settings)))
        plan = request.resolve(settings)
        if plan.target_host is not None and not args.ssh_key:
            raise ValueError(f"--ssh_key is required to deliver to {plan.target_host}")
    except (OSError, ValueError, KeyError) as exc:
        print(f"stix-pipeline publish: {exc}", file=sys.stderr)
        return 2

    handler = _log_file(Path(args.log_dir or settings.log_dir)) if not args.dry_run else None
    try:
        try:
            report = run_publish(plan, settings, remote_transport=_sftp(args, settings), on_refresh=_print_refresh)
        except (PublishLockedError, TransportError, OSError, ValueError, KeyError) as exc:
            print(f"stix-pipeline publish: {exc}", file=sys.stderr)
            return 2
        _print(report, args.json)
        if args.report_eml or (args.smtp and not args.dry_run):
            recipients = tuple(args.mail_to or settings.alert_to)
            if not recipients:
                print("stix-pipeline publish: no report recipients (--mail_to / alert_to)", file=sys.stderr)
            else:
                message = build_report_message(report, args.mail_from or settings.alert_from, recipients)
                if args.report_eml:
                    Path(args.report_eml).write_bytes(bytes(message))
                if args.smtp and not args.dry_run:
                    _send(message, args.smtp)
        return 1 if report.counts["E"] else 0
    finally:
        if handler is not None:
            logging.getLogger().removeHandler(handler)
            handler.close()


def _log_file(log_dir: Path) -> logging.Handler:
    """Append this run's log to ``<log_dir>/pub_YYYYMMDD.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_dir / f"pub_{datetime.now(UTC):%Y%m%d}.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    return handler
