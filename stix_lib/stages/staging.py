"""Staging: release telemetry from ``incoming/`` to ``processing/`` (runbook cron C2, "stage & delay").

A ledger row in state ``incoming`` is released when either

* **age**: it was received (ledger ``received_at``, the time ingest pulled it — not the file's
  mtime, which is the SOC's and may be much older) at least ``staging_delay`` ago
  (runbook: 2 days; ``0`` releases at once); or
* **SPICE**: the flown kernels of ``spice_dir`` cover its whole on-board time range
  (:meth:`stix_lib.spice.FlownCoverage.covers` on the ledger's ``obt_start``/``obt_end``; a row
  without a range gets it read from the file; a file without synchronised times counts as
  covered, as in ``covers``). Without any flown meta kernel only the age rule applies.

Releasing renames the file into ``processing/`` (``os.replace``, or copy + rename + unlink across
filesystems, :func:`stix_lib.atomic.atomic_move`) and then marks the row ``staged``
with its new path. It is idempotent: a file found already in ``processing/`` with the ledger's
checksum (a run that died between the rename and the ledger update) is just marked. A different
file of the same name already in ``processing/`` puts the incoming one into quarantine; a file
missing from both places is marked quarantined with that reason. Other files go on regardless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from spiceypy.utils.exceptions import SpiceyError
from sqlalchemy import Engine, select

from stix_lib.atomic import atomic_move
from stix_lib.db.ledger import file_sha256
from stix_lib.db.schema import TMState, tm_files
from stix_lib.quarantine import quarantine_file
from stix_lib.settings import Settings
from stix_lib.spice import FlownCoverage, SpiceKernelError, SpiceKernels, flown_coverage
from stix_lib.time.scet import SCETime
from stix_lib.time.utc import as_utc
from stix_lib.tm.errors import TelemetryFileError
from stix_lib.tm.obt_range import read_obt_range

log = logging.getLogger(__name__)

AGE = "age"
SPICE = "spice"


@dataclass(frozen=True)
class Release:
    """A file that may be released now, and why."""

    name: str
    path: Path
    sha256: str
    reason: str  # AGE or SPICE
    detail: str


@dataclass
class StagingResult:
    """What one staging run did.

    Attributes
    ----------
    released
        Names released to ``processing/``, with the reason (``age`` or ``spice``).
    held
        Incoming files not releasable yet.
    quarantined
        Files that could not be released, with the reason.
    errors
        Files whose release failed for an environmental reason (e.g. permissions); they stay
        ``incoming`` and are tried again next run.
    coverage
        Flown meta kernel and end of its coverage used for the decision (empty if none).
    """

    released: dict[str, str] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    coverage: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (for XCom)."""
        return {
            "released": dict(self.released),
            "held": list(self.held),
            "quarantined": dict(self.quarantined),
            "errors": dict(self.errors),
            "coverage": dict(self.coverage),
        }


def load_coverage(spice_dir: Path, work_dir: Path | None = None) -> FlownCoverage | None:
    """Coverage of the latest flown kernels in ``spice_dir`` (None if there are none or they fail to load)."""
    if not (Path(spice_dir) / "mk").is_dir():
        log.info("no SPICE meta kernels in %s: releasing by age only", spice_dir)
        return None
    try:
        return flown_coverage(SpiceKernels(Path(spice_dir), work_dir))
    except (SpiceKernelError, SpiceyError, ValueError, OSError) as exc:  # never blocks the age rule
        log.warning("SPICE kernels of %s not usable (%s): releasing by age only", spice_dir, exc)
        return None


def describe_coverage(coverage: FlownCoverage | None) -> dict[str, str]:
    """Flown MK and end of coverage (UTC and OBT) for logs and asset extras."""
    if coverage is None:
        return {}
    return {
        "flown_mk": coverage.meta_kernel,
        "utc_end": str(np.datetime_as_string(coverage.utc_end, unit="s")),
        "obt_end": str(coverage.obt_end.to_string()),
    }


def _obt_times(engine: Engine, row) -> SCETime | None:
    """The file's [start, end] OBT from the ledger, else read from the file (and stored)."""
    if row.obt_start is not None and row.obt_end is not None:
        return SCETime.from_btime(np.array([row.obt_start, row.obt_end], dtype=np.int64))
    try:
        obt = read_obt_range(Path(row.path))
    except (TelemetryFileError, OSError) as exc:
        log.warning("%s: cannot read its OBT range (%s): releasing by age only", row.name, exc)
        return None
    if obt.start is not None:
        with engine.begin() as conn:
            conn.execute(
                tm_files.update().where(tm_files.c.name == row.name).values(obt_start=obt.start, obt_end=obt.end)
            )
    return obt.times


