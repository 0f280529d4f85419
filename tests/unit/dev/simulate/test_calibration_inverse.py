"""Inverse engineering calibration: every calibrated TM parameter of every IDB version."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stix_lib.decode.engineering import CalibrationError, calibrate
from stix_lib.decode.layout import get_layout
from stix_lib.dev.simulate.calibration import nearest_raw, to_raw
from stix_lib.dev.simulate.catalogue import packet_types
from stix_lib.idb.manager import IDBManager

VERSIONS = ("2.26.32", "2.26.33", "2.26.34", "2.26.35")


def calibrated_parameters(manager: IDBManager, version: str) -> list[str]:
    idb = manager.get_idb(version)
    names: set[str] = set()
    for packet_type in packet_types(idb):
        names.update(get_layout(idb, *packet_type.key).names)
    return sorted(n for n in names if (info := idb.get_parameter(n)) is not None and info.calibration_id)


@pytest.mark.parametrize("version", VERSIONS)
def test_all_calibrated_parameters_invert(idb_manager: IDBManager, version: str) -> None:
    """Exhaustive over the raw domain (capped at 4096 values): calibrate o to_raw o calibrate == calibrate."""
    idb = idb_manager.get_idb(version)
    names = calibrated_parameters(idb_manager, version)
    assert len(names) > 100
    kinds = set()
    for name in names:
        info = idb.get_parameter(name)
        raw = np.arange(0, min(1 << info.width, 4096), dtype=np.int64)
        if info.signed:
            raw = raw - min(1 << (info.width - 1), 2048)
        eng = calibrate(idb, name, raw)
        kinds.add(eng.kind)
        back = to_raw(idb, name, eng.values)
        again = calibrate(idb, name, back)
        assert np.array_equal(np.asarray(again.values), np.asarray(eng.values)), name
        if eng.kind == "polynomial":
            assert np.array_equal(back, raw), name  # straight lines invert exactly
    assert kinds == {"curve", "polynomial", "textual", "raw"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_engineering_values_map_to_the_nearest_raw(idb_manager: IDBManager, data: st.DataObject) -> None:
    """Any engineering value maps to a raw value whose calibration is nearest among all raw values."""
    idb = idb_manager.get_idb(data.draw(st.sampled_from(VERSIONS)))
    curves = [
        n for n in ("NIXD0025", "NIXD0027", "NIXD0052", "NIXD0058", "NIXD0050", "NIX00078") if idb.get_parameter(n)
    ]
    name = data.draw(st.sampled_from(curves))
    info = idb.get_parameter(name)
    domain = np.arange(1 << info.width, dtype=np.int64)
    table = np.asarray(calibrate(idb, name, domain).values, dtype=np.float64)
    value = data.draw(st.floats(min_value=float(table.min()) - 50, max_value=float(table.max()) + 50))
    raw = int(to_raw(idb, name, [value])[0])
    best = np.abs(table - value).min()
    assert abs(table[raw] - value) == pytest.approx(best, abs=1e-9)
    # On an exact tie any of the nearest raws is right: the search (`nearest_raw`) takes the lowest,
    # the linear shortcut rounds the exact raw position half to even.


@pytest.mark.parametrize("version", ["2.26.32", "2.26.35"])
def test_linear_calibration_between_two_raws(idb_manager: IDBManager, version: str) -> None:
    """Between two neighbouring calibrated values the linear shortcut picks the nearer raw; midway, either."""
    idb = idb_manager.get_idb(version)
    info = idb.get_parameter("NIX00078")
    domain = np.arange(1 << info.width, dtype=np.int64)
    table = np.asarray(calibrate(idb, "NIX00078", domain).values, dtype=np.float64)
    low, step = table[:-1], np.diff(table)
    assert to_raw(idb, "NIX00078", low + 0.25 * step).tolist() == domain[:-1].tolist()
    assert to_raw(idb, "NIX00078", low + 0.75 * step).tolist() == domain[1:].tolist()
    middle = low + 0.5 * step
    assert (np.abs(table[:-1] - middle) == np.abs(table[1:] - middle)).sum() > 100  # exact ties (0.35: 437 or 438)
    assert np.isin(to_raw(idb, "NIX00078", middle) - domain[:-1], [0, 1]).all()


def test_textual_states_and_booleans(idb_manager: IDBManager) -> None:
    idb = idb_manager.get_idb("2.26.35")
    assert to_raw(idb, "NIXD0023", ["NOMINAL", "BOOT", "SAFE"]).tolist() == [5, 1, 2]
    assert to_raw(idb, "NIXD0069", [True, False]).tolist() == [1, 0]
    assert to_raw(idb, "NIXD0168", [17, "NO_OVERRUN"]).tolist() == [17, 0]  # raw kept by calibrate passes through
    with pytest.raises(CalibrationError, match="not a state"):
        to_raw(idb, "NIXD0023", ["PANIC"])


def test_temperatures_are_kelvin_and_rcr_stays_raw(idb_manager: IDBManager) -> None:
    idb = idb_manager.get_idb("2.26.35")
    raw = to_raw(idb, "NIXD0054", [273.15 - 37.0])
    assert calibrate(idb, "NIXD0054", raw).values[0] == pytest.approx(273.15 - 37.0, abs=0.2)
    assert to_raw(idb, "NIX00401", [3]).tolist() == [3]
    assert to_raw(idb, "NIX00405", [4.0]).tolist() == [40]  # injected 0.1 s polynomial


def test_nearest_raw_ties_and_out_of_range() -> None:
    domain = np.arange(6)
    calibrated = np.array([0.0, 1.0, 1.0, 3.0, 3.0, 2.0])
    assert nearest_raw(domain, calibrated, [1.0, 3.0, 2.5, -9.0, 99.0, 0.5]).tolist() == [1, 3, 3, 0, 3, 0]
