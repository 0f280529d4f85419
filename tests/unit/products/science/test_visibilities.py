"""Simulated visibilities (scenario ``bsd``) -> LB -> decoded request."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stix_lib.dev.simulate.science import VISIBILITY_DETECTORS, VISIBILITY_GROUPS
from stix_lib.dev.simulate.simulator import SimulationConfig, simulate
from stix_lib.lb.convert import tms_to_lb
from stix_lib.lb.fits_io import read_lb
from stix_lib.lb.request_sequences import request_sequences
from stix_lib.products.l0.packets import decode_lb_product
from stix_lib.products.l0.science import decode_visibility_request


@pytest.fixture(scope="module")
def visibilities(tmp_path_factory, idb_dir: Path, idb_manager):
    out = tmp_path_factory.mktemp("sim-vis")
    config = SimulationConfig(
        start="2021-08-01T06:00:00", duration=3600.0, out_dir=out, idb_dir=idb_dir, scenario="bsd", seed=3
    )
    result = simulate(config)
    archive = tmp_path_factory.mktemp("sim-vis-lb")
    tms_to_lb(result.files, archive, idb_manager)
    (request,) = [r for r in json.loads(result.manifest_path.read_text())["requests"] if r["ssid"] == 23]
    (lb_path,) = archive.rglob("LB/21/6/23/*.fits")
    lb = read_lb(lb_path)
    report = request_sequences(lb.headers["sequence_flag"], lb.headers["sequence_count"], lb.key)
    assert report.incomplete == [] and len(report.complete) == 1
    (batch,), errors = decode_lb_product(lb, idb_manager)
    assert errors == []
    return request, decode_visibility_request(batch)


def test_visibility_bins(visibilities) -> None:
    request, vis = visibilities
    assert vis.control["request_id"] == request["request_id"]
    assert vis.control["tc_packet_seq_control"] == request["tc_sequence_control"]
    n_bins = len(vis.time)
    length = (np.datetime64(request["end_utc"]) - np.datetime64(request["start_utc"])) / np.timedelta64(10, "ms")
    assert int(vis.timedel.sum()) == int(length)  # the bins cover the request
    assert np.allclose(np.diff(vis.time), vis.timedel[:-1] / 100.0, atol=1e-3)
    groups, detectors = len(VISIBILITY_GROUPS), len(VISIBILITY_DETECTORS)
    assert vis.real.shape == vis.imaginary.shape == vis.detector_id.shape == (n_bins, groups, detectors)
    assert np.all(vis.detector_id == np.asarray(VISIBILITY_DETECTORS))
    assert vis.flux.shape == (n_bins, groups) and np.all(vis.flux > 0)
    assert np.any(vis.real != 0) and np.any(vis.imaginary != 0)
    assert vis.pixel_masks.shape == (n_bins, 5, 12) and vis.pixel_masks[0, 0].tolist() == [1] * 4 + [0] * 8
    assert vis.detector_masks.all() and set(np.unique(vis.rcr).tolist()) <= {0, 1, 2, 3}
    low = [lo for lo, _ in VISIBILITY_GROUPS]
    assert vis.energy_bin_edge_mask[low].all()
