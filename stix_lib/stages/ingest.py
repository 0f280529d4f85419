"""Telemetry ingest: pull new TM files from the SOC exchange into ``incoming/`` and ledger them.

One run (runbook cron C1, every 15 minutes):

1. list ``*PktTmRaw*.xml`` at the source (``tm_source``, local or over SSH);
2. pull the files the ledger does not know yet into a private pull folder next to ``incoming/``
   (``.<incoming name>-pull``; rsync writes through a temp dir and renames);
3. list the source again; a file whose size or mtime changed between the two listings (or whose
   copy differs in size) was being written during the transfer: its copy is dropped and it is
   pulled again next run (*deferred*);
4. read each copy completely (:func:`stix_lib.tm.obt_range.read_obt_range`): a valid file gets its
   on-board time range and is renamed into ``incoming/`` and ledgered ``incoming``; a file that is
   not valid telemetry is moved to the quarantine folder with a ``.reason`` file and ledgered
   ``quarantined`` with the reason — unless its mtime is younger than ``tm_settle_time``, then it
   may still be being written and is deferred instead;
5. the rest of the batch goes on whatever happens to one file.

So ``incoming/`` only ever receives complete files that parsed as telemetry to their end; the
ledger, not the folder, decides what is new (a staged or quarantined file is never pulled again).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from stix_lib.atomic import atomic_move
from stix_lib.db.ledger import file_sha256
from stix_lib.db.schema import TMState, tm_files
from stix_lib.quarantine import quarantine_file
from stix_lib.settings import Settings
from stix_lib.tm.errors import TelemetryFileError
from stix_lib.tm.obt_range import ObtRange, read_obt_range
from stix_lib.transfer import rsync

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    """What one ingest run did.

    Attributes
    ----------
    listed
        Matching files at the source.
    new_files
        Files now in ``incoming/`` and ledgered ``incoming``.
    skipped_known
        Listed files already in the ledger (any state).
    quarantined
        Rejected files by name, with the reason.
    deferred
        Files left for the next run by name, with the reason (still being written).
    """

    listed: int = 0
    new_files: list[Path] = field(default_factory=list)
    skipped_known: int = 0
    quarantined: dict[str, str] = field(default_factory=dict)
    deferred: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (for XCom and reports)."""
        return {
            "listed": self.listed,
            "new_files": [str(p) for p in self.new_files],
            "skipped_known": self.skipped_known,
            "quarantined": dict(self.quarantined),
            "deferred": dict(self.deferred),
        }


def pull_dir(settings: Settings) -> Path:
    """Private folder the copies land in before they are checked (same filesystem as ``incoming/``)."""
    incoming = Path(settings.soc_incoming_dir)
    return incoming.parent / f".{incoming.name}-pull"


def _known_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(tm_files.c.name)).scalars())


def record_tm_file(
    engine: Engine,
    path: Path,
    state: TMState,
    *,
    source: str = "",
    obt: ObtRange | None = None,
    error: str | None = None,
) -> bool:
    """Insert a ledger row for a file in one transaction (state, OBT range and error together).

    Returns
    -------
    bool
        False when a row of that name exists already (left unchanged).
    """
    path = Path(path)
    size = path.stat().st_size
    digest = file_sha256(path)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        if conn.execute(select(tm_files.c.id).where(tm_files.c.name == path.name)).first():
            return False
        conn.execute(
            tm_files.insert().values(
                name=path.name,
                size=size,
                sha256=digest,
                state=state.value,
                path=str(path),
                source=source,
                received_at=now,
                updated_at=now,
                obt_start=obt.start if obt else None,
                obt_end=obt.end if obt else None,
                error=error,
            )
        )
    return True


def _changed(before: rsync.RemoteFile, after: rsync.RemoteFile | None, local: Path) -> str | None:
    size = local.stat().st_size
    if after is None:  # removed at the source after the transfer: the copy stands on its own
        return None
    if (after.size, after.mtime) != (before.size, before.mtime):
        return (
            f"changed at the source during the transfer (size {before.size} -> {after.size}, "
            f"mtime {before.mtime} -> {after.mtime}); pulled again next run"
        )
    if size != after.size:
        return f"copy has {size} bytes but the source {after.size}; pulled again next run"
    return None


