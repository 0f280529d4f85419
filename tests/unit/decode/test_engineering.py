"""Raw -> engineering values, with the real hk-maxi L1 file as golden reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from stix_lib.decode import calibrate, decode_layout, evaluate_curve, get_layout
from stix_lib.decode.encoder import encode_packet
from stix_lib.decode.engineering import CalibrationError
from stix_lib.idb import IDB, CalibrationCurve

HK_MAXI = "solo_L1_stix-hk-maxi_20200501_V01.fits"


@pytest.fixture(scope="module")
def idb32(reference_data: Path) -> IDB:
    return IDB(reference_data / "idb" / "v2.26.32" / "idb.sqlite")  # the version of the reference file


@pytest.fixture(scope="module")
def hk_table(reference_data: Path) -> Table:
    return Table.read(reference_data / "reference" / "l1" / HK_MAXI, hdu="DATA")


def _reference_value(column: Table.Column) -> np.ndarray:
    data = np.asarray(column)
    return np.char.decode(data, "ascii") if data.dtype.kind == "S" else data


def _invert(idb: IDB, name: str, reference: np.ndarray) -> np.ndarray:
    """Integer raw values whose calibration is exactly the reference value."""
    width = idb.get_parameter(name).width
    candidates = np.arange(2**width)
    table = calibrate(idb, name, candidates).values
    lookup: dict = {}
    for raw, value in zip(candidates.tolist(), table.tolist(), strict=True):
        lookup.setdefault(value, raw)
    missing = sorted({v for v in reference.tolist() if v not in lookup}, key=str)
    assert not missing, f"{name}: no raw value calibrates exactly to {missing[:5]}"
    return np.array([lookup[v] for v in reference.tolist()], dtype=np.int64)


def test_golden_hk_maxi_calibration(idb32: IDB, hk_table: Table) -> None:
    """Invert every calibrated column to integer raw values, encode real HK packets from them,
    decode the packets and calibrate: every column must come back exactly."""
    layout = get_layout(idb32, 3, 25, 2)
    columns = {}
    for colname in hk_table.colnames:
        name = hk_table[colname].meta.get("NIXS")
        if isinstance(name, str) and name in layout.names:
            columns[colname] = name
    calibrated = {c: n for c, n in columns.items() if idb32.get_parameter(n).calibration_id}
    assert len(calibrated) >= 66  # 38 curves, cpu load polynomial and the textual/boolean ones
    raw = {}
    for colname, name in columns.items():
        reference = _reference_value(hk_table[colname])
        raw[name] = _invert(idb32, name, reference) if colname in calibrated else reference.astype(np.int64)
    n_rows = len(hk_table)
    packets = [
        encode_packet(layout, {name: int(values[i]) for name, values in raw.items()}, coarse=641000000 + i)
        for i in range(n_rows)
    ]
    assert {len(p) for p in packets} == {109}
    decoded = decode_layout(layout, packets)
    assert decoded.errors == [] and len(decoded) == n_rows
    curves = 0
    for colname, name in columns.items():
        reference = _reference_value(hk_table[colname])
        values = decoded.scalar(name)
        if colname not in calibrated:
            assert values.tolist() == reference.tolist(), colname
            continue
        result = calibrate(idb32, name, values)
        assert result.values.tolist() == reference.tolist(), colname  # exact, not approximate
        unit = hk_table[colname].unit
        if result.kind == "curve":
            curves += 1
            assert str(unit) == result.unit, colname
    assert curves == 38


def test_temperature_in_kelvin(idb32: IDB) -> None:
    result = calibrate(idb32, "NIXD0025", np.array([387, 4095]))
    assert result.unit == "K" and result.kind == "curve" and result.calibration_id == "CIXP0024TM"
    assert result.values.tolist() == pytest.approx([99.99 + 273.15, -62.2 + 273.15])


def test_curves_reproduce_support_points(idb32: IDB) -> None:
    for ident in ("CIXP0024TM", "CIXP0029TM", "CIXP0034TM"):
        curve = idb32.get_calibration_curve(ident)
        assert evaluate_curve(curve, curve.x) == pytest.approx(np.array(curve.y), abs=1e-3)


def test_two_point_curve_is_a_line_also_outside() -> None:
    curve = CalibrationCurve("X", (100.0, 200.0), (1.0, 3.0))
    assert evaluate_curve(curve, [0, 150, 300]).tolist() == [-1.0, 2.0, 5.0]
    with pytest.raises(CalibrationError):
        evaluate_curve(CalibrationCurve("Y", (1.0,), (2.0,)), [1])


def test_textual(idb32: IDB) -> None:
    assert calibrate(idb32, "NIXD0023", np.array([5, 2])).values.tolist() == ["NOMINAL", "SAFE"]
    flags = calibrate(idb32, "NIXD0066", np.array([0, 1]))
    assert flags.values.dtype == bool and flags.values.tolist() == [False, True]
    assert idb32.textual_interpret("CAAT0005TM", 0) == "Disconnected"
    unknown = calibrate(idb32, "NIXD0023", np.array([5, 13]))  # 13 has no text: kept raw
    assert unknown.values.tolist() == ["NOMINAL", 13]


def test_rcr_stays_raw(idb32: IDB) -> None:
    assert idb32.get_parameter("NIX00401").calibration_id == "CIXT0401TM"
    result = calibrate(idb32, "NIX00401", np.array([0, 3, 7]))
    assert result.kind == "raw" and result.values.tolist() == [0, 3, 7]
    assert calibrate(idb32, "NIX00276", np.array([2])).values.tolist() == [2]


def test_injected_polynomials(idb32: IDB) -> None:
    assert calibrate(idb32, "NIXD0002", np.array([0, 7])).values.tolist() == [0.0, 28.0]
    assert calibrate(idb32, "NIX00123", np.array([6])).values.tolist() == [6 / 65535]
    start = calibrate(idb32, "NIX00404", np.array([0, 10]))
    assert start.unit == "s" and start.values.tolist() == pytest.approx([0.1, 1.1])
    assert calibrate(idb32, "NIX00124", np.array([17514])).unit == "ms"


def test_uncalibrated_parameter_is_raw(idb32: IDB) -> None:
    result = calibrate(idb32, "NIX00445", np.array([5]))
    assert result.kind == "raw" and result.calibration_id is None and result.values.tolist() == [5]


def test_many_repeated_raw_values_calibrate_like_scipy_bit_for_bit(idb32: IDB) -> None:
    """Large arrays are calibrated on their distinct raw values: the result must be scipy's
    ``splev(raw, splrep(x, y))`` value for value, in the input's shape, whatever the range."""
    from scipy.interpolate import splev, splrep

    curve = idb32.get_calibration_curve("CIXP0024TM")
    truth = splrep(np.array(curve.x), np.array(curve.y))
    rng = np.random.default_rng(3)
    cases = [
        rng.integers(380, 420, size=(40, 5)),  # narrow range, many repeats, 2-D
        rng.integers(0, 4096, size=300).astype(np.uint16),
        np.array([-7, 5000, 9000, -7] * 20, dtype=np.int64),  # outside the support points
        rng.integers(0, 1 << 31, size=100),  # wide range: not counted
    ]
    for raw in cases:
        ours = evaluate_curve(curve, raw)
        theirs = np.asarray(splev(raw.astype(np.float64).ravel(), truth), dtype=np.float64).reshape(raw.shape)
        assert ours.shape == raw.shape
        assert ours.view(np.uint64).tolist() == theirs.view(np.uint64).tolist()


