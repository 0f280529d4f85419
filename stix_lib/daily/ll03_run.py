"""The daily LL03 step: which days a run looks at, their latest L1 light curves, plots and history.

A run of ``stix_daily_products`` (08:00 UTC, runbook cron C7) has a zero-length data interval
(Airflow 3 ``CronTriggerTimetable``: ``data_interval_start == data_interval_end == logical_date``),
so its day is computed explicitly: the run day ``D`` is the logical date's UTC date and the plot
days are ``D - days_back`` … ``D - 1`` (:func:`plot_days`). The window must reach back past the
30-day age gate (an incomplete day is plotted once its data are 30 days old), hence
:data:`DEFAULT_DAYS_BACK` = 40 (ten days of outage margin); ``days_back = 0`` scans the whole
archive as STIXCore does. Completeness and the other gates are :func:`stix_lib.daily.ll03_due`'s,
evaluated at the wall-clock time of the run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from stix_lib.daily.ll03_gates import PRODUCT_LEVEL, PRODUCT_NAME, PRODUCT_TYPE, LL03Step
from stix_lib.daily.ll03_names import version_of
from stix_lib.daily.ll03_plot import LightCurveError
from stix_lib.daily.processing_history import DatabaseHistory
from stix_lib.settings import Settings

log = logging.getLogger(__name__)

#: Days before the run day a run looks at (the 30-day age gate plus ten days of margin).
DEFAULT_DAYS_BACK = 40
LIGHTCURVE_GLOB = "solo_L1_stix-ql-lightcurve_*.fits"


def run_day(logical_date: datetime) -> date:
    """The run day: the logical date's UTC date (naive values are UTC)."""
    moment = logical_date if logical_date.tzinfo is not None else logical_date.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


def plot_days(day: date, days_back: int = DEFAULT_DAYS_BACK) -> list[date] | None:
    """The data days a run of ``day`` looks at: ``day - days_back`` … ``day - 1``; ``None`` = all.

    Raises
    ------
    ValueError
        For a negative ``days_back``.
    """
    if days_back < 0:
        raise ValueError(f"days_back must be >= 0, not {days_back}")
    if days_back == 0:
        return None
    return [day - timedelta(days=n) for n in range(days_back, 0, -1)]


def _latest(paths: Sequence[Path]) -> list[Path]:
    """The highest version of each product among ``paths`` (grouped per folder and name without version)."""
    best: dict[tuple[Path, str], tuple[int, Path]] = {}
    for path in paths:
        parsed = version_of(path.name)
        key, version = ((path.parent, path.name), 0) if parsed is None else ((path.parent, parsed[0]), parsed[1])
        if key not in best or version > best[key][0]:
            best[key] = (version, path)
    return sorted(path for _, path in best.values())


def lightcurve_inputs(archive: Path, days: Sequence[date] | None) -> list[Path]:
    """Latest-version L1 ``ql-lightcurve`` files of ``days`` (``L1/YYYY/MM/DD/QL``), or of the whole archive."""
    root = Path(archive) / "L1"
    if days is None:
        found = list(root.rglob(LIGHTCURVE_GLOB))
    else:
        found = [p for d in days for p in (root / f"{d:%Y}" / f"{d:%m}" / f"{d:%d}" / "QL").glob(LIGHTCURVE_GLOB)]
    return _latest([p for p in found if p.is_file()])


@dataclass
class LL03Result:
    """What one LL03 pass did.

    Attributes
    ----------
    inputs
        L1 light curves looked at.
    written
        Plot files written (SVG and PNG).
    skipped
        Why inputs were not due (one line each, naming the gate).
    errors
        Inputs that could not be checked or plotted (file and reason).
    """

    inputs: int = 0
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def run_ll03(
    settings: Settings,
    history: DatabaseHistory,
    days: Sequence[date] | None,
    *,
    now: datetime | None = None,
) -> LL03Result:
    """Plot every due light curve of ``days`` into ``settings.fits_archive_dir`` and record it.

    An input's failure costs that plot only; it is listed in ``errors`` and the pass goes on.

    Parameters
    ----------
    settings
        ``fits_archive_dir`` (input and output archive) and ``processing_version`` (plot version).
    history
        Processing history: decides "already made" and gets a row per plot.
    days
        Data days to look at (:func:`plot_days`), ``None`` for the whole archive.
    now
        Time the gates are evaluated at (default: now).
    """
    step = LL03Step(settings, history=history)
    result = LL03Result()
    inputs = lightcurve_inputs(step.archive_dir, days)
    result.inputs = len(inputs)
    for path in inputs:
        try:
            due, reason = step.due(path, now or datetime.now(UTC))
            if not due:
                result.skipped.append(reason)
                continue
            log.info("LL03 due: %s", reason)
            written = step.render(path)
        except (LightCurveError, ValueError, OSError) as exc:
            log.error("LL03 %s: %s", path.name, exc)
            result.errors.append(f"{path.name}: {exc}")
            continue
        history.record(
            name=PRODUCT_NAME,
            level=PRODUCT_LEVEL,
            product_type=PRODUCT_TYPE,
            version=step.version,
            in_path=path,
            out_path=written[0],
        )
        result.written.extend(str(p) for p in written)
    return result
