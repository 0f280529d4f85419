"""Periods longer than a day are simulated one UTC day at a time (issue 15: days of any length up to a year).

A long run must not hold more than one day in memory, so it is generated and delivered day by day.
Checked here without generating a year: the cut of a 365-day span (every period inside one UTC day,
none longer than a day, so no field relative to a period start can outgrow a day's range), one
calibration accumulation per period inside its day, the last accumulation of the year encoding;
and a 26-hour run: one delivery per UTC day, every packet inside its day's period, sequence counts running
on across days, and each day the same packets as a separate one-day run of that day with the
day's seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stix_lib.dev.simulate.calibration_spectra import _accumulation, accumulation_windows
from stix_lib.dev.simulate.context import SimulationContext
from stix_lib.dev.simulate.packets import PacketFactory
from stix_lib.dev.simulate.simulator import (
    DAY_SECONDS,
    SimulationConfig,
    day_seed,
    generation_periods,
    simulate,
)
from stix_lib.idb.manager import IDBManager
from stix_lib.time.nominal_clock import FINE_PER_SECOND, scet_to_utc, utc_to_scet
from stix_lib.tm.headers import decode_headers
from stix_lib.tm.xml_reader import read_packets

YEAR_START = "2020-05-06T13:00:00"


def _ticks(utc: str) -> int:
    coarse, fine = utc_to_scet(np.datetime64(utc, "ns"))
    return int(coarse) * FINE_PER_SECOND + int(fine)


def _utc(ticks: int, seconds: float) -> np.datetime64:
    return scet_to_utc(*divmod(ticks + int(round(seconds * FINE_PER_SECOND)), FINE_PER_SECOND)).ravel()[0]


def test_a_year_is_cut_into_utc_days(idb_manager: IDBManager) -> None:
    duration = 365 * DAY_SECONDS
    periods = generation_periods(np.datetime64(YEAR_START, "ns"), duration, PacketFactory(idb_manager))
    assert len(periods) == 366 and periods[0][0] == 0.0 and periods[-1][1] == duration
    assert all(a[1] == b[0] for a, b in zip(periods[:-1], periods[1:], strict=True))  # contiguous
    assert max(end - begin for begin, end in periods) <= DAY_SECONDS
    start = _ticks(YEAR_START)
    for begin, end in periods:
        first, last = _utc(start, begin), _utc(start, end - 1e-3)
        assert first.astype("datetime64[D]") == last.astype("datetime64[D]")
    assert all(str(_utc(start, begin))[11:19] == "00:00:00" for begin, _ in periods[1:])


def _context(factory: PacketFactory, start: int, begin: float, end: float) -> SimulationContext:
    """The context of the period [begin, end) of a run starting at ``start`` ticks (no model needed)."""
    return SimulationContext(factory, start + int(round(begin * FINE_PER_SECOND)), end - begin, None, 0)  # type: ignore[arg-type]


def test_every_day_of_a_year_has_its_accumulation_inside_it(idb_manager: IDBManager) -> None:
    factory = PacketFactory(idb_manager)
    start = _ticks(YEAR_START)
    periods = generation_periods(np.datetime64(YEAR_START, "ns"), 365 * DAY_SECONDS, factory)
    days = set()
    for begin, end in periods:
        ctx = _context(factory, start, begin, end)
        (window,) = accumulation_windows(ctx)
        first, last = (_utc(ctx.start_ticks, t) for t in window)
        assert 0 < window[0] < window[1] <= ctx.duration
        assert first.astype("datetime64[D]") == last.astype("datetime64[D]")
        days.add(first.astype("datetime64[D]"))
    assert len(days) == 366
    # the last day's accumulation encodes: every 32-bit field (duration, live time ...) fits
    ctx = _context(factory, start, *periods[-1])
    (window,) = accumulation_windows(ctx)
    assert all(factory.encode(spec) for spec in _accumulation(ctx, *window, ctx.rng("cal-energy")))


def test_day_seeds_differ_and_keep_the_first() -> None:
    seeds = [day_seed(7, k) for k in range(400)]
    assert seeds[0] == 7 and len(set(seeds)) == 400 and min(seeds) >= 0 and max(seeds) < 2**63


def _masked(data: bytes) -> bytes:
    """A packet without its sequence count (the day-by-day run counts on from the previous day)."""
    return data[:2] + bytes([data[2] & 0xC0, 0]) + data[4:]


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory, idb_dir: Path):
    out = tmp_path_factory.mktemp("days")
    config = SimulationConfig("2021-01-01T23:00:00", DAY_SECONDS + 7200.0, out, idb_dir, scenario="flare", seed=5)
    return config, simulate(config)


def test_a_long_run_is_delivered_one_file_per_utc_day(long_run) -> None:
    config, run = long_run
    manifest = json.loads(run.manifest_path.read_text())
    days = manifest["days"]
    assert [d["start_utc"] for d in days] == [
        "2021-01-01T23:00:00.000",
        "2021-01-02T00:00:00.000",
        "2021-01-03T00:00:00.000",
    ]
    assert [d["duration_s"] for d in days] == [3600.0, DAY_SECONDS, 3600.0]
    assert [d["seed"] for d in days] == [day_seed(5, k) for k in range(3)]
    assert len(run.files) == 3 and manifest["total_packets"] == sum(d["total_packets"] for d in days)
    previous_last: dict[int, int] = {}
    for day, path in zip(days, run.files, strict=True):
        packets, errors = read_packets(path)
        assert errors == [] and len(packets) == day["total_packets"]
        headers = decode_headers([p.data for p in packets])
        utc = scet_to_utc(headers["scet_coarse"].astype(np.int64), headers["scet_fine"].astype(np.int64))
        begin = np.datetime64(day["start_utc"], "ns")
        end = begin + np.timedelta64(int(day["duration_s"]), "s")
        assert np.all((utc >= begin) & (utc <= end))  # quick-look packets close their last interval at its end
        apid = headers["process_id"].astype(np.int64) * 16 + headers["packet_category"]
        count = headers["sequence_count"]
        for a in np.unique(apid):
            counts = count[apid == a]
            if int(a) in previous_last:
                assert int(counts[0]) == (previous_last[int(a)] + 1) % 16384
            previous_last[int(a)] = int(counts[-1])


def test_each_day_is_the_one_day_run_of_that_day(long_run, tmp_path: Path, idb_dir: Path) -> None:
    config, run = long_run
    for number, start, duration in ((0, "2021-01-01T23:00:00", 3600.0), (2, "2021-01-03T00:00:00", 3600.0)):
        seed = day_seed(5, number)
        config_alone = SimulationConfig(start, duration, tmp_path / str(number), idb_dir, scenario="flare", seed=seed)
        alone = simulate(config_alone)
        (single,) = alone.files
        want = [_masked(p.data) for p in read_packets(single)[0]]
        got = [_masked(p.data) for p in read_packets(run.files[number])[0]]
        assert got == want, number
