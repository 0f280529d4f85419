"""Compare every DATA and CONTROL value of a product with the reference product of the same type.

Rows are matched by time: DATA ``time`` is centiseconds from ``OBT_BEG``, so the absolute OBT of
a row is ``OBT_BEG + time / 100``; rows match within :data:`TIME_TOLERANCE` (1 ms). Only the
common time range is compared: every reference row inside the product's range must have its
row in the product and vice versa (``rows`` error otherwise); files without a common range are
not compared (``values-skipped`` info).

Per matched row pair every DATA column of the reference is compared with the product's column of
the same (current) name — integers and strings exactly, floats with relative tolerance
:data:`RTOL` (NaN equals NaN) — and so is every CONTROL column of the control rows the two DATA
rows refer to (provenance columns ``index``, ``raw_file``, ``packet``, ``parent`` excepted: they
name files and packets, not data). CONTROL order and ``control_index`` values may differ.

Documented differences between the V01 references and current products
(``docs/stixcore-differences.md``) apply only when the reference is V01 and the product is not:

* V01 ``<x>_err`` is ``<x>_comp_err``, science ``energy_bin_mask`` is ``energy_bin_edge_mask``;
* cal-energy: durations are ten times V01's (NIX00122 counts seconds, STIXCore #432), so a V01
  row's time becomes ``start + 10 * integration_time / 2``, ``integration_time`` compares ×10
  (V01's ``timedel`` holds whole seconds of the tenfold short duration: not compared),
  ``live_time`` ÷100 and ``quiet_time`` ÷1e5 (L1 unit fixes), and the counts per detector and
  pixel (V01 re-binned differently) compare as totals to 1 % (their errors are not compared);
* ql-spectra: V01 cut the entry stream into rows without aligning detectors; the totals of
  spectra and triggers are compared instead of rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from stix_lib.validate.report import FileReport
from stix_lib.validate.v01 import V01_RENAMES, V01_SCIENCE_RENAMES

#: Largest time difference of matching rows (s).
TIME_TOLERANCE = 1e-3
#: Relative tolerance of float values.
RTOL = 1e-6
#: CONTROL columns that name files and packets, not data.
PROVENANCE = frozenset({"index", "raw_file", "packet", "parent"})
_SKIP_DATA = frozenset({"time", "control_index"})

#: ``(descriptor, HDU, column) -> (function of the V01 value giving the current value, reason)``.
V01_VALUE_CHANGES: dict[tuple[str, str, str], tuple[Callable[[np.ndarray], np.ndarray], str]] = {
    ("cal-energy", "CONTROL", "integration_time"): (lambda v: v * 10, "duration in seconds (STIXCore #432)"),
    ("cal-energy", "CONTROL", "live_time"): (lambda v: np.rint(v / 100.0), "L1 unit fix: live time ms"),
    ("cal-energy", "CONTROL", "quiet_time"): (lambda v: v / 1e5, "L1 unit fix: quiet time us"),
}


@dataclass
class ValueStats:
    """What a value comparison covered."""

    rows_reference: int = 0
    rows_product: int = 0
    rows_matched: int = 0
    values: int = 0
    mismatches: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rows_reference": self.rows_reference,
            "rows_product": self.rows_product,
            "rows_matched": self.rows_matched,
            "values": self.values,
            "mismatches": self.mismatches,
        }


@dataclass
class _Table:
    header: fits.Header
    data: fits.FITS_rec
    control: fits.FITS_rec

    @classmethod
    def read(cls, path: Path) -> _Table:
        with fits.open(path, memmap=False) as hdul:
            return cls(hdul[0].header.copy(), hdul["DATA"].data.copy(), hdul["CONTROL"].data.copy())

    @property
    def v01(self) -> bool:
        return str(self.header.get("VERSION", "")).strip() == "01"

    def times(self) -> np.ndarray:
        return float(self.header["OBT_BEG"]) + np.asarray(self.data["time"], dtype=np.float64) / 100.0

    def control_rows(self) -> np.ndarray:
        """Row of CONTROL each DATA row refers to (-1 when the file lacks it)."""
        index = {int(i): n for n, i in enumerate(np.asarray(self.control["index"]).tolist())}
        return np.array([index.get(int(i), -1) for i in np.asarray(self.data["control_index"]).tolist()], dtype=int)


def _equal(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Element-wise equality per row (integers/strings exact, floats to ``RTOL``)."""
    if want.dtype.kind in "SUO" or got.dtype.kind in "SUO":
        same = np.char.strip(got.astype(str)) == np.char.strip(want.astype(str))
    elif want.dtype.kind == "f" or got.dtype.kind == "f":
        g, w = got.astype(np.float64), want.astype(np.float64)
        same = np.isclose(g, w, rtol=RTOL, atol=0.0) | (np.isnan(g) & np.isnan(w))
    else:
        same = got.astype(np.int64) == want.astype(np.int64) if got.dtype.kind != "b" else got == want
    return same.reshape(len(same), -1).all(axis=1) if same.ndim > 1 else same


