"""Simulated calibration accumulations: one per UTC day, inside it, for periods up to a year (issue 15 item 6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stix_lib.dev.simulate.calibration_spectra import _accumulation, accumulation_windows
from stix_lib.dev.simulate.context import SimulationContext
from stix_lib.dev.simulate.packets import PacketFactory
from stix_lib.dev.simulate.simulator import SimulationConfig, simulate
from stix_lib.idb.manager import IDBManager
from stix_lib.lb import read_lb, tm_to_lb
from stix_lib.products.l0 import build_l0
from stix_lib.time.nominal_clock import FINE_PER_SECOND, scet_to_utc, utc_to_scet

DAY = 86400.0


def _context(idb_manager: IDBManager, start: str, duration: float) -> SimulationContext:
    coarse, fine = utc_to_scet(start)
    return SimulationContext(PacketFactory(idb_manager), int(coarse) * FINE_PER_SECOND + int(fine), duration, None, 0)


def _utc(ctx: SimulationContext, seconds: float) -> np.datetime64:
    return scet_to_utc(*divmod(ctx.start_ticks + int(round(seconds * FINE_PER_SECOND)), FINE_PER_SECOND))


@pytest.mark.parametrize(
    ("start", "days", "expected"), [("2020-05-06T13:00:00", 365, 366), ("2021-01-01T00:00:00", 68, 68)]
)
def test_one_accumulation_per_day_inside_it(idb_manager: IDBManager, start: str, days: int, expected: int) -> None:
    ctx = _context(idb_manager, start, days * DAY)
    windows = accumulation_windows(ctx)
    assert len(windows) == expected
    days_of = [(_utc(ctx, a).astype("datetime64[D]"), _utc(ctx, b).astype("datetime64[D]")) for a, b in windows]
    assert all(first == last for first, last in days_of)
    assert len({first for first, _ in days_of}) == expected  # one per day
    assert all(0 < b - a < DAY for a, b in windows) and windows[-1][1] <= ctx.duration


def test_a_full_day_accumulation_encodes(idb_manager: IDBManager) -> None:
    """The 68-day run failed with 'value 5698303800 does not fit 32 bits' (live time of one 68-day accumulation)."""
    ctx = _context(idb_manager, "2021-01-01T00:00:00", 68 * DAY)
    start, stop = max(accumulation_windows(ctx), key=lambda w: w[1] - w[0])
    specs = _accumulation(ctx, start, stop, ctx.rng("cal-energy"))
    assert all(ctx.factory.encode(spec) for spec in specs)
    assert specs[0].values["NIX00122"] == [round(stop - start)]  # seconds: both pipelines read x10 (#432)


def test_simulated_accumulations_are_dated_inside_their_day(tmp_path: Path, idb_dir: Path, idb_manager) -> None:
    """Through the pipeline's own L0 reading: each accumulation starts and ends in its UTC day and the period."""
    config = SimulationConfig(
        start="2020-05-06T21:00:00", duration=5 * 3600.0, out_dir=tmp_path / "sim", idb_dir=idb_dir, scenario="quiet"
    )
    run = simulate(config)
    lb = tm_to_lb(run.files[0], tmp_path / "archive", idb_manager)
    builds = [build_l0(read_lb(p), idb_manager, parent=p.name) for p in lb.written if "21-6-41" in p.name]
    assert all(not b.errors for b in builds)
    products = [b.product for b in builds if b.product is not None]
    time = np.concatenate([p.time for p in products])
    half = np.concatenate([p.timedel_seconds for p in products]) / 2.0
    assert len(time) == 2  # one accumulation before and one after midnight
    for low, high in zip(time - half, time + half, strict=True):
        begin, end = (scet_to_utc(*divmod(int(round(t * FINE_PER_SECOND)), FINE_PER_SECOND)) for t in (low, high))
        assert begin.astype("datetime64[D]") == end.astype("datetime64[D]")
        assert np.datetime64("2020-05-06T21:00:00") <= begin and end <= np.datetime64("2020-05-07T02:00:00")
