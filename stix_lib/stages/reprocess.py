"""Reprocess all telemetry of one UTC day into a separate output folder and processing version.

The runbook's manual reprocessing (``stix-pipeline-cli`` after bumping the processing version,
into a fresh output folder because writers merge into existing files) cut into days, so that a
range of days is an Airflow backfill of the ``stix_reprocess`` DAG (one run per day).

**The day's telemetry.** Every ledger TM file in state ``staged`` or ``processed`` (the files
released to ``soc_processing_dir``) whose on-board time range ``[obt_start, obt_end]`` overlaps
the UTC day ``[00:00, 24:00)``. The day's bounds are converted to on-board time (SCET)

* with **SPICE** when a meta kernel is available (``spice_file``, else the latest meta kernels of
  ``spice_dir``): the real clock correlation, exact;
* else with the **nominal clock** of :func:`stix_lib.time.nominal_clock.utc_to_scet` (SCET 0 =
  2000-01-01T00:00:00 UTC, one SI second per tick, leap seconds counted, no drift) — the clock of
  the simulator and of the kernel builder's default SCLK, a few seconds to minutes off the real
  spacecraft clock. Without kernels no L1 can be made anyway, so this only matters for LB/L0 runs.

A file spanning midnight belongs to both days and is processed by both days' runs; the product
writers merge (newest wins, identical rows once), so processing it twice gives the same files.
Files without a synchronised time (no OBT range in the ledger) cannot be placed on a day and are
left out (counted in the plan). Files that vanished from disk are reported as ``missing``.

**Output.** :func:`resolve_options` fills the defaults: ``version`` = ``processing_version + 1``
(the next version: reprocessing runs ahead of the live pipeline, which keeps writing the current
version until the setting is raised), ``fits_dir`` = ``<data_root>/reprocess/V<version>``. Writing
the live version into the live archive is refused (it would merge into the published products).
The ledger is not changed: reprocessing is a side run, not the pipeline's record.

**Blocks of days.** A long campaign runs as one run per calendar month (``stix_reprocess_monthly``):
:func:`block_days` gives the run's days (its month, clipped to the campaign's first and last day),
:func:`plan_block` plans them with one SPICE load and :func:`reprocess_block` processes them day by
day with one pipeline (one start-up, one IDB and SPICE load for the whole block). Each day keeps
its own plan and summary, so a bad day is named and does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from spiceypy.utils.exceptions import SpiceyError
from sqlalchemy import Engine, and_, select

from stix_lib.db.schema import TMState, tm_files
from stix_lib.pipeline.build import build_pipeline
from stix_lib.pipeline.options import PipelineOptions
from stix_lib.pipeline.orchestrator import Level, Pipeline, PipelineAborted, make_kernels
from stix_lib.pipeline.report import LEVEL_NAMES, RunReport
from stix_lib.settings import Settings
from stix_lib.spice.errors import SpiceKernelError
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.time.nominal_clock import utc_to_scet
from stix_lib.time.scet import SCETime, scet_to_btime

log = logging.getLogger(__name__)

#: Ledger states whose files make up "the telemetry of a day".
DAY_STATES: tuple[TMState, ...] = (TMState.STAGED, TMState.PROCESSED, TMState.WAITING_KERNELS)
#: End levels a reprocessing run may stop at.
END_LEVELS: tuple[str, ...] = ("LB", "L0", "L1", "L2")
#: Folder below ``data_root`` holding one output archive per version.
REPROCESS_FOLDER = "reprocess"
NOMINAL_CLOCK = "nominal"


class ReprocessError(ValueError):
    """Options that cannot be used (unsafe output folder, bad level or version, no day)."""


def run_day(logical_date: datetime | None, override: str | date | None = None) -> date:
    """The UTC day a run reprocesses: ``override`` if given, else the logical date's UTC date.

    With cron schedules Airflow 3 uses ``CronTriggerTimetable``: the run "for" a day has
    ``data_interval_start == data_interval_end == logical_date`` (zero length), so the day is taken
    from the logical date itself (a backfill from D1 to D3 gives the runs of D1, D2 and D3).

    Raises
    ------
    ReprocessError
        If neither is given, or the override is not ``YYYY-MM-DD``.
    """
    if override:
        if isinstance(override, date):
            return override
        try:
            return date.fromisoformat(str(override).strip())
        except ValueError as exc:
            raise ReprocessError(f"day {override!r} is not a date (YYYY-MM-DD)") from exc
    if logical_date is None:
        raise ReprocessError("the run has no logical date: give the day explicitly (YYYY-MM-DD)")
    moment = logical_date if logical_date.tzinfo is not None else logical_date.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


@dataclass(frozen=True)
class DayWindow:
    """A UTC day as a half-open on-board time interval.

    Attributes
    ----------
    day
        The UTC day.
    obt_start, obt_end
        Binary SCET (``coarse << 16 | fine``, as the ledger) of 00:00 UTC of ``day`` (inclusive)
        and of the next midnight (exclusive).
    clock
        ``"spice <meta kernels>"`` or ``"nominal"``.
    """

    day: date
    obt_start: int
    obt_end: int
    clock: str

    def describe(self) -> str:
        """``2024-03-03 = OBT 0762739205:00000 .. 0762825605:00000 (clock)``."""
        texts = SCETime.from_btime(np.array([self.obt_start, self.obt_end], dtype=np.int64)).to_string()
        first, last = texts[0], texts[1]
        return f"{self.day.isoformat()} = OBT {first} .. {last} ({self.clock})"


def _midnights(day: date) -> np.ndarray:
    start = datetime.combine(day, time(0))
    return np.array([start, start + timedelta(days=1)], dtype="datetime64[ns]")


def day_window(day: date, kernels: SpiceKernels | None = None) -> DayWindow:
    """Convert the UTC day to on-board time: SPICE when ``kernels`` load, else the nominal clock.

    Parameters
    ----------
    day
        UTC calendar day.
    kernels
        SPICE kernels (``None``: nominal clock). Kernels that fail to load or convert fall back
        to the nominal clock with a warning.

    Returns
    -------
    DayWindow
    """
    midnights = _midnights(day)
    if kernels is not None:
        try:
            scet = kernels.datetime64_to_scet(midnights)
            bounds = np.asarray(scet.btime, dtype=np.int64)
            return DayWindow(day, int(bounds[0]), int(bounds[1]), "spice " + " + ".join(kernels.meta_kernel_names))
        except (SpiceKernelError, SpiceyError, OSError, ValueError) as exc:
            log.warning("SPICE cannot convert %s to on-board time (%s): using the nominal clock", day, exc)
    coarse, fine = utc_to_scet(midnights)
    bounds = scet_to_btime(coarse, fine)
    return DayWindow(day, int(bounds[0]), int(bounds[1]), NOMINAL_CLOCK)


@dataclass
class DaySelection:
    """The ledger's telemetry of one day.

    Attributes
    ----------
    files
        Paths to process (ledger order: by OBT start, then name).
    missing
        Ledger names whose file is neither at the ledger path nor in ``soc_processing_dir``.
    without_obt
        Ledger files in a day state that have no OBT range (cannot be placed on a day).
    """

    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    without_obt: int = 0


def select_day_files(
    engine: Engine,
    window: DayWindow,
    *,
    processing_dir: Path | None = None,
    states: Sequence[TMState] = DAY_STATES,
) -> DaySelection:
    """Ledger TM files in ``states`` whose OBT range overlaps ``window``.

    A file overlaps when it starts before the window's end and ends at or after its start.
    A file is looked for at its ledger path, then under ``processing_dir`` by name.
    """
    wanted = [s.value for s in states]
    overlap = and_(tm_files.c.obt_start < window.obt_end, tm_files.c.obt_end >= window.obt_start)
    with engine.connect() as conn:
        rows = conn.execute(
            select(tm_files.c.name, tm_files.c.path)
            .where(tm_files.c.state.in_(wanted), overlap)
            .order_by(tm_files.c.obt_start, tm_files.c.name)
        ).all()
        without = conn.execute(
            select(tm_files.c.name).where(tm_files.c.state.in_(wanted), tm_files.c.obt_start.is_(None))
        ).all()
    selection = DaySelection(without_obt=len(without))
    for name, path in rows:
        candidates = [Path(path)] + ([Path(processing_dir) / name] if processing_dir else [])
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            selection.missing.append(name)
        else:
            selection.files.append(found)
    return selection


@dataclass(frozen=True)
class ReprocessOptions:
    """Resolved options of a reprocessing run (see :func:`resolve_options`)."""

    fits_dir: str
    version: int
    end_level: str = "L2"
    idb_dir: str | None = None
    spice_dir: str | None = None
    spice_file: str | None = None
    soop_dir: str | None = None
    stop_on_error: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (XCom)."""
        return asdict(self)

    def pipeline_options(self) -> PipelineOptions:
        """The options of the processing chain: this version into this folder (SOOP default ``from_soc_dir``)."""
        return PipelineOptions.from_overrides(
            fits_dir=self.fits_dir,
            idb_dir=self.idb_dir,
            spice_dir=self.spice_dir,
            spice_file=self.spice_file,
            soop_dir=self.soop_dir,
            end_level=self.end_level,
            stop_on_error=self.stop_on_error,
            processing_version=self.version,
        )


