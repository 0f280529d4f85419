"""Combining products (newest wins) and splitting them into daily parts.

:func:`combine` stacks a newer and an older product of the same kind: rows with the same merge
key (time rounded to centiseconds, plus the product's ``merge_columns``) are kept once, from the
newer product; the result is in canonical order (:meth:`Product.canonical`), so it depends only on
the set of rows and on which side is newer, not on the order rows arrived in. IDB version ranges
are united.

:func:`split_by_scet_day` (L0) and :func:`split_by_utc_day` (L1) cut a product into per-day parts
by the time of each DATA row; every part keeps only the control rows it uses and the full IDB
version table.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt

from stix_lib.products.l0_l1_names import SECONDS_PER_DAY
from stix_lib.products.model import Product, merge_idb_versions, time_keys
from stix_lib.products.table import ColumnTable


def _strictly_increasing(keys: list[np.ndarray]) -> bool:
    """True when the rows are already in strictly increasing key order (no two rows share a key)."""
    if any(key.ndim != 1 for key in keys):
        return False
    if len(keys) == 1:
        key = keys[0]
        return bool(np.all(key[1:] > key[:-1]))
    above = np.zeros(len(keys[0]) - 1, dtype=bool)  # decided: this row's key is above the previous one
    tied = np.ones(len(keys[0]) - 1, dtype=bool)  # undecided: equal in the keys seen so far
    for key in keys:
        later, earlier = key[1:], key[:-1]
        above |= tied & (later > earlier)
        tied &= later == earlier
    return bool(np.all(above))


def _first_of_each_key(keys: list[np.ndarray]) -> npt.NDArray[np.intp] | slice:
    """Row numbers (key-sorted) of the first row of every distinct key (stable: lowest row wins).

    Rows already in strictly increasing key order (the usual case) give ``slice(None)``: all, as
    they are.
    """
    count = len(keys[0])
    if not count:
        return np.zeros(0, dtype=np.intp)
    if _strictly_increasing(keys):
        return slice(None)
    order = np.lexsort(tuple(reversed(keys)))
    new_group = np.zeros(count, dtype=bool)
    new_group[0] = True
    for key in keys:
        sorted_key = key[order]
        if sorted_key.ndim > 1:
            differs = np.any(sorted_key[1:] != sorted_key[:-1], axis=tuple(range(1, sorted_key.ndim)))
        else:
            differs = sorted_key[1:] != sorted_key[:-1]
        new_group[1:] |= differs
    return order[new_group]


def deduplicate(product: Product) -> Product:
    """Keep the first row of every merge key; canonical order."""
    return product.with_rows(_first_of_each_key(product.merge_keys()))


def _row_bytes(table: ColumnTable, skip: str) -> np.ndarray:
    """One opaque byte row per table row (all columns but ``skip``), for equality tests."""
    parts = []
    for name, column in table.columns():
        if name == skip:
            continue
        values = np.ascontiguousarray(column.values)
        parts.append(values.reshape(len(values), -1).view(np.uint8).reshape(len(values), -1))
    return np.hstack(parts) if parts else np.zeros((len(table), 0), dtype=np.uint8)


def _control_keys(control: ColumnTable) -> np.ndarray:
    return np.asarray(control["scet_coarse"], dtype=np.int64) * 65536 + np.asarray(control["scet_fine"], dtype=np.int64)


def merge_identical_control(product: Product, candidates: np.ndarray | None = None) -> Product:
    """Map DATA rows of identical CONTROL rows (e.g. one packet known from two files) to one row.

    ``candidates``: boolean mask of the control rows that may have twins (default all).
    """
    control = product.control
    rows = np.flatnonzero(candidates) if candidates is not None else np.arange(len(control))
    if len(rows) < 2:
        return product
    matrix = _row_bytes(control.take(rows), "index")
    seen: dict[bytes, int] = {}
    twin_of = np.array([seen.setdefault(row.tobytes(), n) for n, row in enumerate(matrix)], dtype=np.int64)
    if len(seen) == len(rows):
        return product
    index = np.asarray(control["index"], dtype=np.int64)
    remap = np.full(int(index.max()) + 1, -1, dtype=np.int64)
    remap[index] = index
    remap[index[rows]] = index[rows[twin_of]]
    data = product.data.shallow_copy()
    data.replace_values("control_index", remap[np.asarray(data["control_index"], dtype=np.int64)])
    return Product(product.spec, product.level, control, data, dict(product.idb_versions))


#: Times (seconds) below which :func:`~stix_lib.products.model.time_keys` is monotonic (no int64 overflow).
_MONOTONIC_KEYS = 1e15


def _before(early: Product, late: Product) -> bool:
    """True when every merge-key time of ``early`` is below every one of ``late``."""
    if not len(early.data) or not len(late.data):
        return False
    last, first = float(np.max(early.time)), float(np.min(late.time))
    if abs(last) < _MONOTONIC_KEYS and abs(first) < _MONOTONIC_KEYS:  # False for NaN
        return bool(time_keys(last) < time_keys(first))  # the key is monotonic in the time here
    return bool(time_keys(early.time).max() < time_keys(late.time).min())


def _same_columns(a: Product, b: Product) -> bool:
    """Same column names, order, units, meta and descriptions in CONTROL and DATA."""
    for ta, tb in ((a.control, b.control), (a.data, b.data)):
        if ta.names != tb.names:
            return False
        for name in ta.names:
            ca, cb = ta.column(name), tb.column(name)
            try:
                if ca.unit != cb.unit or ca.description != cb.description or bool(ca.meta != cb.meta):
                    return False
            except (ValueError, TypeError):  # meta holding arrays: not comparable this way
                return False
    return True


def combine(newer: Product, older: Product) -> Product:
    """Merge ``older`` into ``newer``: newest row wins for equal keys (see the module docstring).

    Raises
    ------
    ValueError
        If the products are of different kinds or levels.
    """
    if newer.spec.key != older.spec.key or newer.level != older.level:
        raise ValueError(f"cannot combine {newer.spec.key} {newer.level} with {older.spec.key} {older.level}")
    shared = np.intersect1d(_control_keys(newer.control), _control_keys(older.control))
    first, second = newer, older
    if _before(older, newer) and _same_columns(newer, older):
        # disjoint in time: no row can win over another, so stacking them in time order gives the
        # same result, already in canonical order (the final row selection then copies nothing).
        # Control rows known to both (a packet whose bins cross the day boundary) are twins only
        # when byte-identical, so which of the two is kept does not change the result.
        first, second = older, newer
    offset = int(np.max(first.control["index"])) + 1 if len(first.control) else 0
    old_control = second.control.shallow_copy()
    old_data = second.data.shallow_copy()
    old_control.replace_values("index", np.asarray(old_control["index"], dtype=np.int64) + offset)
    old_data.replace_values("control_index", np.asarray(old_data["control_index"], dtype=np.int64) + offset)
    stacked = Product(
        newer.spec,
        newer.level,
        ColumnTable.concatenate([first.control, old_control]),
        ColumnTable.concatenate([first.data, old_data]),
        merge_idb_versions(newer.idb_versions, older.idb_versions),
    )
    if shared.size:  # the same packet may be known from both: only those rows can be twins
        stacked = merge_identical_control(stacked, np.isin(_control_keys(stacked.control), shared))
    return deduplicate(stacked)


def _parts(product: Product, labels: np.ndarray) -> list[tuple[object, Product]]:
    if not len(labels):
        return []
    if labels[0] == labels[-1] and np.all(labels == labels[0]):
        return [(labels[:1].tolist()[0], product)]
    if np.all(labels[1:] >= labels[:-1]):  # rows in time order: one slice per label
        bounds = np.concatenate([[0], np.flatnonzero(labels[1:] != labels[:-1]) + 1, [len(labels)]])
        return [
            (labels[a : a + 1].tolist()[0], product.with_rows(slice(a, b)))
            for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
        ]
    return [(label, product.with_rows(np.flatnonzero(labels == label))) for label in np.unique(labels).tolist()]


def split_by_scet_day(product: Product) -> list[tuple[int, Product]]:
    """Per SCET day (``floor(time / 86400)``) of each DATA row: ``(day, part)``."""
    days = np.floor(product.time / SECONDS_PER_DAY).astype(np.int64)
    return [(int(day), part) for day, part in _parts(product, days)]


def split_by_utc_day(product: Product, utc: npt.ArrayLike) -> list[tuple[date, Product]]:
    """Per UTC calendar day of each DATA row (``utc``: datetime64 of the bin centres, or their days)."""
    days = np.asarray(utc).astype("datetime64[D]", copy=False)
    return [
        (day if isinstance(day, date) else date.fromisoformat(str(day)), part) for day, part in _parts(product, days)
    ]
