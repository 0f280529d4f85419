"""What the L1 step remembers during a run gives exactly what a fresh conversion gives.

* :class:`~stix_lib.products.l1.CalibrationMemo`: the engineering values of every column equal
  the direct conversion with the real IDBs (values, dtype, unit, meta, warnings), over a series of
  "days" with known and new raw values and two IDB periods; the IDB conversion runs only for days
  bringing values not seen before; a raw value without text is logged at every call, as without
  the memo.
* :meth:`~stix_lib.products.clock.SpiceClock.utc_days`: days given from remembered midnights equal
  SPICE's UTC day of every row (converted one by one with the real 2020 kernels).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from stix_lib.idb.manager import IDBManager
from stix_lib.products import l1 as l1_module
from stix_lib.products.clock import SpiceClock
from stix_lib.products.table import ColumnTable
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.time.scet import SCETime, scet_from_float

#: Real housekeeping parameters of IDB 2.26.32/33, one per kind of calibration.
PARAMETERS = {
    "curve": "NIXD0025",  # hk_dpu_pcb_t: CAP curve (spline)
    "polynomial": "NIXD0002",  # cpu_load: MCF polynomial
    "text": "NIXD0021",  # sw_running: texts
    "boolean": "NIXD0166",  # autonomous_asw_boot_stat: True/False texts
}
#: Two IDB periods: rows before OBT 1000 use 2.26.32, the others 2.26.33.
PERIODS = l1_module.idb_periods({"2.26.32": (0.0, 10.0), "2.26.33": (1000.0, 2000.0)})


def _table(raw_by_kind: dict[str, np.ndarray]) -> ColumnTable:
    table = ColumnTable()
    for kind, raw in raw_by_kind.items():
        table.add(kind, raw, unit="raw", meta={"NIXS": PARAMETERS.get(kind, PARAMETERS["text"]), "PCF_CURTX": "C"})
    return table


def _days() -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
    """Raw values and row times of four days; days 3 and 4 repeat rows of days 1 and 2."""
    rng = np.random.default_rng(7)
    days = []
    for low, high in [(1000, 1100), (1050, 1200)]:
        raw = rng.integers(low, high, 40, dtype=np.int64)
        raw_by_kind = {
            "curve": raw,
            "polynomial": raw % 100,
            "text": raw % 2,
            "boolean": np.stack([raw % 2, raw // 2 % 2], axis=1),  # a vector column
            "missing": np.where(raw % 5 == 0, 9999, raw % 2),  # 9999: no text
        }
        days.append((raw_by_kind, rng.uniform(0.0, 2000.0, len(raw))))
    for (raw_by_kind, times), rows in zip(days[:2], [np.arange(40)[::-1], np.arange(0, 40, 3)], strict=True):
        days.append(({kind: raw[rows] for kind, raw in raw_by_kind.items()}, times[rows]))
    return days


def test_memo_gives_the_direct_values(idb_manager: IDBManager, monkeypatch, caplog) -> None:
    calls: list[str] = []
    original = l1_module.calibrate
    monkeypatch.setattr(l1_module, "calibrate", lambda idb, name, raw: calls.append(name) or original(idb, name, raw))
    memo = l1_module.CalibrationMemo()
    conversions = []
    for number, (raw_by_kind, times) in enumerate(_days()):
        direct = _table(raw_by_kind)
        remembered = direct.shallow_copy()
        expected = l1_module.calibrate_table(direct, times, PERIODS, idb_manager)
        calls.clear()
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            assert l1_module.calibrate_table(remembered, times, PERIODS, idb_manager, memo) == expected
        assert len([r for r in caplog.records if "9999" in r.getMessage()]) == 2  # both periods, every day
        for name in direct.names:
            want, got = direct.column(name), remembered.column(name)
            assert got.values.dtype == want.values.dtype and got.values.shape == want.values.shape, (number, name)
            assert np.array_equal(got.values, want.values), (number, name)
            assert (got.unit, got.meta) == (want.unit, want.meta)
        conversions.append(sorted(set(calls)))
    assert direct["curve"].dtype == np.float64 and direct["text"].dtype.kind == "U"
    assert direct["boolean"].dtype == np.bool_ and direct["missing"].dtype.kind == "U"
    # days 3 and 4 bring no new raw value: only the column with a value without text is converted again
    assert conversions[2] == conversions[3] == [PARAMETERS["text"]]
    assert PARAMETERS["curve"] in conversions[1]  # day 2 brings new values


def test_memo_keeps_integer_values_only(idb_manager: IDBManager) -> None:
    memo = l1_module.CalibrationMemo()
    raw = np.array([1000.0, 1001.0, 1000.0])
    first = memo.calibrate(idb_manager, "2.26.32", PARAMETERS["curve"], raw)
    again = memo.calibrate(idb_manager, "2.26.32", PARAMETERS["curve"], raw)
    assert np.array_equal(first.values, again.values) and not memo._known  # float raw values: never remembered


def test_remembered_texts_are_as_wide_as_the_direct_ones(idb_manager: IDBManager) -> None:
    """sw_running: 0 -> "ASW", 1 -> "SuSW"; texts of a later call are sized by that call's texts."""
    memo = l1_module.CalibrationMemo()
    idb = idb_manager.get_idb("2.26.32")
    memo.calibrate(idb_manager, "2.26.32", PARAMETERS["text"], np.array([0, 1]))  # remembers both texts
    for raw in (np.array([0, 0]), np.array([1]), np.array([1, 0])):
        want = l1_module.calibrate(idb, PARAMETERS["text"], raw).values
        got = memo.calibrate(idb_manager, "2.26.32", PARAMETERS["text"], raw).values
        assert got.dtype == want.dtype and got.tolist() == want.tolist(), raw
    assert memo._known  # the later calls were answered from the memo