def resolve_options(
    settings: Settings,
    *,
    fits_dir: str | Path | None = None,
    version: int | None = None,
    end_level: str = "L2",
    idb_dir: str | Path | None = None,
    spice_dir: str | Path | None = None,
    spice_file: str | Path | None = None,
    soop_dir: str | Path | None = None,
    stop_on_error: bool = False,
) -> ReprocessOptions:
    """Fill the defaults and check the options.

    ``version`` defaults to ``settings.processing_version + 1``; ``fits_dir`` to
    ``<data_root>/reprocess/V<version:02d>`` (relative paths are taken below ``data_root``).

    Raises
    ------
    ReprocessError
        For a version below 1, an unknown end level, or the live archive with the live version.
    """
    resolved_version = int(version) if version is not None else int(settings.processing_version) + 1
    if resolved_version < 1:
        raise ReprocessError(f"processing version must be at least 1, not {resolved_version}")
    level = str(end_level).upper()
    if level not in END_LEVELS:
        raise ReprocessError(f"end level {end_level!r} is not one of {', '.join(END_LEVELS)}")
    root = Path(settings.data_root)
    out = Path(fits_dir) if fits_dir else root / REPROCESS_FOLDER / f"V{resolved_version:02d}"
    if not out.is_absolute():
        out = root / out
    live = Path(settings.fits_archive_dir)
    if out.resolve() == live.resolve() and resolved_version == int(settings.processing_version):
        raise ReprocessError(
            f"refusing to reprocess into the live archive {live} with the live version V{resolved_version:02d}: "
            "choose another output folder or a new version"
        )

    def text(value: str | Path | None) -> str | None:
        return str(value) if value else None

    return ReprocessOptions(
        fits_dir=str(out),
        version=resolved_version,
        end_level=level,
        idb_dir=text(idb_dir),
        spice_dir=text(spice_dir),
        spice_file=text(spice_file),
        soop_dir=text(soop_dir),
        stop_on_error=bool(stop_on_error),
    )


