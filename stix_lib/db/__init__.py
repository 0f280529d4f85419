"""The pipeline database: TM-file ledger, product lineage, publish history (SQLite or PostgreSQL)."""

from stix_lib.db.engine import connect
from stix_lib.db.migrations import current_version, migrate

__all__ = ["connect", "current_version", "migrate"]