def plan_release(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime | None = None,
    coverage: FlownCoverage | None | bool = True,
) -> tuple[list[Release], list[str], FlownCoverage | None]:
    """Decide which ``incoming`` files may be released now.

    Parameters
    ----------
    settings
        ``staging_delay`` and ``spice_dir`` are used.
    engine
        Pipeline database.
    now
        Current time (default: now, UTC).
    coverage
        ``True`` (default): load the flown coverage of ``spice_dir`` when some file is too young
        for the age rule; ``False``/``None``: age rule only; a :class:`FlownCoverage`: use it.

    Returns
    -------
    releases, held, coverage
        Releasable files (oldest first), names of the others, and the coverage used.
    """
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(
            select(tm_files)
            .where(tm_files.c.state == TMState.INCOMING.value)
            .order_by(tm_files.c.received_at, tm_files.c.name)
        ).all()
    releases: list[Release] = []
    held: list[str] = []
    loaded: FlownCoverage | None = coverage if isinstance(coverage, FlownCoverage) else None
    want_spice = coverage is True
    for row in rows:
        age = now - as_utc(row.received_at)
        if age >= settings.staging_delay:
            detail = f"received {_fmt(age)} ago (staging delay {_fmt(settings.staging_delay)})"
            releases.append(Release(row.name, Path(row.path), row.sha256, AGE, detail))
            continue
        if want_spice:
            loaded = load_coverage(Path(settings.spice_dir))
            want_spice = False
        if loaded is not None:
            times = _obt_times(engine, row)
            if times is not None and loaded.covers(times):
                span = "no synchronised time" if not len(times) else "OBT " + " - ".join(times.to_string())
                detail = f"{span} covered by {loaded.meta_kernel} (to OBT {loaded.obt_end.to_string()})"
                releases.append(Release(row.name, Path(row.path), row.sha256, SPICE, detail))
                continue
        held.append(row.name)
    return releases, held, loaded


def _fmt(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h{seconds % 3600 // 60:02d}m"


def _mark(engine: Engine, name: str, state: TMState, path: Path, error: str | None = None) -> bool:
    now = datetime.now(UTC)
    values: dict[str, object] = {"state": state.value, "path": str(path), "updated_at": now, "error": error}
    if state is TMState.STAGED:
        values["staged_at"] = now
    with engine.begin() as conn:
        done = conn.execute(
            tm_files.update()
            .where(tm_files.c.name == name, tm_files.c.state == TMState.INCOMING.value)
            .values(**values)
        )
    return done.rowcount == 1


def release_file(settings: Settings, engine: Engine, item: Release) -> tuple[bool, str]:
    """Release one file (see the module docstring); return (released, problem or "")."""
    source = item.path
    target = Path(settings.soc_processing_dir) / item.name
    if source.is_file():
        if target.exists():
            if file_sha256(target) != item.sha256:
                reason = (
                    f"{item.name}: a different file of the same name is already in {target.parent}; "
                    "not overwriting it"
                )
                moved = quarantine_file(source, Path(settings.quarantine_dir), reason, stage="staging")
                _mark(engine, item.name, TMState.QUARANTINED, moved, reason)
                return False, reason
            source.unlink()
        else:
            atomic_move(source, target)
    elif not (target.is_file() and file_sha256(target) == item.sha256):
        reason = f"{item.name}: missing from {source.parent} (and not in {target.parent}); nothing to release"
        _mark(engine, item.name, TMState.QUARANTINED, source, reason)
        return False, reason
    if not _mark(engine, item.name, TMState.STAGED, target):
        log.warning("%s: ledger row was no longer 'incoming' (released concurrently?)", item.name)
    return True, ""


def stage(
    settings: Settings,
    engine: Engine,
    *,
    now: datetime | None = None,
    coverage: FlownCoverage | None | bool = True,
) -> StagingResult:
    """Release every file that may be released now (see the module docstring).

    Parameters
    ----------
    settings, engine, now, coverage
        As for :func:`plan_release`.

    Returns
    -------
    StagingResult
    """
    releases, held, used = plan_release(settings, engine, now=now, coverage=coverage)
    result = StagingResult(held=held, coverage=describe_coverage(used))
    for item in releases:
        try:
            ok, problem = release_file(settings, engine, item)
        except OSError as exc:  # e.g. permissions: leave it incoming, report, go on
            result.errors[item.name] = f"{item.name}: release failed: {exc}"
            log.error("%s", result.errors[item.name])
            continue
        if ok:
            result.released[item.name] = item.reason
            log.info("released %s (%s: %s)", item.name, item.reason, item.detail)
        else:
            result.quarantined[item.name] = problem
            log.error("quarantined %s", problem)
    return result


def next_age_release(settings: Settings, engine: Engine) -> datetime | None:
    """When the oldest ``incoming`` file becomes releasable by age (``received_at + staging_delay``).

    Files arrive with increasing ``received_at``, so this moment only moves when files are
    released. None when no file is ``incoming``. The moment may lie in the past (due now).
    """
    with engine.connect() as conn:
        first = conn.execute(
            select(tm_files.c.received_at)
            .where(tm_files.c.state == TMState.INCOMING.value)
            .order_by(tm_files.c.received_at)
            .limit(1)
        ).scalar()
    return None if first is None else as_utc(first) + settings.staging_delay
