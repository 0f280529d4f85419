"""Cubic interpolating splines of IDB calibration curves with scipy's FITPACK, without ``scipy.interpolate``.

``scipy.interpolate.splrep`` / ``splev`` are thin Python wrappers around FITPACK's ``curfit`` and
``splev`` (the compiled ``scipy.interpolate._dfitpack``), but importing ``scipy.interpolate`` costs
about 0.45 s of CPU (it imports scipy.special, linalg, sparse, optimize...), which every Airflow
LB -> L1 task paid for a few engineering values. This module loads only the compiled FITPACK
module and calls it exactly as those wrappers do, so the values are bit for bit scipy's (same
code, same arguments; ``tests/unit/decode/test_spline.py`` compares them). When that module cannot
be loaded on its own (another scipy layout) or FITPACK reports a problem, scipy's own functions
run instead, with their warnings and errors.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt

_MODULE = "scipy.interpolate._dfitpack"


@functools.cache
def compiled_fitpack() -> ModuleType | None:
    """scipy's compiled FITPACK module, loaded without its package (``None`` when not found)."""
    if _MODULE in sys.modules:
        return sys.modules[_MODULE]
    scipy = importlib.util.find_spec("scipy")
    if scipy is None or not scipy.submodule_search_locations:
        return None
    for folder in scipy.submodule_search_locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / "interpolate" / f"_dfitpack{suffix}"
            if not path.is_file():
                continue
            loader = importlib.machinery.ExtensionFileLoader("_dfitpack", str(path))
            spec = importlib.util.spec_from_file_location("_dfitpack", path, loader=loader)
            if spec is None:
                return None
            module = importlib.util.module_from_spec(spec)
            try:
                loader.exec_module(module)
            except ImportError:
                return None
            return module if hasattr(module, "curfit") and hasattr(module, "splev") else None
    return None


def _scipy_spline(x: np.ndarray, y: np.ndarray, values: np.ndarray) -> np.ndarray:
    from scipy.interpolate import splev, splrep

    return np.asarray(splev(values, splrep(x, y)), dtype=np.float64)


@functools.lru_cache(maxsize=1024)
def _fitted(x_bytes: bytes, y_bytes: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """Knots and coefficients of the cubic interpolating spline through the float64 points
    ``x_bytes``/``y_bytes`` (``curfit`` as ``splrep`` calls it); ``None`` when FITPACK reports a problem.

    Memoised: a run evaluates the same few IDB curves for every product (the arrays are read-only).
    """
    fitpack = compiled_fitpack()
    if fitpack is None:  # scipy's own functions run instead
        return None
    x, y = np.frombuffer(x_bytes, dtype=np.float64), np.frombuffer(y_bytes, dtype=np.float64)
    k, m = 3, len(x)
    nest = max(m + k + 1, 2 * k + 3)
    knots = np.empty(nest, float)
    work = np.empty(m * (k + 1) + nest * (7 + 3 * k), float)
    iwork = np.empty(nest, fitpack.types.intvar.dtype)
    n, coefficients, _, ier = fitpack.curfit(0, x, y, np.ones(m, float), knots, work, iwork, x[0], x[-1], k, 0.0)
    if ier > 0:
        return None
    fit = knots[:n].copy(), np.array(coefficients[:n], dtype=np.float64)
    for table in fit:
        table.flags.writeable = False
    return fit


def interpolating_spline(x: npt.ArrayLike, y: npt.ArrayLike, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``splev(values, splrep(x, y))``: the cubic spline through the points ``(x, y)`` at ``values``.

    Same defaults as scipy's (unit weights, smoothing 0, degree 3, extrapolation beyond the
    points); ``values`` of any shape. The fit of each distinct curve is computed once per process.
    """
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    y = np.atleast_1d(np.asarray(y, dtype=np.float64))
    values = np.asarray(values, dtype=np.float64)
    fitpack = compiled_fitpack()
    if fitpack is None or len(x) <= 3 or len(y) != len(x):
        return _scipy_spline(x, y, values)
    fit = _fitted(x.tobytes(), y.tobytes())
    if fit is None:
        return _scipy_spline(x, y, values)
    result, ier = fitpack.splev(fit[0], fit[1], 3, np.atleast_1d(values).ravel(), 0)
    if ier:
        return _scipy_spline(x, y, values)
    return np.asarray(result, dtype=np.float64).reshape(values.shape)
