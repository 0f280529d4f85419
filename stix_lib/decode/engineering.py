"""Raw -> engineering values with the IDB calibrations (vectorised).

For a parameter with a calibration id (``PCF_CURTX``):

* category ``S`` (textual): each raw value maps to the ``TXP_ALTXT`` of the range
  ``TXP_FROM <= raw <= TXP_TO`` (compared as numbers); ``"True"``/``"False"`` become booleans. A raw
  value without a range is logged and kept raw.
* category ``N``: ids starting ``CIXP`` are curves (``CAP``): two points -> straight line through
  them (also outside), more points -> cubic interpolating spline (``scipy.interpolate.splrep`` /
  ``splev``, :mod:`stix_lib.decode.spline`); fewer than two points -> invalid. Other ids are polynomials (``MCF``).
* RCR parameters (``NIX00276``, ``NIX00401``) always keep their raw value.
* Units: ``PCF_UNIT``; ``"S"`` means seconds; ``degC`` values are converted to kelvin (+273.15).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stix_lib.decode.spline import interpolating_spline
from stix_lib.idb.database import IDB
from stix_lib.idb.records import CalibrationCurve

log = logging.getLogger(__name__)

#: Parameters that keep their raw value even though the IDB calibrates them.
RAW_ONLY_PARAMETERS = frozenset({"NIX00276", "NIX00401"})

ZERO_CELSIUS_IN_KELVIN = 273.15


class CalibrationError(ValueError):
    """A calibration cannot be applied (unknown category, invalid curve or polynomial)."""


@dataclass
class EngineeringValues:
    """Engineering values of one parameter.

    Attributes
    ----------
    values
        float64 (numeric), str / bool (textual; object when some raw values had no text), or the
        raw values unchanged (``kind == "raw"``).
    unit
        Unit string (``None`` when unitless); ``"K"`` after the Celsius conversion.
    calibration_id
        The ``PCF_CURTX`` used (``None`` for raw parameters).
    kind
        ``"polynomial"``, ``"curve"``, ``"textual"`` or ``"raw"``.
    """

    values: np.ndarray
    unit: str | None
    calibration_id: str | None
    kind: str


def evaluate_curve(curve: CalibrationCurve, raw: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Evaluate a CAP curve: straight line for two points, cubic spline for more.

    Raises
    ------
    CalibrationError
        For curves with fewer than two points.
    """
    x = np.asarray(curve.x, dtype=np.float64)
    y = np.asarray(curve.y, dtype=np.float64)
    if len(x) < 2:
        raise CalibrationError(f"calibration curve {curve.ident} has {len(x)} point(s)")
    if len(x) == 2:
        slope = (y[1] - y[0]) / (x[1] - x[0])
        return y[0] + slope * (np.asarray(raw, dtype=np.float64) - x[0])
    raw_array = np.asarray(raw)
    if raw_array.size >= _DISTINCT_MIN_SIZE:  # repeated raw values: evaluate each distinct one once
        counted = _counted_distinct(raw_array.ravel())
        if counted is not None:
            unique, inverse = counted
            distinct = interpolating_spline(x, y, unique.astype(np.float64))
            return distinct.take(inverse).reshape(raw_array.shape)
    return interpolating_spline(x, y, np.asarray(raw_array, dtype=np.float64))


#: Widest range of integer raw values whose distinct values are found by counting rather than
#: sorting (wider ranges are counted when the array has at least as many values).
_COUNTING_RANGE = 4096

#: Arrays from this size on are calibrated on their distinct raw values only (splines).
_DISTINCT_MIN_SIZE = 64


def _counted_distinct(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``np.unique(flat, return_inverse=True)`` of 1-D integers in a narrow range, by counting
    (``None`` when ``flat`` is not such an array)."""
    if flat.dtype.kind not in "iu" or not len(flat):
        return None
    low, high = int(flat.min()), int(flat.max())
    if high > np.iinfo(np.int64).max or high - low >= max(_COUNTING_RANGE, len(flat)):
        return None
    shifted = flat.astype(np.int64) - low if low else flat.astype(np.int64, copy=False)
    present = np.bincount(shifted, minlength=high - low + 1) > 0
    unique = (np.flatnonzero(present) + low).astype(flat.dtype)
    return unique, (np.cumsum(present) - 1).take(shifted)


def _textual(idb: IDB, name: str, ident: str, raw: np.ndarray) -> np.ndarray:
    ranges = idb.get_textual_calibration(ident)
    flat = np.asarray(raw).ravel()
    counted = _counted_distinct(flat)
    unique, inverse = counted if counted is not None else np.unique(flat, return_inverse=True)
    texts: list[str | None] = []
    for value in unique.tolist():
        text = next((r.text for r in ranges if r.low <= value <= r.high), None)
        texts.append(text)
    missing = [v for v, t in zip(unique.tolist(), texts, strict=True) if t is None]
    if missing:
        log.error("IDB %s: no text for raw value(s) %s of %s (%s); keeping raw", idb.version, missing, name, ident)
    present = [t for t in texts if t is not None]
    if present and all(t in ("True", "False") for t in present) and not missing:
        table = np.array([t == "True" for t in texts], dtype=bool)
    elif not missing:
        table = np.array(texts, dtype=str)
    else:
        table = np.array([t if t is not None else v for v, t in zip(unique.tolist(), texts, strict=True)], dtype=object)
    return table.take(inverse).reshape(np.shape(raw))


def calibrate(idb: IDB, name: str, raw: npt.ArrayLike) -> EngineeringValues:
    """Convert raw values of parameter ``name`` to engineering values.

    Parameters
    ----------
    idb
        The IDB the raw values were decoded with.
    name
        Parameter name.
    raw
        Raw values (any shape).

    Raises
    ------
    CalibrationError
        Unknown calibration category or invalid curve/polynomial.
    """
    raw_array = np.asarray(raw)
    info = idb.get_parameter(name)
    if info is None or info.calibration_id is None or name in RAW_ONLY_PARAMETERS:
        return EngineeringValues(raw_array, None if info is None else info.unit, None, "raw")
    ident = info.calibration_id
    unit = "s" if info.unit == "S" else info.unit
    if info.category == "S":
        return EngineeringValues(_textual(idb, name, ident, raw_array), unit, ident, "textual")
    if info.category != "N":
        raise CalibrationError(f"parameter {name}: unsupported calibration category {info.category!r}")
    if ident.startswith("CIXP"):
        values = evaluate_curve(idb.get_calibration_curve(ident), raw_array)
        kind = "curve"
    else:
        poly = idb.get_calibration_polynomial(ident)
        if poly is None:
            raise CalibrationError(f"parameter {name}: polynomial {ident} missing or invalid")
        values = poly(raw_array)
        kind = "polynomial"
    if unit == "degC":
        values = values + ZERO_CELSIUS_IN_KELVIN
        unit = "K"
    return EngineeringValues(np.asarray(values, dtype=np.float64), unit, ident, kind)
