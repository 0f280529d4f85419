"""``stix_lib.stages.reprocess``: the run's day, UTC day -> OBT window, the day's ledger files, options, a real run."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from stix_lib.db.schema import TMState
from stix_lib.stages.reprocess import (
    ReprocessError,
    block_days,
    day_window,
    plan_day,
    reprocess,
    resolve_options,
    run_day,
    select_day_files,
)
from stix_lib.time.nominal_clock import utc_to_scet
from tests.support.daily_support import KERNELS, l1_days, ledger_tm, simulated_tm

DAY = date(2024, 3, 3)


@pytest.fixture
def kernel_settings(settings, reference_data: Path, tmp_path: Path):
    """Settings with a kernel-builder SPICE tree covering March 2024 and the STIX-CONF snapshot."""
    from stix_lib.dev.synthetic_kernels import build_kernel_set

    build_kernel_set(tmp_path / "spice", *KERNELS)
    return settings.replace(spice_dir=tmp_path / "spice", conf_dir=reference_data / "stix-conf")


@pytest.fixture
def engine(settings):
    from stix_lib.db import connect

    engine = connect(settings.pipeline_db_url)
    yield engine
    engine.dispose()


def _btime(iso: str) -> int:
    coarse, fine = utc_to_scet(iso)
    return int((int(coarse) << 16) | int(fine))


def test_run_day_is_the_logical_dates_utc_date() -> None:
    assert run_day(datetime(2024, 3, 3, tzinfo=UTC)) == DAY
    assert run_day(datetime(2024, 3, 3, 23, 59, 59)) == DAY  # naive = UTC
    assert run_day(datetime(2024, 3, 4, 0, 30, tzinfo=timezone(timedelta(hours=2)))) == DAY
    assert run_day(datetime(2024, 3, 9, tzinfo=UTC), "2024-03-03") == DAY
    with pytest.raises(ReprocessError, match="no logical date"):
        run_day(None)
    with pytest.raises(ReprocessError, match="not a date"):
        run_day(None, "3.3.2024")


def test_block_days_are_the_month_cut_to_the_campaign() -> None:
    march = [date(2024, 3, 1) + timedelta(days=n) for n in range(31)]
    assert block_days(datetime(2024, 3, 1, tzinfo=UTC)) == march
    assert block_days(None, "2024-02")[-1] == date(2024, 2, 29)  # leap year
    assert block_days(None, "2023-02")[-1] == date(2023, 2, 28)
    assert block_days(None, "2024-12")[-1] == date(2024, 12, 31)
    # a campaign 2024-03-05 .. 2024-05-10: the first and last month are cut, the middle one is whole
    first, last = "2024-03-05", date(2024, 5, 10)
    assert block_days(datetime(2024, 3, 1, tzinfo=UTC), None, first, last) == march[4:]
    assert len(block_days(datetime(2024, 4, 1, tzinfo=UTC), None, first, last)) == 30
    assert block_days(None, "2024-05", first, last)[-1] == last
    assert block_days(None, "2024-06", first, last) == []  # the month is outside the campaign
    with pytest.raises(ReprocessError, match="not YYYY-MM"):
        block_days(None, "March")
    with pytest.raises(ReprocessError, match="before first day"):
        block_days(None, "2024-03", "2024-03-10", "2024-03-09")
    with pytest.raises(ReprocessError, match="no logical date"):
        block_days(None)


def test_day_window_nominal_clock_and_spice(kernel_settings, tmp_path: Path) -> None:
    from stix_lib.spice import SpiceKernels

    nominal = day_window(DAY)
    assert (nominal.obt_start, nominal.obt_end, nominal.clock) == (
        _btime("2024-03-03T00:00:00"), _btime("2024-03-04T00:00:00"), "nominal",
    )  # fmt: skip
    assert nominal.obt_end - nominal.obt_start == 86400 << 16
    assert nominal.describe().startswith("2024-03-03 = OBT ")
    # the kernel builder's SCLK is the simulator's clock: SPICE gives the same window (to a fine tick)
    spice = day_window(DAY, SpiceKernels(kernel_settings.spice_dir, tmp_path / "mk-work"))
    assert spice.clock.startswith("spice ") and "flown-mk" in spice.clock
    assert abs(spice.obt_start - nominal.obt_start) <= 1 and abs(spice.obt_end - nominal.obt_end) <= 1
    (tmp_path / "empty" / "mk").mkdir(parents=True)
    fallback = day_window(DAY, SpiceKernels(tmp_path / "empty", tmp_path / "mk-work"))
    assert fallback == nominal


def test_day_selection_by_state_and_obt_overlap(settings, engine, tmp_path: Path) -> None:
    from stix_lib.stages.ingest import record_tm_file
    from stix_lib.tm.obt_range import ObtRange

    processing = Path(settings.soc_processing_dir)
    rows = {  # name: (state, start, end)
        "a_staged_noon": (TMState.STAGED, "2024-03-03T12:00", "2024-03-03T12:10"),
        "b_processed_morning": (TMState.PROCESSED, "2024-03-03T00:00", "2024-03-03T01:00"),
        "c_spans_midnight": (TMState.STAGED, "2024-03-03T23:55", "2024-03-04T00:05"),
        "d_incoming": (TMState.INCOMING, "2024-03-03T12:00", "2024-03-03T12:10"),
        "e_failed": (TMState.FAILED, "2024-03-03T12:00", "2024-03-03T12:10"),
        "f_quarantined": (TMState.QUARANTINED, "2024-03-03T12:00", "2024-03-03T12:10"),
        "g_day_before": (TMState.PROCESSED, "2024-03-02T23:00", "2024-03-02T23:59:59"),
        "h_next_day": (TMState.STAGED, "2024-03-04T00:00", "2024-03-04T01:00"),
        "i_vanished": (TMState.STAGED, "2024-03-03T06:00", "2024-03-03T06:10"),
        "j_moved": (TMState.PROCESSED, "2024-03-03T08:00", "2024-03-03T08:10"),
    }
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name, (state, start, end) in rows.items():
        path = (elsewhere if name == "j_moved" else processing) / f"{name}.xml"
        path.write_text(name)
        record_tm_file(engine, path, state, obt=ObtRange(1, 0, 1, _btime(start), _btime(end)))
    (processing / "i_vanished.xml").unlink()
    (elsewhere / "j_moved.xml").rename(processing / "j_moved.xml")  # found by name in processing/
    nowhere = processing / "k_no_obt.xml"
    nowhere.write_text("no synchronised time")
    record_tm_file(engine, nowhere, TMState.STAGED, obt=None)

    day3 = select_day_files(engine, day_window(DAY), processing_dir=processing)
    assert [p.name for p in day3.files] == [
        "b_processed_morning.xml", "j_moved.xml", "a_staged_noon.xml", "c_spans_midnight.xml",
    ]  # fmt: skip
    assert all(p.parent == processing for p in day3.files)
    assert (day3.missing, day3.without_obt) == (["i_vanished.xml"], 1)
    day4 = select_day_files(engine, day_window(date(2024, 3, 4)), processing_dir=processing)
    assert [p.name for p in day4.files] == ["c_spans_midnight.xml", "h_next_day.xml"]  # h starts at 00:00
    day2 = select_day_files(engine, day_window(date(2024, 3, 2)), processing_dir=processing)
    assert [p.name for p in day2.files] == ["g_day_before.xml"]


def test_options_defaults_and_live_archive_guard(settings) -> None:
    live = settings.processing_version
    options = resolve_options(settings)
    assert options.version == live + 1 and options.end_level == "L2"
    assert Path(options.fits_dir) == Path(settings.data_root) / "reprocess" / f"V{live + 1:02d}"
    explicit = resolve_options(settings, version=7, fits_dir="campaign/v7", end_level="l1")
    assert (explicit.version, explicit.fits_dir, explicit.end_level) == (
        7, str(Path(settings.data_root) / "campaign/v7"), "L1",
    )  # fmt: skip
    with pytest.raises(ReprocessError, match="live archive"):
        resolve_options(settings, fits_dir=settings.fits_archive_dir, version=live)
    assert resolve_options(settings, fits_dir=settings.fits_archive_dir).version == live + 1  # a new version is fine
    with pytest.raises(ReprocessError, match="end level"):
        resolve_options(settings, end_level="L3")
    with pytest.raises(ReprocessError, match="at least 1"):
        resolve_options(settings, version=0)


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.fits")}


def test_file_spanning_midnight_is_processed_by_both_days(kernel_settings, engine, reference_data: Path) -> None:
    settings = kernel_settings
    processing, idb = Path(settings.soc_processing_dir), reference_data / "idb"
    noon3 = simulated_tm(processing, idb, DAY, seed=1)
    ledger_tm(engine, noon3, TMState.PROCESSED)
    late = simulated_tm(processing, idb, DAY, start="23:50", minutes=20, seed=2)  # crosses midnight
    ledger_tm(engine, late, TMState.STAGED)
    noon4 = simulated_tm(processing, idb, date(2024, 3, 4), seed=3)
    ledger_tm(engine, noon4, TMState.STAGED)

    options = resolve_options(settings, version=5, end_level="L1")
    plan3, plan4 = (plan_day(settings, engine, d, options) for d in (DAY, date(2024, 3, 4)))
    assert [Path(p).name for p in plan3["tm_files"]] == [noon3.name, late.name]
    assert [Path(p).name for p in plan4["tm_files"]] == [late.name, noon4.name]
    out = Path(options.fits_dir)

    first = reprocess(settings, plan3)
    assert first["ok"] and first["written"]["L1"] and first["problems"] == {}
    assert l1_days(out) == {DAY, date(2024, 3, 4)}  # the crossing file has data on both days
    second = reprocess(settings, plan4)
    assert second["ok"] and second["tm_files"] == 2
    after = _digests(out)
    again = reprocess(settings, plan3)  # the crossing file a third time: nothing changes
    assert again["ok"] and again["written"] == {"LB": 0, "L0": 0, "L1": 0, "L2": 0}
    assert _digests(out) == after
    assert all("_V05" in name for name in after)
    lightcurves = sorted({Path(n).name for n in after if n.startswith("L1") and "ql-lightcurve" in n})
    assert lightcurves == [
        "solo_L1_stix-ql-lightcurve_20240303_V05U.fits", "solo_L1_stix-ql-lightcurve_20240304_V05U.fits",
    ]  # fmt: skip
