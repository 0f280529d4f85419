"""Merging the per-iteration chunks of a parameter back into stream order."""

from __future__ import annotations

import numpy as np
import pytest

from stix_lib.decode.decoder import _stream_order_single_node


def _reference(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    pkt = np.concatenate([p[0] for p in parts])
    vals = np.concatenate([p[2] for p in parts])
    order = np.argsort(pkt, kind="stable")
    return pkt[order], vals[order]


@pytest.mark.parametrize("sorted_chunks", [True, False])
@pytest.mark.parametrize("seed", range(5))
def test_counting_merge_equals_stable_sort(seed: int, sorted_chunks: bool) -> None:
    rng = np.random.default_rng(seed)
    count = 20
    parts = []
    for _ in range(int(rng.integers(2, 5))):
        pkt = rng.integers(0, count, int(rng.integers(1, 200)))
        pkt = np.sort(pkt) if sorted_chunks else pkt
        parts.append((pkt.astype(np.int64), np.zeros(len(pkt), np.int64), rng.integers(0, 255, len(pkt))))
    pkt, vals = _stream_order_single_node(parts, count)
    ref_pkt, ref_vals = _reference(parts)
    np.testing.assert_array_equal(pkt, ref_pkt)
    np.testing.assert_array_equal(vals, ref_vals)
    assert vals.dtype == ref_vals.dtype and pkt.dtype == ref_pkt.dtype