def _kernels(settings: Settings, options: ReprocessOptions) -> SpiceKernels | None:
    spice_dir = Path(options.spice_dir or settings.spice_dir)
    return make_kernels(spice_dir, Path(options.spice_file) if options.spice_file else None)


#: ``plan_day``'s default: load the kernels of the options.
_LOAD_KERNELS: Any = object()


def plan_day(
    settings: Settings,
    engine: Engine,
    day: date,
    options: ReprocessOptions,
    kernels: SpiceKernels | None = _LOAD_KERNELS,
) -> dict[str, Any]:
    """What reprocessing ``day`` will do: the OBT window, the TM files, the options.

    ``kernels`` (default: loaded from the options) lets a block plan many days with one load.

    Returns
    -------
    dict
        ``day``, ``window`` (text), ``clock``, ``obt_start``/``obt_end`` (binary SCET),
        ``tm_files`` (paths), ``missing``, ``without_obt`` and ``options``.
    """
    window = day_window(day, _kernels(settings, options) if kernels is _LOAD_KERNELS else kernels)
    selection = select_day_files(engine, window, processing_dir=Path(settings.soc_processing_dir))
    log.info("day %s: %d TM file(s)", window.describe(), len(selection.files))
    for name in selection.missing:
        log.error("TM file %s is in the ledger but neither at its path nor in %s", name, settings.soc_processing_dir)
    if selection.without_obt:
        log.warning("%d ledger TM file(s) without OBT range cannot be placed on a day", selection.without_obt)
    return {
        "day": day.isoformat(),
        "window": window.describe(),
        "clock": window.clock,
        "obt_start": window.obt_start,
        "obt_end": window.obt_end,
        "tm_files": [str(p) for p in selection.files],
        "missing": selection.missing,
        "without_obt": selection.without_obt,
        "options": options.as_dict(),
    }


