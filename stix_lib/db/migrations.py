"""Versioned schema migrations of the pipeline database.

Each migration has a version number, a description and a function applied inside one
transaction; the ``schema_version`` table records what has been applied. Later features append
migrations to :data:`MIGRATIONS` (never edit an applied one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, inspect, select

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


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "TM-file ledger, products and lineage", _v1_ledger_and_lineage),
)


def current_version(engine: Engine) -> int:
    """Return the schema version of the database (0 for an empty database)."""
    if not inspect(engine).has_table("schema_version"):
        return 0
    with engine.connect() as conn:
        versions = conn.execute(select(schema.schema_version.c.version)).scalars().all()
    return max(versions, default=0)


def migrate(engine: Engine, target: int | None = None) -> list[int]:
    """Apply pending migrations up to ``target`` (default: the latest).

    Returns
    -------
    list of int
        The versions applied by this call (empty if the schema was current).
    """
    applied: list[int] = []
    with engine.begin() as conn:
        schema.schema_version.create(conn, checkfirst=True)
    done = current_version(engine)
    for migration in MIGRATIONS:
        if migration.version <= done or (target is not None and migration.version > target):
            continue
        with engine.begin() as conn:
            # Re-check inside the transaction: another process may have migrated meanwhile.
            present = conn.execute(
                select(schema.schema_version.c.version).where(
                    schema.schema_version.c.version == migration.version
                )
            ).first()
            if present:
                continue
            migration.apply(conn)
            conn.execute(
                schema.schema_version.insert().values(
                    version=migration.version,
                    description=migration.description,
                    applied_at=datetime.now(UTC),
                )
            )
        applied.append(migration.version)
    return applied
