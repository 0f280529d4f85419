"""Merging into existing daily files and their complete (published) twins."""

from __future__ import annotations

import numpy as np

from stix_lib.products.fits_io import read_product
from stix_lib.products.l0_l1_names import complete_name
from stix_lib.products.writer import ProductWriter


def _flarelist_rows(moc_l0: dict, rows: list[int], pald_offset: int = 0):
    product = moc_l0[(21, 6, 43)].with_rows(rows)
    product.data.replace_values("pald", product.data["pald"] + pald_offset)
    return product


def test_new_rows_merge_into_the_complete_twin(moc_l0: dict, writer: ProductWriter) -> None:
    (first,) = writer.write_l0(_flarelist_rows(moc_l0, [0]))
    published = first.path.with_name(complete_name(first.path.name))
    first.path.rename(published)  # what publishing does
    before = published.read_bytes()
    (second,) = writer.write_l0(_flarelist_rows(moc_l0, [1]))
    assert second.path == first.path and second.written
    merged = read_product(second.path)
    assert merged.data["pald"].tolist() == [4373, 4264]
    assert published.read_bytes() == before  # the complete twin is left as it is


def test_newest_wins_and_incomplete_twin_is_newer_than_complete(moc_l0: dict, writer: ProductWriter) -> None:
    (first,) = writer.write_l0(_flarelist_rows(moc_l0, [0, 1]))
    published = first.path.with_name(complete_name(first.path.name))
    first.path.rename(published)
    writer.write_l0(_flarelist_rows(moc_l0, [0], pald_offset=100))  # U file: row 0 newer
    (result,) = writer.write_l0(_flarelist_rows(moc_l0, [1], pald_offset=7))
    assert read_product(result.path).data["pald"].tolist() == [4373 + 100, 4264 + 7]


def test_identical_content_is_not_rewritten(moc_l0: dict, writer: ProductWriter) -> None:
    (first,) = writer.write_l0(moc_l0[(21, 6, 30)])
    stamp = first.path.stat().st_mtime_ns
    (again,) = writer.write_l0(moc_l0[(21, 6, 30)])
    assert not again.written and again.rows == 619
    assert first.path.stat().st_mtime_ns == stamp
    (subset,) = writer.write_l0(moc_l0[(21, 6, 30)].with_rows(np.arange(10)))  # old rows, nothing new
    assert not subset.written
