"""Telemetry ingest: pull new TM files from the SOC exchange into ``incoming/`` and ledger them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from stix_lib.db import ledger
from stix_lib.db.schema import tm_files
from stix_lib.settings import Settings
from stix_lib.transfer import rsync

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    """What one ingest run did."""

    listed: int = 0
    new_files: list[Path] = field(default_factory=list)
    skipped_known: int = 0

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (for XCom and reports)."""
        return {
            "listed": self.listed,
            "new_files": [str(p) for p in self.new_files],
            "skipped_known": self.skipped_known,
        }


def _known_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(tm_files.c.name)).scalars())


def ingest(settings: Settings, engine: Engine, ssh: rsync.SSHEndpoint | None = None) -> IngestResult:
    """Pull telemetry files not yet in the ledger and record them as ``incoming``.

    The ledger, not the destination folder, decides what is new: a file already staged or
    processed (and so moved away from ``incoming/``) is never pulled again.

    Parameters
    ----------
    settings
        ``tm_source``, ``tm_pattern`` and ``soc_incoming_dir`` are used.
    engine
        Pipeline database.
    ssh
        SSH endpoint of the SOC exchange host; None when ``tm_source`` is local.
    """
    if ssh is None and not settings.tm_source_local:
        raise ValueError("tm_source is remote (tm_source_local is false) but no SSH endpoint was given")
    result = IngestResult()
    listing = rsync.list_source(settings.tm_source, settings.tm_pattern, ssh=ssh)
    result.listed = len(listing)
    known = _known_names(engine)
    wanted = [f.name for f in listing if f.name not in known]
    result.skipped_known = len(listing) - len(wanted)
    pulled = rsync.pull(settings.tm_source, wanted, Path(settings.soc_incoming_dir), ssh=ssh)
    source_label = ssh.spec(settings.tm_source) if ssh else settings.tm_source
    for path in pulled:
        if ledger.record_incoming(engine, path, source=source_label):
            result.new_files.append(path)
            log.info("ingested %s (%d bytes)", path.name, path.stat().st_size)
    return result