def reprocess(settings: Settings, plan: dict[str, Any], pipeline: Pipeline | None = None) -> dict[str, Any]:
    """Process the plan's TM files from TM up to its end level into its output folder.

    ``pipeline`` (default: built for the plan's options when there are files) lets a block
    reprocess many days with one pipeline.

    Returns
    -------
    dict
        ``day``, ``fits_dir``, ``version``, ``end_level``, ``tm_files`` (count), ``written``
        (files per level), ``problems`` (input name -> partial/failed/unusable, for inputs that were
        not ``ok``; inputs are the TM files and the LB files they touched), ``packet_errors``
        (packets left out), ``file_errors`` (products or inputs lost: file errors plus unusable
        inputs), ``missing`` (from the plan), ``aborted`` (``stop_on_error`` message or ``None``)
        and ``ok``: no file error, nothing missing, not aborted (packet errors are reported only,
        as in the level processing).
    """
    options = ReprocessOptions(**plan["options"])
    files = [Path(p) for p in plan["tm_files"]]
    Path(options.fits_dir).mkdir(parents=True, exist_ok=True)
    aborted = None
    if files:
        if pipeline is None:
            pipeline = build_pipeline(settings, options.pipeline_options())
        try:
            run = pipeline.run(files, start_level=Level.TM, end_level=options.end_level)
        except PipelineAborted as exc:
            run, aborted = RunReport(files=[exc.report]), str(exc)
    else:
        run = RunReport()
    packet_errors = sum(len(r.packet_errors) for r in run.files)
    file_errors = sum(len(r.file_errors) + (r.unusable is not None) for r in run.files)
    summary = {
        "day": plan["day"],
        "fits_dir": options.fits_dir,
        "version": options.version,
        "end_level": options.end_level,
        "tm_files": len(files),
        "written": {level: len(run.written(level)) for level in LEVEL_NAMES},
        "problems": {Path(r.source).name: r.status for r in run.files if r.status != "ok"},
        "packet_errors": packet_errors,
        "file_errors": file_errors,
        "missing": list(plan.get("missing", [])),
        "aborted": aborted,
    }
    summary["ok"] = not file_errors and not summary["missing"] and aborted is None
    for report in run.files:
        for text in report.file_errors[:20]:
            log.error("%s: %s", Path(report.source).name, text)
        if report.unusable:
            log.error("%s: unusable: %s", Path(report.source).name, report.unusable)
    return summary


def month_start(day: date) -> date:
    """The first day of ``day``'s calendar month."""
    return day.replace(day=1)


