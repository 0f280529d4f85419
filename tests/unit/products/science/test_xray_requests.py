"""Reference rpd/cpd/scpd L1 -> simulated TM -> LB -> decoded requests: the reference values come back."""

from __future__ import annotations

import numpy as np
import pytest

TOTALS = {"sci-xray-rpd": 19086, "sci-xray-cpd": 19078, "sci-xray-scpd": 19079}
SSIDS = {"sci-xray-rpd": 20, "sci-xray-cpd": 21, "sci-xray-scpd": 22}


@pytest.mark.parametrize("name", sorted(TOTALS))
def test_reference_request_values_come_back(name: str, references, requests) -> None:
    reference = references[name]
    request = requests[SSIDS[name]]
    data = reference.data
    assert request.counts.sum() == TOTALS[name] == int(np.asarray(data["counts"]).sum())
    assert np.array_equal(request.counts, np.asarray(data["counts"], dtype=np.int64))
    assert np.array_equal(request.triggers, np.asarray(data["triggers"], dtype=np.int64))
    assert np.array_equal(request.rcr, np.asarray(data["rcr"], dtype=np.int64))
    assert np.array_equal(request.detector_masks, np.asarray(data["detector_masks"]))
    assert np.array_equal(request.pixel_masks, np.asarray(data["pixel_masks"]))
    centres = reference.bin_start_times() + reference.bin_widths() / 2.0
    assert np.max(np.abs(request.time - centres)) <= 1e-3
    assert np.array_equal(request.timedel, np.asarray(data["timedel"], dtype=np.int64))
    control = reference.control[0]
    assert request.control["request_id"] == int(control["request_id"])
    assert request.control["tc_packet_seq_control"] == int(control["tc_packet_seq_control"])
    assert abs(request.control["time_stamp"] - float(control["time_stamp"])) <= 1e-3
    used = np.flatnonzero(np.asarray(data["counts"]).sum(axis=(0, 1, 2)))
    assert set(np.flatnonzero(request.energy_bin_edge_mask[:32]).tolist()) >= set(used.tolist())
    if SSIDS[name] != 20:
        assert np.array_equal(request.num_pixel_sets, np.asarray(data["num_pixel_sets"], dtype=np.int64))
        assert np.array_equal(
            request.control["compression_scheme_triggers_skm"], np.asarray(control["compression_scheme_triggers_skm"])
        )
        assert not request.datawarn and request.comments == []