@pytest.fixture(scope="module")
def spice(reference_data: Path, tmp_path_factory: pytest.TempPathFactory) -> SpiceKernels:
    return SpiceKernels(reference_data / "spice" / "kernels", tmp_path_factory.mktemp("spice")).load()


def test_days_from_remembered_midnights_are_spices(spice: SpiceKernels) -> None:
    clock = SpiceClock(spice)
    rng = np.random.default_rng(1)
    start = 643_000_000.0
    clock.utc_days(np.array([start, start + 6 * 86400.0]))  # learns six midnights
    midnights = sorted(clock._midnights.values())
    assert len(midnights) == 6
    products = []
    for length in [10.0, 3600.0, 86400.0, 2 * 86400.0] * 10:  # inside the remembered days
        begin = rng.uniform(midnights[0] + 3.0, midnights[-1] - 3.0 - length)
        products.append(np.sort(rng.uniform(begin, begin + length, 30)))
    products += [midnight + np.array([-3.0, -1.0, -1e-4, 0.0, 1e-4, 1.0, 3.0]) for midnight in midnights]
    products += [np.array([midnight - 2.5, midnight + 2.5]) for midnight in midnights]
    products += [np.array([midnight, midnight + 10.0]) for midnight in midnights]  # an end on a midnight
    products += [np.array([midnight - 10.0, midnight]) for midnight in midnights]
    fast = 0
    for times in products:
        fast += clock._between_known_midnights(float(times.min()), float(times.max())) is not None
        got = clock.utc_days(times)
        fresh = SpiceClock(spice).utc_days(times)  # nothing remembered: the ends converted by SPICE
        assert got.dtype == fresh.dtype and np.array_equal(got, fresh), times
        # SPICE row by row agrees, but within a few ticks of a midnight (there the OBT of the midnight decides)
        clear = np.min(np.abs(times[:, None] - np.array(midnights)[None, :]), axis=1) > 1e-3
        each = spice.scet_to_datetime64(SCETime(*scet_from_float(times))).astype("datetime64[D]")
        assert np.array_equal(got[clear], each[clear]), times
    assert fast >= 40  # the random products and the ones 2.5 s from a midnight took the short way
