"""Simulated aspect bursts (scenario ``all``) -> LB -> sequences -> decoded samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stix_lib.lb.convert import tms_to_lb
from stix_lib.lb.fits_io import read_lb
from stix_lib.lb.request_sequences import request_sequences
from stix_lib.products.l0.packets import decode_lb_product
from stix_lib.products.l0.science import decode_aspect_burst
from stix_lib.simulate.simulator import SimulationConfig, simulate


@pytest.fixture(scope="module")
def aspect(tmp_path_factory, idb_dir: Path, idb_manager):
    out = tmp_path_factory.mktemp("sim-all")
    config = SimulationConfig(
        start="2021-08-01T06:00:00", duration=3 * 3600.0, out_dir=out, idb_dir=idb_dir, scenario="all", seed=11
    )
    result = simulate(config)
    archive = tmp_path_factory.mktemp("sim-all-lb")
    tms_to_lb(result.files, archive, idb_manager)
    manifest = json.loads(result.manifest_path.read_text())
    (lb_path,) = archive.rglob("LB/21/6/42/*.fits")
    return [r for r in manifest["requests"] if r["ssid"] == 42], read_lb(lb_path)


def test_each_burst_is_one_sequence_of_contiguous_samples(aspect, idb_manager) -> None:
    expected, lb = aspect
    report = request_sequences(lb.headers["sequence_flag"], lb.headers["sequence_count"], lb.key)
    assert report.incomplete == [] and len(report.complete) == len(expected) == 2
    for sequence, request in zip(report.complete, expected, strict=True):
        (batch,), errors = decode_lb_product(lb.take(np.asarray(sequence.rows)), idb_manager)
        assert errors == [] and len(batch) == request["packets"]
        burst = decode_aspect_burst(batch)
        assert burst is not None and burst.request_id == request["request_id"]
        assert len(burst.time) == int(burst.control["samples"].sum())
        assert np.allclose(
            burst.timedel, burst.control["summing_value"][0] * burst.control["averaging_value"][0] / 1000
        )
        # samples follow each other without gaps, also across the packet boundary
        assert np.allclose(np.diff(burst.time), burst.timedel[:-1], atol=1e-4)
        span = burst.time[-1] + burst.timedel[-1] - burst.time[0]
        length = (np.datetime64(request["end_utc"]) - np.datetime64(request["start_utc"])) / np.timedelta64(1, "s")
        assert abs(span - length) <= 1e-3
        assert burst.cha_diode0.dtype == np.uint16 and int(burst.cha_diode0.max()) > 0