def _match(ref: np.ndarray, ours: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``(ref row, product row)`` of equal times, and the unmatched rows inside the common range."""
    order_r, order_o = np.argsort(ref, kind="stable"), np.argsort(ours, kind="stable")
    r, o = ref[order_r], ours[order_o]
    low, high = max(r[0], o[0]) - TIME_TOLERANCE, min(r[-1], o[-1]) + TIME_TOLERANCE
    pairs_r, pairs_o = [], []
    j = 0
    used = np.zeros(len(o), dtype=bool)
    for i, t in enumerate(r):
        while j < len(o) and o[j] < t - TIME_TOLERANCE:
            j += 1
        k = j
        while k < len(o) and o[k] <= t + TIME_TOLERANCE and used[k]:
            k += 1
        if k < len(o) and abs(o[k] - t) <= TIME_TOLERANCE and not used[k]:
            used[k] = True
            pairs_r.append(order_r[i])
            pairs_o.append(order_o[k])
    paired = set(pairs_r)
    lone_r = [order_r[i] for i in range(len(r)) if low <= r[i] <= high and order_r[i] not in paired]
    lone_o = [order_o[k] for k in range(len(o)) if low <= o[k] <= high and not used[k]]
    return tuple(np.array(x, dtype=int) for x in (pairs_r, pairs_o, lone_r, lone_o))  # type: ignore[return-value]


def _name_map(descriptor: str, v01: bool) -> dict[str, str]:
    if not v01:
        return {}
    names = dict(V01_RENAMES)
    if descriptor.startswith("sci-"):
        names.update(V01_SCIENCE_RENAMES)
    return names


def _compare_column(
    report: FileReport, stats: ValueStats, where: str, want: np.ndarray, got: np.ndarray, rows: np.ndarray
) -> None:
    if not len(want):
        return
    if want.shape[1:] != got.shape[1:]:
        report.error("value-shape", f"{where}: shape {got.shape[1:]} differs from reference {want.shape[1:]}")
        stats.mismatches += len(want)
        return
    same = _equal(got, want)
    stats.values += int(np.prod(want.shape)) if want.size else 0
    if not same.all():
        bad = np.flatnonzero(~same)
        stats.mismatches += len(bad)
        first = int(bad[0])
        report.error(
            "value",
            f"{where}: {len(bad)} of {len(same)} row(s) differ, first at reference row {int(rows[first])}: "
            f"{np.asarray(got[first]).ravel()[:4].tolist()} != {np.asarray(want[first]).ravel()[:4].tolist()}",
        )


def compare_values(report: FileReport, product: Path, reference: Path, descriptor: str) -> ValueStats:
    """Compare the DATA/CONTROL values of ``product`` with ``reference`` (rules in the module docstring)."""
    stats = ValueStats()
    try:
        ours, ref = _Table.read(product), _Table.read(reference)
    except (OSError, KeyError, ValueError) as exc:
        report.error("values-unreadable", f"values not compared: {exc}")
        return stats
    stats.rows_reference, stats.rows_product = len(ref.data), len(ours.data)
    changed = ref.v01 and not ours.v01
    ref_t, our_t = ref.times(), ours.times()
    if changed and descriptor == "cal-energy":  # the centre of the ten times longer accumulation
        rows = ref.control_rows()
        duration = 10.0 * np.asarray(ref.control["integration_time"], dtype=np.float64)[rows]
        ref_t = ref_t - np.asarray(ref.data["timedel"], dtype=np.float64) / 200.0 + duration / 2.0
    if not len(ref_t) or not len(our_t) or our_t.max() < ref_t.min() - 1 or ref_t.max() < our_t.min() - 1:
        report.info("values-skipped", "values not compared: no common time range with the reference")
        return stats
    if changed and descriptor == "ql-spectra":
        for column in ("spectra", "triggers"):
            want_total = float(np.sum(ref.data[column], dtype=np.float64))
            got_total = float(np.sum(ours.data[column], dtype=np.float64))
            stats.values += 1
            if want_total != got_total:
                stats.mismatches += 1
                report.error("value", f"DATA.{column}: total {got_total:g} differs from reference {want_total:g}")
        report.info("expected-value-change", "ql-spectra: V01 rows are not detector-aligned; totals compared")
        return stats
    pairs_r, pairs_o, lone_r, lone_o = _match(ref_t, our_t)
    stats.rows_matched = len(pairs_r)
    if len(lone_r) or len(lone_o):
        report.error(
            "rows",
            f"DATA: {len(lone_r)} reference row(s) and {len(lone_o)} product row(s) in the common time range "
            "have no row at the same time (1 ms)",
        )
    names = _name_map(descriptor, ref.v01 and not ours.v01)
    for hdu, want_rows, got_rows, ref_table, our_table in (
        ("DATA", pairs_r, pairs_o, ref.data, ours.data),
        ("CONTROL", ref.control_rows()[pairs_r], ours.control_rows()[pairs_o], ref.control, ours.control),
    ):
        skip = _SKIP_DATA if hdu == "DATA" else PROVENANCE
        usable = (want_rows >= 0) & (got_rows >= 0)
        for column in ref_table.columns.names:
            name = names.get(column, column)
            if column in skip or name not in our_table.columns.names:
                continue  # missing columns are the layout check's errors
            want = np.asarray(ref_table[column])[want_rows[usable]]
            got = np.asarray(our_table[name])[got_rows[usable]]
            where = f"{hdu}.{name}"
            rule = V01_VALUE_CHANGES.get((descriptor, hdu, column)) if changed else None
            if rule is not None:
                want = rule[0](want.astype(np.float64))
                report.info("expected-value-change", f"{where}: {rule[1]}")
            if changed and descriptor == "cal-energy" and name == "timedel":
                report.info("expected-value-change", f"{where}: V01 whole seconds of 0.1 x the duration; see CONTROL")
                continue
            if changed and descriptor == "cal-energy" and name == "counts_comp_err":
                report.info("expected-value-change", f"{where}: V01 re-binning differs; not compared")
                continue
            if changed and descriptor == "cal-energy" and name == "counts":
                want, got = want.sum(axis=-1), got.sum(axis=-1)
                if not np.allclose(got, want, rtol=0.01, atol=100):
                    stats.mismatches += 1
                    report.error("value", f"{where}: totals per detector and pixel differ from reference by > 1 %")
                stats.values += int(want.size)
                report.info("expected-value-change", f"{where}: V01 re-binning differs; totals compared to 1 %")
                continue
            if changed and (column, name) == ("energy_bin_mask", "energy_bin_edge_mask"):
                got = got[..., : want.shape[-1]] if got.ndim > 1 else got
            _compare_column(report, stats, where, want, got, np.asarray(want_rows[usable]))
    return stats
