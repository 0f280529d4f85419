"""IDB spline curves without ``scipy.interpolate``: bit for bit scipy's ``splev(v, splrep(x, y))``.

The truth is scipy itself, on every CAP curve with more than two points of every real IDB,
evaluated at every 16-bit raw value and at values outside the support points.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stix_lib.decode import spline
from stix_lib.idb import IDB

ROOT = Path(__file__).resolve().parents[3]


def _spline_curves(reference_data: Path) -> list[tuple[str, str]]:
    found = []
    for database in sorted((reference_data / "idb").glob("v*/idb.sqlite")):
        with sqlite3.connect(database) as connection:
            rows = connection.execute("SELECT CAP_NUMBR FROM CAP GROUP BY CAP_NUMBR HAVING COUNT(*) > 2").fetchall()
        found += [(database.parent.name.removeprefix("v"), ident) for (ident,) in rows]
    return found


def test_every_idb_spline_curve_is_scipys_bit_for_bit(reference_data: Path) -> None:
    from scipy.interpolate import splev, splrep

    assert spline.compiled_fitpack() is not None  # the fast path is the one compared
    curves = _spline_curves(reference_data)
    assert len(curves) >= 4
    values = np.concatenate([np.arange(65536, dtype=np.float64), [-1e5, -0.5, 0.25, 1e6]])
    for version, ident in curves:
        curve = IDB(reference_data / "idb" / f"v{version}" / "idb.sqlite").get_calibration_curve(ident)
        x, y = np.array(curve.x), np.array(curve.y)
        ours = spline.interpolating_spline(x, y, values)
        theirs = np.asarray(splev(values, splrep(x, y)), dtype=np.float64)
        assert ours.view(np.uint64).tolist() == theirs.view(np.uint64).tolist(), (version, ident)


def test_shape_and_scalar_values_follow_the_input() -> None:
    x, y = np.arange(6.0), np.arange(6.0) ** 2
    assert spline.interpolating_spline(x, y, np.zeros((2, 3))).shape == (2, 3)
    assert spline.interpolating_spline(x, y, 2.0).shape == ()
    assert float(spline.interpolating_spline(x, y, 2.0)) == pytest.approx(4.0)


def test_without_the_compiled_module_scipy_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = np.arange(6.0), np.arange(6.0) ** 3
    fast = spline.interpolating_spline(x, y, np.linspace(-1, 7, 50))
    monkeypatch.setattr(spline, "compiled_fitpack", lambda: None)
    assert spline.interpolating_spline(x, y, np.linspace(-1, 7, 50)).tolist() == fast.tolist()


def test_loading_fitpack_does_not_import_scipy_interpolate() -> None:
    code = (
        "import sys\nfrom stix_lib.decode.spline import interpolating_spline\n"
        "interpolating_spline([0, 1, 2, 3, 4], [0, 1, 4, 9, 16], [2.5])\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"
