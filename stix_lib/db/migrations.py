"""Versioned schema migrations of the pipeline database.

Each migration has a version number, a description and a function applied inside one
transaction; the ``schema_version`` table records what has been applied. Later features append
migrations to :data:`MIGRATIONS` (never edit an applied one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError

from stix_lib.db import schema


@dataclass(frozen=True)
class Migration:
    """One schema step."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1_ledger_and_lineage(conn: Connection) -> None:
    for table in (schema.tm_files, schema.products, schema.product_lineage):
        table.create(conn, checkfirst=True)


def _v2_spice_zips_and_conf_versions(conn: Connection) -> None:
    for table in (schema.spice_zips, schema.conf_versions):
        table.create(conn, checkfirst=True)


def _v10_soar_publish_history(conn: Connection) -> None:
    schema.published.create(conn, checkfirst=True)


def _v20_monitor_samples_and_incidents(conn: Connection) -> None:
    for table in (schema.monitor_samples, schema.monitor_incidents):
        table.create(conn, checkfirst=True)


def _v30_processing_reports(conn: Connection) -> None:
    schema.processing_reports.create(conn, checkfirst=True)


def _v40_processed_fits_products(conn: Connection) -> None:
    schema.processed_fits_products.create(conn, checkfirst=True)


def _v50_incomplete_requests(conn: Connection) -> None:
    schema.incomplete_requests.create(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "TM-file ledger, products and lineage", _v1_ledger_and_lineage),
    Migration(2, "SPICE zip ledger and STIX-CONF versions", _v2_spice_zips_and_conf_versions),
    Migration(10, "SOAR publishing history", _v10_soar_publish_history),
    Migration(20, "pipeline monitor: backlog samples and incidents", _v20_monitor_samples_and_incidents),
    Migration(30, "per-TM-file processing reports", _v30_processing_reports),
    Migration(40, "daily products: processing history (processed_fits_products)", _v40_processed_fits_products),
    Migration(50, "incomplete science requests (data-problem alerts)", _v50_incomplete_requests),
)


def current_version(engine: Engine) -> int:
    """Return the schema version of the database (0 for an empty database)."""
    if not inspect(engine).has_table("schema_version"):
        return 0
    with engine.connect() as conn:
        versions = conn.execute(select(schema.schema_version.c.version)).scalars().all()
    return max(versions, default=0)


#: Key of the PostgreSQL advisory lock that serializes concurrent migrators.
_LOCK_KEY = 7_241_001


def _serialize(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def _is_applied(conn: Connection, version: int) -> bool:
    query = select(schema.schema_version.c.version).where(schema.schema_version.c.version == version)
    return conn.execute(query).first() is not None


def migrate(engine: Engine, target: int | None = None) -> list[int]:
    """Apply pending migrations up to ``target`` (default: the latest).

    Safe when several processes start at once: PostgreSQL migrators queue on an advisory lock;
    on SQLite the loser of a race rolls back and finds the version recorded by the winner.

    Returns
    -------
    list of int
        The versions applied by this call (empty if the schema was current).
    """
    applied: list[int] = []
    try:
        with engine.begin() as conn:
            _serialize(conn)
            schema.schema_version.create(conn, checkfirst=True)
    except DBAPIError:
        if not inspect(engine).has_table("schema_version"):
            raise
    for migration in MIGRATIONS:
        if target is not None and migration.version > target:
            break
        try:
            with engine.begin() as conn:
                _serialize(conn)
                if _is_applied(conn, migration.version):
                    continue
                migration.apply(conn)
                conn.execute(
                    schema.schema_version.insert().values(
                        version=migration.version,
                        description=migration.description,
                        applied_at=datetime.now(UTC),
                    )
                )
        except DBAPIError:
            with engine.connect() as conn:
                if not _is_applied(conn, migration.version):
                    raise
            continue
        applied.append(migration.version)
    return applied
