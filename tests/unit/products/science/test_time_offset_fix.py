"""BSD time/count offset fix of L1 (processing spec §4.3 step 2) on a synthetic request."""

from __future__ import annotations

import numpy as np

from stix_lib.products.l0.science import XrayRequest
from stix_lib.products.science import NOT_SHIFTED, SHIFTED, fix_time_offset


def request(timedel_cs: list[int]) -> XrayRequest:
    n = len(timedel_cs)
    timedel = np.asarray(timedel_cs, dtype=np.int64)
    start = 1000.0 + np.concatenate([[0.0], np.cumsum(timedel[:-1]) / 100.0])
    counts = np.zeros((n, 32, 12, 32), dtype=np.int64)
    counts[:, 0, 0, 0] = np.arange(1, n + 1)
    return XrayRequest(
        ssid=21,
        control={"request_id": 1, "tc_packet_seq_control": 2},
        time=start + timedel / 200.0,
        timedel=timedel,
        rcr=np.arange(n, dtype=np.int64),
        pixel_masks=np.ones((n, 12), dtype=np.uint8),
        detector_masks=np.ones((n, 32), dtype=np.uint8),
        triggers=np.zeros((n, 16), dtype=np.int64),
        triggers_var=np.zeros((n, 16)),
        counts=counts,
        counts_var=np.zeros(counts.shape),
        num_pixel_sets=np.full(n, 12, dtype=np.int64),
        num_energy_groups=np.ones(n, dtype=np.int64),
        energy_bin_edge_mask=np.ones(33, dtype=np.uint8),
    )


def test_minimum_integration_requests_are_shifted() -> None:
    before = request([100, 100, 200, 300, 100])
    fixed, history, comment = fix_time_offset(before, "2.26.34", np.datetime64("2021-01-01T00:00"))
    assert (history, comment) == (SHIFTED, "")
    assert fixed.timedel.tolist() == [100, 100, 200]  # timedel[1:-1] = timedel[:-2], ends dropped
    assert fixed.counts[:, 0, 0, 0].tolist() == [2, 3, 4] and fixed.rcr.tolist() == [1, 2, 3]
    assert np.array_equal(fixed.time, before.time[1:-1])  # the time column is not moved


def test_after_2021_09_06_the_minimum_is_half_a_second() -> None:
    late = np.datetime64("2022-01-01T00:00")
    assert fix_time_offset(request([100, 100, 100]), "2.26.35", late)[1:] == ("", NOT_SHIFTED)
    assert fix_time_offset(request([50, 100, 100]), "2.26.35", late)[1:] == (SHIFTED, "")


def test_no_fix_for_new_idb_or_single_bins() -> None:
    early = np.datetime64("2021-01-01T00:00")
    assert fix_time_offset(request([100, 100, 100]), "2.26.36", early)[1:] == ("", "")
    assert fix_time_offset(request([100]), "2.26.34", early)[1:] == ("", "")
    assert fix_time_offset(request([400, 400, 400]), "2.26.34", early)[1:] == ("", NOT_SHIFTED)