def block_days(
    logical_date: datetime | None,
    month: str | None = None,
    first: str | date | None = None,
    last: str | date | None = None,
) -> list[date]:
    """The days a monthly run reprocesses: its calendar month, clipped to ``[first, last]``.

    Parameters
    ----------
    logical_date
        The run's logical date (a backfill run of ``stix_reprocess_monthly`` starts its month).
    month
        ``YYYY-MM`` instead of the logical date's month (manual runs of old months).
    first, last
        The campaign's first and last day (``YYYY-MM-DD``; ``stix-pipeline reprocess`` puts them
        into the run conf, so the first and last month are cut to the asked range).

    Returns
    -------
    list of date
        Possibly empty (the range does not touch the month).

    Raises
    ------
    ReprocessError
        For a malformed ``month``/``first``/``last`` or no month at all, or ``last`` before ``first``.
    """
    if month:
        text = str(month).strip()
        try:
            start = date.fromisoformat(text + "-01")
        except ValueError as exc:
            raise ReprocessError(f"month {month!r} is not YYYY-MM") from exc
    else:
        start = month_start(run_day(logical_date))
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    low = run_day(None, first) if first else start
    high = run_day(None, last) if last else end
    if high < low:
        raise ReprocessError(f"last day {high} is before first day {low}")
    low, high = max(low, start), min(high, end)
    return [low + timedelta(days=n) for n in range((high - low).days + 1)]


def plan_block(settings: Settings, engine: Engine, days: Sequence[date], options: ReprocessOptions) -> dict[str, Any]:
    """Plan each of ``days`` (:func:`plan_day`) with one SPICE load.

    Returns
    -------
    dict
        ``days`` (the day plans, in order), ``tm_files`` (count over the block; a file spanning
        midnight counts for both days) and ``options``.
    """
    kernels = _kernels(settings, options)
    plans = [plan_day(settings, engine, day, options, kernels) for day in days]
    return {"days": plans, "tm_files": sum(len(p["tm_files"]) for p in plans), "options": options.as_dict()}


def reprocess_block(
    settings: Settings,
    block: dict[str, Any],
    on_day: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Reprocess the block's days one after the other with one pipeline (:func:`reprocess` per day).

    Each day is its own pipeline run: its products, problems and outcome are its own, and a bad
    day does not stop the days after it (unless ``stop_on_error`` aborts it). A TM file spanning
    midnight is processed once per block, with the first of its days: the pipeline makes all of a
    file's products whatever their day, so the second day would only merge identical rows again
    (its summary lists the file under ``shared``). A daily delivery whose last packet is stamped
    at the next midnight spans midnight, so per-day runs process every file twice.

    Parameters
    ----------
    block
        A :func:`plan_block` result.
    on_day
        Called after each day with its position (1-based) and its summary (progress in the log).

    Returns
    -------
    dict
        ``days`` (day -> :func:`reprocess` summary plus ``shared``), ``failed`` (the days that
        are not ``ok``), ``tm_files`` (files processed), ``written`` (files per level over the
        block) and ``ok``.
    """
    options = ReprocessOptions(**block["options"])
    pipeline = build_pipeline(settings, options.pipeline_options()) if block["tm_files"] else None
    summaries: dict[str, dict[str, Any]] = {}
    done: set[str] = set()
    for index, plan in enumerate(block["days"], start=1):
        shared = [path for path in plan["tm_files"] if path in done]
        summary = reprocess(settings, {**plan, "tm_files": [p for p in plan["tm_files"] if p not in done]}, pipeline)
        summary["shared"] = [Path(path).name for path in shared]
        done.update(plan["tm_files"])
        summaries[plan["day"]] = summary
        if on_day is not None:
            on_day(index, summary)
    written = {level: sum(s["written"][level] for s in summaries.values()) for level in LEVEL_NAMES}
    failed = [day for day, s in summaries.items() if not s["ok"]]
    return {
        "days": summaries,
        "failed": failed,
        "tm_files": sum(s["tm_files"] for s in summaries.values()),
        "written": written,
        "ok": not failed,
    }


__all__ = [
    "DAY_STATES",
    "END_LEVELS",
    "DayWindow",
    "DaySelection",
    "ReprocessError",
    "ReprocessOptions",
    "block_days",
    "day_window",
    "month_start",
    "plan_block",
    "plan_day",
    "reprocess",
    "reprocess_block",
    "resolve_options",
    "run_day",
    "select_day_files",
]
