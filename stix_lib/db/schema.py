"""Table definitions of the current pipeline-database schema (see ``migrations`` for history)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()


class TMState(StrEnum):
    """Life cycle of a telemetry file in the ledger."""

    INCOMING = "incoming"  # pulled from the SOC exchange, waiting for staging
    STAGED = "staged"  # released to processing
    PROCESSED = "processed"  # processed to the end level without file-level error
    FAILED = "failed"  # processing raised; retried on the next run
    #: LB/L0 made, L1 held back: the loaded SPICE kernels do not cover the file's on-board time
    #: (or there are none); processed again when new kernels arrive (``error`` says what is missing)
    WAITING_KERNELS = "waiting for kernels"
    QUARANTINED = "quarantined"  # unusable input, moved to the quarantine folder


schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("description", String(200), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

tm_files = Table(
    "tm_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("path", Text, nullable=False),
    Column("source", Text, nullable=False, default=""),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("staged_at", DateTime(timezone=True)),
    Column("processed_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("obt_start", BigInteger),
    Column("obt_end", BigInteger),
    Column("error", Text),
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("path", Text, nullable=False, unique=True),
    Column("level", String(10), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

product_lineage = Table(
    "product_lineage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product_id", Integer, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("tm_file_id", Integer, ForeignKey("tm_files.id", ondelete="CASCADE"), nullable=False),
    Column("run_id", String(250), nullable=False, default=""),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("product_id", "tm_file_id", "run_id", name="uq_lineage"),
)

spice_zips = Table(
    "spice_zips",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("unzipped_at", DateTime(timezone=True), nullable=False),
    # JSON list of the kernel-tree paths (relative to the SPICE dir) the zip delivered
    Column("files", Text, nullable=False),
)
"""SPICE kernel zips from the SOC that were unzipped into the kernel tree (successes only)."""

conf_versions = Table(
    "conf_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(100), nullable=False),
    Column("commit", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
"""STIX-CONF versions checked out by the sync, one row per change (newest last)."""

published = Table(
    "published",
    metadata,
    # the fields of STIXCore's published-history table (operations spec §6.3)
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),  # complete product file name
    Column("path", Text, nullable=False),  # archive folder of the file
    Column("version", Integer, nullable=False),
    Column("p_date", Float, nullable=False),  # epoch seconds: first added to the history
    Column("m_date", Float, nullable=False),  # epoch seconds: product time the waiting period used
    Column("esaname", String(255), nullable=False, index=True),  # first 5 name tokens, no request id
    Column("modified_esaname", String(255)),  # set for a delivered supplement
    Column("result", Integer),  # stix_lib.publish.publish_history.PublishResult; NULL while unfinished
    # delivery state: a delivery is recorded only after it completed, failures are retried
    Column("status", String(16), nullable=False, index=True),  # pending | failed | done
    Column("attempts", Integer, nullable=False, default=0),  # delivery attempts so far
    Column("error", Text),  # last failure (status failed) or why the file was parked
    Column("delivered_name", String(255)),  # name at the SOAR target (supplement name, if any)
    Column("delivered_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("run_id", String(250), nullable=False, default=""),
)
"""SOAR publishing history: one row per complete product name offered to SOAR."""

Index("ix_published_p_date", published.c.p_date)

monitor_samples = Table(
    "monitor_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sampled_at", DateTime(timezone=True), nullable=False, index=True),
    Column("staged", Integer, nullable=False),  # ledger: TM files staged, not yet processed
    Column("active_tasks", Integer, nullable=False),  # queued + running task instances (REST API)
    Column("backlog", Integer, nullable=False),  # staged + active_tasks: the value the window rule watches
    Column("failed", Integer, nullable=False, default=0),  # ledger: TM files in state failed (information)
    Column("health", Text, nullable=False, default="{}"),  # JSON {component: status} from /monitor/health
    Column("run_id", String(250), nullable=False, default=""),
)
"""Backlog samples of the pipeline monitor (one per monitor run; old rows pruned)."""

monitor_incidents = Table(
    "monitor_incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False, index=True),  # e.g. backlog_stuck, unhealthy:scheduler
    Column("kind", String(40), nullable=False),  # backlog_stuck | run_overdue | component_unhealthy | airflow_api
    Column("summary", Text, nullable=False),
    Column("details", Text, nullable=False, default="{}"),  # JSON, latest observation
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("alert_sent_at", DateTime(timezone=True)),  # NULL: alert mail still to send
    Column("recovery_sent_at", DateTime(timezone=True)),  # NULL after resolution: recovery mail still to send
    Column("notes", Text),  # why a mail was not sent (e.g. resolved before its alert went out)
)
"""Incidents of the pipeline monitor: one row per incident, at most one open row per key."""

Index(
    "uq_monitor_incidents_open_key",
    monitor_incidents.c.key,
    unique=True,
    sqlite_where=monitor_incidents.c.resolved_at.is_(None),
    postgresql_where=monitor_incidents.c.resolved_at.is_(None),
)

processing_reports = Table(
    "processing_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tm_file", String(255), nullable=False, index=True),  # ledger name of the TM file
    Column("run_id", String(250), nullable=False, default=""),
    Column("status", String(20), nullable=False),  # ok | partial | failed | unusable
    Column("produced", Integer, nullable=False, default=0),  # files written or changed, all levels
    Column("errors", Integer, nullable=False, default=0),  # packet + file errors
    Column("report", Text, nullable=False),  # JSON: produced files per level, warnings, errors
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
"""Per-TM-file processing reports (what each run produced from each file, and what failed)."""

processed_fits_products = Table(
    "processed_fits_products",
    metadata,
    # the fields of STIXCore's ProcessingHistoryStorage table (operations spec §8.3)
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),  # product name, e.g. lightcurve, ephemeris
    Column("level", String(20), nullable=False),  # output level, e.g. LL03, ANC
    Column("type", String(20), nullable=False),  # product type, e.g. ql, asp
    Column("version", Integer, nullable=False),  # output processing version
    Column("fits_in_path", Text, nullable=False),  # input path, file name in its complete form (no U)
    Column("fits_out_path", Text, nullable=False),  # output written
    Column("p_date", DateTime(timezone=True), nullable=False),  # when it was processed (UTC)
)
"""Processing history of the daily products: an output is up to date when made after its input's DATE."""

Index(
    "processed_fits_products_idx",
    processed_fits_products.c.name,
    processed_fits_products.c.level,
    processed_fits_products.c.type,
    processed_fits_products.c.version,
    processed_fits_products.c.fits_in_path,
)

incomplete_requests = Table(
    "incomplete_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False, unique=True),  # "<LB file name>#<first sequence count>"
    Column("lb_file", String(255), nullable=False),
    Column("tm_file", String(255), nullable=False, default=""),  # a TM file that delivered packets of it
    Column("message", Text, nullable=False),  # latest "incomplete sequence of N packets (counts a..b): reason"
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("alerted_at", DateTime(timezone=True)),  # NULL: no data-problem mail sent yet
)
"""Science requests (packet sequences) seen incomplete and not completed since; alerted once when overdue."""
