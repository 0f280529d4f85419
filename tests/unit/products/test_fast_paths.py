"""Copy-free row selection, memoised header cards, atomic writes in parts, a failed flush."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from stix_lib.atomic import TEMP_SUFFIX, LatePart, atomic_write_parts, join_parts, remove_stale_temps
from stix_lib.fits import lock as fits_lock
from stix_lib.fits.cards import _format_card, format_card
from stix_lib.products.merge import combine
from stix_lib.products.table import ColumnTable, _as_slice
from stix_lib.products.writer import LOCK_FILE, ProductWriter


def _table(rows: int = 6) -> ColumnTable:
    table = ColumnTable()
    table.add("a", np.arange(rows), unit="s", meta={"NIXS": "X"})
    table.add("b", np.arange(rows * 2, dtype=np.float32).reshape(rows, 2))
    return table


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (np.arange(6), slice(0, 6)),
        (np.arange(2, 5), slice(2, 5)),
        (np.array([True, True, False, False, False, False]), slice(0, 2)),
        (np.array([0, 2]), None),
        (np.array([3, 2]), None),
        (np.array([-1, 0]), None),
        (np.array([4, 5, 6]), None),
        (np.zeros(0, dtype=np.intp), None),
    ],
)
def test_contiguous_rows_become_slices(rows: np.ndarray, expected: slice | None) -> None:
    result = _as_slice(rows, 6)
    if expected is None:
        assert result is rows
    else:
        assert result == expected


@pytest.mark.parametrize(
    "rows", [np.arange(6), np.arange(1, 4), np.array([5, 0, 3]), np.array([True, False] * 3), np.zeros(0, int)]
)
def test_take_same_result_as_fancy_indexing(rows: np.ndarray) -> None:
    table = _table()
    taken = table.take(rows)
    for name in table.names:
        np.testing.assert_array_equal(taken[name], table[name][rows])
        assert taken.column(name).meta == table.column(name).meta
        assert taken.column(name) is not table.column(name)


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("A", 1),
        ("A", True),
        ("A", np.int64(1)),
        ("A", "text"),
        ("A", 0.0),
        ("A", -0.0),
        ("A", 1.0),
        ("A", ""),
        ("A", 1e-300),
        ("A", 149597870700.12),
        ("A", np.float32(0.1)),
        ("LONGNAME9", 2.5),  # no fixed-format card: astropy's
        ("COMMENT", 1.5),  # a value card, not commentary
    ],
)
@pytest.mark.filterwarnings("ignore:Keyword name")  # astropy on the HIERARCH card of LONGNAME9
def test_memoised_cards_equal_fresh_ones(keyword: str, value: object) -> None:
    for _ in range(2):  # second call from the memo
        assert format_card(keyword, value, "c") == _format_card(keyword, value, "c")


def test_atomic_write_parts_and_stale_temps(tmp_path: Path) -> None:
    target = tmp_path / "new" / "file.fits"
    atomic_write_parts(target, [b"ab", bytearray(b"cd"), memoryview(np.arange(2, dtype=np.uint8))])
    assert target.read_bytes() == b"abcd\x00\x01"
    assert target.stat().st_mode & 0o777 == 0o644
    stale = target.parent / f".{target.name}.x{TEMP_SUFFIX}"
    stale.write_bytes(b"half")
    other = target.parent / f".other.fits.x{TEMP_SUFFIX}"
    other.write_bytes(b"half")
    assert remove_stale_temps(target) == 1
    assert not stale.exists() and other.exists()
    assert remove_stale_temps(tmp_path / "missing" / "file.fits") == 0


def test_atomic_write_parts_fills_late_parts(tmp_path: Path) -> None:
    """A late part is written after the parts behind it were made, in its place."""
    made: list[str] = []

    def parts():
        yield b"ab"
        yield LatePart(3, lambda: made.append("late") or b"XYZ")
        for piece in (b"cd", b"ef"):
            made.append(piece.decode())
            yield piece

    target = tmp_path / "file.fits"
    atomic_write_parts(target, parts())
    assert target.read_bytes() == b"abXYZcdef" and made == ["cd", "ef", "late"]
    assert join_parts([b"a", LatePart(1, lambda: b"b"), b"c"]) == b"abc"
    with pytest.raises(ValueError, match="late part of 2 bytes"):
        atomic_write_parts(tmp_path / "bad.fits", [LatePart(2, lambda: b"x")])
    assert not (tmp_path / "bad.fits").exists() and not list(tmp_path.glob(f"*{TEMP_SUFFIX}"))


def test_failed_flush_leaves_the_file_as_it_was_and_frees_the_folder(
    moc_l0: dict, writer: ProductWriter, monkeypatch
) -> None:
    """A flush that fails (disk error) raises to the caller; the previous file, no temporary file,
    and a free folder lock are left behind; the next write goes through."""
    (first,) = writer.write_l0(moc_l0[(21, 6, 43)])
    before = first.path.read_bytes()
    changed = moc_l0[(21, 6, 43)].with_rows([1])
    changed.data.replace_values("pald", changed.data["pald"] + 1)

    def broken(*args, **kwargs):
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="I/O error"):
        writer.write_l0(changed)
    assert first.path.read_bytes() == before
    assert sorted(p.name for p in first.path.parent.iterdir()) == [".products.lock", first.path.name]
    fits_lock.unlock(fits_lock.lock_folder(first.path.parent, LOCK_FILE, wait=False))  # free (no hang)
    monkeypatch.undo()
    (retry,) = writer.write_l0(changed)
    assert retry.written and retry.path.read_bytes() != before


@pytest.mark.parametrize("key", [(21, 6, 30), (21, 6, 43)])
def test_combine_of_disjoint_products_in_either_role(moc_l0: dict, key: tuple) -> None:
    """Stacking disjoint products in time order (the fast path) gives the general result."""
    product = moc_l0[key]
    rows = len(product)
    if rows < 2:
        pytest.skip("needs two rows")
    early, late = product.with_rows(np.arange(rows // 2)), product.with_rows(np.arange(rows // 2, rows))
    fast = combine(late, early)  # older before newer: stacked in time order
    general = combine(early, late)
    assert fast.same_content(general) and fast.same_content(product.canonical())
    for name in fast.data.names:
        assert fast.data[name].dtype == general.data[name].dtype


@pytest.mark.parametrize(
    "values",
    [
        np.array(["On", "Off", ""]),
        np.zeros(2, "U9"),
        np.array([["a", "bc"], ["d", ""]]),
        np.array([1, "x"], dtype=object),
    ],
)
def test_text_of_calibrated_values_is_str_of_each(values: np.ndarray) -> None:
    from stix_lib.products.l1 import _as_text

    expected = np.asarray([str(v) for v in values.ravel()], dtype=str).reshape(values.shape)
    ours = _as_text(values)
    assert ours.dtype == expected.dtype
    assert ours.tolist() == expected.tolist()


@pytest.mark.parametrize("twins", [True, False])
def test_combine_of_parts_sharing_a_packet_in_either_role(moc_l0: dict, twins: bool) -> None:
    """Parts cut inside a packet share its control row: identical rows become one, others stay two."""
    product = moc_l0[(21, 6, 30)]
    cut = len(product) // 2
    early, late = product.with_rows(np.arange(cut)), product.with_rows(np.arange(cut, len(product)))
    shared = early.control["scet_coarse"][-1] == late.control["scet_coarse"][0]
    assert shared  # the cut lies inside a packet: the case under test
    if not twins:  # e.g. L1 parts of two L0 files: the control rows differ in their parent
        for part, name in ((early, "a.fits"), (late, "b.fits")):
            part.control.add("parent", np.full(len(part.control), name))
    fast = combine(late, early)  # older before newer: stacked in time order
    general = combine(early, late)
    assert fast.same_content(general)
    assert len(fast.control) == len(product.control) + (0 if twins else 1)
    if twins:
        assert fast.same_content(product.canonical())
    for table in ("control", "data"):
        for name in getattr(fast, table).names:
            assert getattr(fast, table)[name].dtype == getattr(general, table)[name].dtype
