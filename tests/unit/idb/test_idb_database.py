"""IDB queries against the real STIX IDB files (read-only, in memory)."""

from __future__ import annotations

import os
import pickle
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from stix_lib.idb import IDB

VERSIONS = ("2.26.32", "2.26.33", "2.26.34", "2.26.35")


@pytest.fixture(scope="module")
def idb_root(reference_data: Path) -> Path:
    return reference_data / "idb"


@pytest.fixture(scope="module")
def idb34(idb_root: Path) -> IDB:
    return IDB(idb_root / "v2.26.34" / "idb.sqlite")


@pytest.mark.parametrize("label", VERSIONS)
def test_version_row_matches_folder(idb_root: Path, label: str) -> None:
    idb = IDB(idb_root / f"v{label}" / "idb.sqlite")
    assert not idb.is_connected  # lazy
    assert idb.version == label
    assert idb.is_connected
    idb.close()
    assert not idb.is_connected


def test_file_is_never_modified(idb_root: Path) -> None:
    path = idb_root / "v2.26.33" / "idb.sqlite"
    before = (path.stat().st_mtime_ns, path.stat().st_size)
    idb = IDB(path)
    assert idb.get_parameter("NIX00405").calibration_id is not None  # injected in memory only
    idb.close()
    assert (path.stat().st_mtime_ns, path.stat().st_size) == before
    raw = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        assert raw.execute("SELECT PCF_CURTX FROM PCF WHERE PCF_NAME='NIX00405'").fetchone() == (None,)
    finally:
        raw.close()


def test_open_errors(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.Error):
        IDB(tmp_path).connect()  # a directory
    with pytest.raises(FileNotFoundError):
        IDB(tmp_path / "missing.sqlite").connect()
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(sqlite3.Error):
        IDB(junk).connect()


def test_pi1_position(idb34: IDB) -> None:
    assert idb34.get_packet_pi1_position(21, 6) == (16, 8)
    assert idb34.get_packet_pi1_position(3, 25) == (16, 8)
    assert idb34.get_packet_pi1_position(1, 1) is None
    assert idb34.get_packet_pi1_position(200, 200) is None


def test_packet_type_info(idb34: IDB) -> None:
    assert idb34.get_packet_type_info(6, 10) is not None
    assert idb34.get_packet_type_info(6, 10, 0) is not None
    assert idb34.get_packet_type_info(6, 10, 1) is None
    assert idb34.get_packet_type_info(0, 0) is None
    lc = idb34.get_packet_type_info(21, 6, 30)
    assert lc is not None and lc.spid == 54118 and lc.is_variable
    hk = idb34.get_packet_type_info(3, 25, 2)
    assert hk is not None and hk.spid == 54102 and not hk.is_variable


def test_parameter_lookup(idb34: IDB) -> None:
    assert idb34.get_parameter_description("NIX00354") == "Quadrant identification"
    assert idb34.get_parameter_description("NOPE") == ""
    assert idb34.get_s2k_parameter_type(10, 13) == "T"
    assert idb34.get_s2k_parameter_type(11, 18) is None
    p = idb34.get_parameter("NIX00283")
    assert p is not None and p.signed and p.width == 8


def test_static_structure_hk_maxi(idb34: IDB) -> None:
    entries = idb34.get_static_structure(3, 25, 2)
    by_name = {e.name: e for e in entries}
    assert by_name["NIX00020"].position == 16 * 8
    assert by_name["NIXD0025"].position == 18 * 8 and by_name["NIXD0025"].parameter.width == 12
    assert by_name["NIX00085"].position == 105 * 8 and by_name["NIX00085"].parameter.width == 32
    positions = [e.position for e in entries]
    assert positions == sorted(positions)


