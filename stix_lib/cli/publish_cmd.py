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
import smtplib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from stix_lib.publish.selection import DEFAULT_LEVELS, DEFAULT_PRODUCTS
from stix_lib.settings import Settings, format_duration, parse_duration

if TYPE_CHECKING:  # the publishing code (SQLAlchemy, astropy) is imported when a run needs it
    from sqlalchemy import Engine

    from stix_lib.publish.publisher import PublishOptions
    from stix_lib.publish.report import PublishReport
    from stix_lib.publish.transport import Transport

NAME = "publish"
HELP = "publish products to ESA SOAR: select, finish U files, deliver atomically, record, report"

log = logging.getLogger(__name__)

#: Hosts that mean "deliver into a local folder".
LOCAL_HOSTS = {"", "localhost"}


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


def _db_url(value: str | None, settings: Settings) -> str:
    if not value:
        return settings.pipeline_db_url
    return value if "://" in value else f"sqlite:///{Path(value).expanduser().absolute()}"


def _duration(value: str | None, default: timedelta) -> timedelta:
    return parse_duration(value) if value else default


def _options(args: argparse.Namespace, settings: Settings) -> PublishOptions:
    from stix_lib.publish.gate import gate_checks
    from stix_lib.publish.publisher import PublishOptions
    from stix_lib.publish.selection import SelectionFilters, read_blacklist

    fits_dir = Path(args.fits_dir or settings.fits_archive_dir)
    if not fits_dir.is_dir():
        raise FileNotFoundError(f"FITS folder {fits_dir} does not exist")
    return PublishOptions(
        fits_dir=fits_dir,
        conflicts_dir=Path(args.same_esa_name_dir or settings.soar_conflicts_dir),
        waiting_period=_duration(args.waiting_period, settings.publish_waiting_period),
        ll_waiting_period=_duration(args.ll_waiting_period, settings.publish_ll_waiting_period),
        future_guard=_duration(args.future_guard, settings.publish_future_guard),
        batch_size=settings.publish_batch_size if args.batch_size is None else args.batch_size,
        filters=SelectionFilters.from_strings(args.include_levels, args.include_products, args.include_versions),
        sort_files=args.sort_files,
        blacklist=read_blacklist(Path(args.blacklist_files)) if args.blacklist_files else frozenset(),
        supplement_report=Path(args.supplement_report or settings.data_root / "publish" / "supplement_report.csv"),
        dry_run=args.dry_run,
        run_id=args.run_id,
        checks=gate_checks(
            stixpy=settings.publish_stixpy_check,
            conservation_idb=Path(settings.idb_dir) if settings.publish_conservation_check else None,
        ),
    )


def _read_only_engine(url: str) -> Engine | None:
    """The database for a dry run: not created, not migrated (None when it has no history yet)."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from stix_lib.db import connect

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (not parsed.database or not Path(parsed.database).exists()):
        return None
    engine = connect(url, migrate_schema=False)
    return engine if inspect(engine).has_table("published") else None


def _transport(args: argparse.Namespace, settings: Settings, target_dir: Path) -> Transport:
    from stix_lib.publish.transport import LocalTransport, SftpTransport
    from stix_lib.transfer.rsync import SSHEndpoint

    host = settings.soar_host if args.target_host is None else args.target_host
    if host.strip().lower() in LOCAL_HOSTS:
        return LocalTransport(target_dir)
    if not args.ssh_key:
        raise ValueError(f"--ssh_key is required to deliver to {host}")
    endpoint = SSHEndpoint(
        host=host,
        user=args.ssh_user or getpass.getuser(),
        key_file=Path(args.ssh_key).expanduser(),
        known_hosts_file=Path(args.known_hosts or "~/.ssh/known_hosts").expanduser(),
        port=args.ssh_port,
        connect_timeout=int(settings.ssh_connect_timeout.total_seconds()),
    )
    return SftpTransport(endpoint, str(target_dir), io_timeout=settings.transfer_io_timeout.total_seconds())


def _send(message, spec: str) -> None:
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


def _update_lut(args: argparse.Namespace, settings: Settings, lut_file: Path) -> str | None:
    from stix_lib.ridlut.update import update_rid_lut

    result = update_rid_lut(lut_file, args.rid_lut_update_url or settings.rid_lut_update_url)
    calls, added = len(result.urls), result.added_rows
    print(f"RID LUT {lut_file}: {calls} API call(s), {added} new row(s), {result.total_rows} rows")
    return result.error


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``publish``."""
    from stix_lib.db import connect
    from stix_lib.publish.ephemeris import flown_kernels
    from stix_lib.publish.publisher import publish
    from stix_lib.publish.report import build_report_message
    from stix_lib.publish.runlock import PublishLockedError
    from stix_lib.publish.transport import TransportError
    from stix_lib.ridlut.table import RidLut, RidLutError

    if "log_level" in args and args.log_level:
        logging.getLogger().setLevel(args.log_level)
    lut_file = Path(args.rid_lut_file or settings.rid_lut_file)
    if args.update_rid_lut_only:
        error = _update_lut(args, settings, lut_file)
        if error:
            print(f"stix-pipeline publish: {error}", file=sys.stderr)
        return 1 if error else 0
    try:
        url = _db_url(args.db_file, settings)
        if args.import_stixcore_history or args.release:
            return _maintenance(args, connect(url))
        options = _options(args, settings)
        engine = _read_only_engine(url) if args.dry_run else connect(url)
        target_dir = Path(args.target_dir or settings.soar_target_dir)
        transport = _transport(args, settings, target_dir)
    except (OSError, ValueError, KeyError) as exc:
        print(f"stix-pipeline publish: {exc}", file=sys.stderr)
        return 2

    handler = _log_file(Path(args.log_dir or settings.log_dir)) if not args.dry_run else None
    try:
        log.info(
            "publishing %s -> %s (waiting %s, LL %s, dry run %s)",
            options.fits_dir, transport.describe(), format_duration(options.waiting_period),
            format_duration(options.ll_waiting_period), options.dry_run,
        )  # fmt: skip
        warnings: list[str] = []
        if args.update_rid_lut:
            if args.dry_run:
                warnings.append("dry run: RID LUT not updated")
            elif error := _update_lut(args, settings, lut_file):
                warnings.append(error)
        rid_lut = None
        try:
            rid_lut = RidLut.read(lut_file)
        except (OSError, RidLutError) as exc:
            warnings.append(f"no RID LUT ({exc}): BSD request comments are left out")
        spice_dir = Path(args.spice_dir or settings.spice_dir)
        meta_kernel = Path(args.spice_file) if args.spice_file else None

        def kernels():
            return flown_kernels(spice_dir, meta_kernel=meta_kernel).load()

        try:
            report = publish(options, engine, transport, rid_lut=rid_lut, kernels=kernels, warnings=warnings)
        except (PublishLockedError, TransportError) as exc:
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
