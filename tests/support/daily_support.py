"""Helpers of the daily/reprocessing tests: simulated telemetry of several days in a ledger."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from stix_lib.db.schema import TMState

#: Kernel set of the simulated days (flown until the end: every day can go to L1).
KERNELS = ("2024-03-01", "2024-03-10", "2024-03-10")


def day_range(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last`` inclusive."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def simulated_tm(
    out: Path, idb_dir: Path, day: date, *, start: str = "12:00", minutes: int = 10, seed: int = 0
) -> Path:
    """``minutes`` of quiet telemetry from ``start`` (UTC ``HH:MM``) of ``day`` as one SOC XML file in ``out``."""
    from stix_lib.dev.simulate import SimulationConfig, simulate

    work = out / f".sim-{day.isoformat()}-{start.replace(':', '')}"
    begin = f"{day.isoformat()}T{start}:00"
    config = SimulationConfig(begin, minutes * 60.0, work, idb_dir, scenario="quiet", seed=seed)
    (path,) = simulate(config).files
    target = out / path.name
    path.rename(target)
    return target


def ledger_tm(engine, path: Path, state: TMState) -> None:
    """A ledger row for ``path`` in ``state`` with its OBT range read from the file (as ingest does)."""
    from stix_lib.stages.ingest import record_tm_file
    from stix_lib.tm.obt_range import read_obt_range

    assert record_tm_file(engine, path, state, obt=read_obt_range(path))


def l1_days(archive: Path) -> set[date]:
    """UTC days that have L1 files in ``archive`` (from ``L1/YYYY/MM/DD``)."""
    days = set()
    for path in Path(archive).glob("L1/*/*/*/*/*.fits"):
        year, month, day = path.parts[-5:-2]
        days.add(date(int(year), int(month), int(day)))
    return days
