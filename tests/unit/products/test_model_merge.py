"""Column tables, canonical order, exact bin times and newest-wins merging."""

from __future__ import annotations

import numpy as np
import pytest

from stix_lib.products.catalogue import product_spec
from stix_lib.products.merge import combine, deduplicate, split_by_scet_day
from stix_lib.products.model import Product, bin_centres, merge_idb_versions, snap_times
from stix_lib.products.table import ColumnTable


def _product(times_k: list[int], values: list[float], *, coarse: int = 1000, packet: int = 0, raw: str = "a.xml"):
    """A light-curve-like product: one packet at ``coarse``, 4 s bins ``k``."""
    control = ColumnTable()
    control.add("scet_coarse", np.array([coarse], dtype=np.uint32))
    control.add("scet_fine", np.array([0], dtype=np.int64))
    control.add("index", np.array([0]))
    control.add("raw_file", np.array([raw]))
    control.add("packet", np.array([packet]))
    control.add("parent", np.array(["lb.fits"]))
    data = ColumnTable()
    k = np.asarray(times_k)
    data.add("control_index", np.zeros(len(k), dtype=np.int64))
    data.add("time", bin_centres(np.full(len(k), float(coarse)), k, np.full(len(k), 400)))
    data.add("timedel", np.full(len(k), 400), unit="cs")
    data.add("counts", np.asarray(values, dtype=np.float64).reshape(-1, 1), unit="ct", meta={"NIXS": "NIX00272"})
    return Product(product_spec(21, 6, 30), "L0", control, data, {"2.26.34": (float(coarse), float(coarse))})


def test_concatenate_fills_missing_columns_and_promotes() -> None:
    a = ColumnTable()
    a.add("x", np.array([1, 2], dtype=np.uint8))
    a.add("s", np.array(["a", "b"]))
    b = ColumnTable()
    b.add("x", np.array([300], dtype=np.uint16))
    b.add("s", np.array(["long text"]))
    b.add("extra", np.array([[7, 8]]))
    out = ColumnTable.concatenate([a, b])
    assert out.names == ["x", "s", "extra"]
    assert out["x"].tolist() == [1, 2, 300] and out["x"].dtype == np.uint16
    assert out["s"].tolist() == ["a", "b", "long text"]
    assert out["extra"].tolist() == [[0, 0], [0, 0], [7, 8]]


def test_times_are_exact_after_centisecond_round_trip() -> None:
    base = np.full(5, 628185012.0 + 52455 / 65535)
    k = np.arange(5)
    exact = bin_centres(base, k, np.full(5, 400))
    start = exact[0] - 2.0
    stored = np.rint((exact - start) * 100.0)  # what the file holds
    assert np.array_equal(snap_times(start + stored / 100.0, base, np.full(5, 400)), exact)
    hk = bin_centres(base, np.zeros(5), np.zeros(5))
    assert np.array_equal(hk, base)
    assert np.array_equal(snap_times(base + 0.004, base, np.zeros(5)), base)


def test_canonical_sorts_rows_and_renumbers_control() -> None:
    one = _product([2, 0, 1], [2, 0, 1])
    result = one.canonical()
    assert result.data["counts"].ravel().tolist() == [0, 1, 2]
    assert result.control["index"].tolist() == [0]


def test_newest_wins_on_equal_time_and_rows_are_sorted() -> None:
    old = _product([0, 1, 2], [10, 11, 12], packet=1, raw="old.xml")
    new = _product([2, 3], [22, 23], packet=2, raw="new.xml")
    merged = combine(new, old)
    assert merged.data["counts"].ravel().tolist() == [10, 11, 22, 23]
    assert merged.control["raw_file"].tolist() == ["old.xml", "new.xml"]
    assert merged.data["control_index"].tolist() == [0, 0, 1, 1]
    assert combine(old, new).data["counts"].ravel().tolist() == [10, 11, 12, 23]


def test_merge_drops_control_rows_that_lost_all_data() -> None:
    old = _product([0, 1], [1, 1], packet=1, raw="old.xml")
    new = _product([0, 1], [2, 2], packet=2, raw="new.xml")
    merged = combine(new, old)
    assert merged.control["raw_file"].tolist() == ["new.xml"]
    assert merged.same_content(new.canonical())


def test_merge_is_independent_of_grouping() -> None:
    parts = [_product([i], [i], packet=i, raw=f"{i}.xml") for i in range(5)]
    left = parts[0]
    for part in parts[1:]:
        left = combine(part, left)
    batch = combine(combine(parts[4], combine(parts[3], parts[2])), combine(parts[1], parts[0]))
    assert left.same_content(batch)


def test_deduplicate_keeps_first() -> None:
    product = _product([0, 0, 1], [5, 6, 7])
    assert deduplicate(product).data["counts"].ravel().tolist() == [5, 7]


def test_split_by_scet_day() -> None:
    product = _product(list(range(0, 3000, 500)), list(range(6)), coarse=86400 * 3 + 80000)
    parts = split_by_scet_day(product)
    assert [day for day, _ in parts] == [3, 4]
    assert sum(len(p) for _, p in parts) == 6
    assert all(p.control["index"].tolist() == [0] for _, p in parts)


def test_idb_version_ranges_are_united() -> None:
    merged = merge_idb_versions({"2.26.34": (10.0, 20.0)}, {"2.26.34": (5.0, 15.0), "2.26.35": (30.0, 40.0)})
    assert merged == {"2.26.34": (5.0, 20.0), "2.26.35": (30.0, 40.0)}


def test_combine_rejects_other_kinds() -> None:
    other = _product([0], [0])
    other.spec = product_spec(21, 6, 31)
    with pytest.raises(ValueError):
        combine(other, _product([0], [0]))