def test_counted_distinct_values_are_numpys_unique() -> None:
    from stix_lib.decode.engineering import _counted_distinct

    rng = np.random.default_rng(5)
    for flat in (
        rng.integers(-50, 50, 500),
        rng.integers(0, 256, 1000).astype(np.uint8),
        np.array([7], dtype=np.uint32),
        rng.integers(1000, 1010, 70).astype(np.int16),
    ):
        unique, inverse = _counted_distinct(flat)
        want_unique, want_inverse = np.unique(flat, return_inverse=True)
        assert unique.dtype == want_unique.dtype and unique.tolist() == want_unique.tolist()
        assert inverse.tolist() == want_inverse.tolist()
    assert _counted_distinct(np.array([0, 1 << 40])) is None  # wide range
    assert _counted_distinct(np.array([0.5, 1.5])) is None  # not integers
    assert _counted_distinct(np.zeros(0, dtype=np.int64)) is None
    assert _counted_distinct(np.array([2**63 + 1, 2**63 + 2] * 40, dtype=np.uint64)) is None  # beyond int64


def test_textual_many_values_with_an_unknown_one(idb32: IDB) -> None:
    raw = np.array([5, 2, 13] * 40).reshape(12, 10)
    values = calibrate(idb32, "NIXD0023", raw).values
    assert values.shape == (12, 10) and values.dtype == object
    assert values.ravel().tolist() == ["NOMINAL", "SAFE", 13] * 40