def ingest(
    settings: Settings, engine: Engine, ssh: rsync.SSHEndpoint | None = None, *, now: float | None = None
) -> IngestResult:
    """Pull telemetry files not yet in the ledger, check them, and ledger them (see module doc).

    Parameters
    ----------
    settings
        ``tm_source``, ``tm_pattern``, ``soc_incoming_dir``, ``quarantine_dir``,
        ``tm_settle_time`` and the transfer timeouts are used.
    engine
        Pipeline database.
    ssh
        SSH endpoint of the SOC exchange host; None when ``tm_source`` is local.
    now
        Current time (epoch seconds) for the settle-time rule; default ``time.time()``.

    Returns
    -------
    IngestResult

    Raises
    ------
    ValueError
        ``tm_source`` is remote but no endpoint was given.
    stix_lib.transfer.rsync.TransferError
        Listing or transfer failed (incl. :class:`~stix_lib.transfer.rsync.HostKeyError`).
    """
    if ssh is None and not settings.tm_source_local:
        raise ValueError("tm_source is remote (tm_source_local is false) but no SSH endpoint was given")
    now = time.time() if now is None else now
    timeout = int(settings.transfer_timeout.total_seconds())
    io_timeout = int(settings.transfer_io_timeout.total_seconds())
    result = IngestResult()
    listing = rsync.list_source(settings.tm_source, settings.tm_pattern, ssh=ssh, timeout=io_timeout)
    result.listed = len(listing)
    known = _known_names(engine)
    wanted = {f.name: f for f in listing if f.name not in known}
    result.skipped_known = len(listing) - len(wanted)
    if not wanted:
        return result

    landing = pull_dir(settings)
    landing.mkdir(parents=True, exist_ok=True)
    for leftover in landing.iterdir():  # copies of an interrupted run that are no longer wanted
        if leftover.is_file() and leftover.name not in wanted:
            leftover.unlink()
    pulled = rsync.pull(
        settings.tm_source, sorted(wanted), landing, ssh=ssh, timeout=timeout, io_timeout=io_timeout
    )
    after = {f.name: f for f in rsync.list_source(settings.tm_source, settings.tm_pattern, ssh=ssh, timeout=io_timeout)}
    source_label = ssh.spec(settings.tm_source) if ssh else settings.tm_source
    incoming = Path(settings.soc_incoming_dir)
    incoming.mkdir(parents=True, exist_ok=True)
    settle = settings.tm_settle_time.total_seconds()

    for copy in pulled:
        name = copy.name
        changed = _changed(wanted[name], after.get(name), copy)
        if changed:
            result.deferred[name] = changed
            copy.unlink(missing_ok=True)
            log.warning("deferred %s: %s", name, changed)
            continue
        try:
            obt = read_obt_range(copy)
        except TelemetryFileError as exc:
            age = now - copy.stat().st_mtime
            if age < settle:
                reason = (
                    f"not complete telemetry yet ({exc.reason}); modified {age:.0f} s ago, less than the settle "
                    f"time of {settle:.0f} s: pulled again next run"
                )
                result.deferred[name] = reason
                copy.unlink(missing_ok=True)
                log.warning("deferred %s: %s", name, reason)
                continue
            reason = f"{name}: not valid telemetry: {exc.reason}"
            target = quarantine_file(copy, Path(settings.quarantine_dir), reason, stage="ingest")
            record_tm_file(engine, target, TMState.QUARANTINED, source=source_label, error=reason)
            result.quarantined[name] = reason
            log.error("quarantined %s", reason)
            continue
        target = atomic_move(copy, incoming / name)
        if record_tm_file(engine, target, TMState.INCOMING, source=source_label, obt=obt):
            result.new_files.append(target)
            log.info(
                "ingested %s (%d bytes, %d packets, OBT %s)",
                name,
                target.stat().st_size,
                obt.packets,
                "-".join(str(t) for t in obt.times.to_string()) if obt.start is not None else "none synchronised",
            )
    return result