def test_variable_structure_ql_lightcurve(idb34: IDB) -> None:
    rows = idb34.get_variable_structure(21, 6, 30)
    names = [r.name for r in rows]
    assert names[:3] == ["NIX00120", "NIX00445", "NIX00446"]
    by_name = {r.name: r for r in rows}
    assert by_name["NIX00270"].group_size == 2
    assert by_name["NIX00271"].group_size == 1
    assert by_name["NIXD0407"].offset == -12
    assert [r.position for r in rows] == sorted(r.position for r in rows)


def test_injected_calibrations(idb34: IDB) -> None:
    expected = {
        "NIX00122": ("CIX01171TM", (0.0, 0.1), "s"),
        "NIX00405": ("CIX01172TM", (0.0, 0.1), "s"),
        "NIX00124": ("CIX01173TM", (0.0, 1.0), "ms"),
        "NIX00404": ("CIX01174TM", (0.1, 0.1), "s"),
        "NIX00123": ("CIX01175TM", (0.0, 1 / 65535), "s"),
        "NIXD0002": ("CIX01176TM", (0.0, 4.0), "%"),
    }
    for name, (ident, (a0, a1), unit) in expected.items():
        param = idb34.get_parameter(name)
        assert param is not None
        assert (param.calibration_id, param.category, param.unit) == (ident, "N", unit)
        poly = idb34.get_calibration_polynomial(ident)
        assert poly is not None and poly.coefficients[:2] == (a0, a1)
    assert idb34.get_parameter("NIX00269").calibration_id == "CIX01169TM"
    assert float(idb34.get_calibration_polynomial("CIX01176TM")(7)) == 28.0
    assert float(idb34.get_calibration_polynomial("CIX01175TM")(6)) == 6 / 65535


def test_existing_calibrations_untouched(idb34: IDB) -> None:
    assert idb34.get_parameter("NIXD0025").calibration_id == "CIXP0024TM"
    poly = idb34.get_calibration_polynomial("CIX00036TM")
    assert poly is not None and float(poly(1.0)) == poly.coefficients[1] == 0.000735043
    assert idb34.get_calibration_polynomial("CIX99999TM") is None


def test_calibration_curve(idb34: IDB) -> None:
    curve = idb34.get_calibration_curve("CIXP0024TM")
    assert curve.valid and len(curve.x) == 14
    assert list(curve.x) == sorted(curve.x)  # stored as unordered text, sorted numerically
    assert curve.x[0] == 387.0 and curve.y[0] == 99.99
    assert not idb34.get_calibration_curve("CIXP9999TM").valid


def test_textual(idb34: IDB) -> None:
    assert idb34.textual_interpret("CAAT0005TM", 0) == "Disconnected"
    assert idb34.textual_interpret("CAAT0005TM", 1) == "Connected"
    assert idb34.textual_interpret("CAAT0005TM", 7) is None
    # TXP_FROM/TO are TEXT: "17" > "1" and "17" < "255" also as strings, but "3" > "255" is not
    assert idb34.textual_interpret("CIXT0389TM", 3) == "SelectedConfig"
    assert idb34.textual_interpret("CIXT0389TM", 255) == "SelectedConfig"
    assert idb34.textual_interpret("CIXT0389TM", 0) == "ManualTransit"


def test_pickle_reopens(idb34: IDB) -> None:
    idb34.get_parameter("NIX00001")
    clone = pickle.loads(pickle.dumps(idb34))
    assert len(pickle.dumps(idb34)) < 500  # the path only, not the database
    assert not clone.is_connected
    assert clone.version == "2.26.34"
    assert clone.get_packet_pi1_position(21, 6) == (16, 8)


def test_cached_returns_same_object(idb34: IDB) -> None:
    first = idb34.get_variable_structure(21, 6, 31)
    assert idb34.get_variable_structure(21, 6, 31) is first
    made = []
    value = idb34.cached(("test", 1), lambda: made.append(1) or np.arange(3))
    again = idb34.cached(("test", 1), lambda: made.append(1) or np.arange(3))
    assert value is again and made == [1]
