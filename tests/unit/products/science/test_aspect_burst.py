"""Simulated aspect bursts (scenario ``all``) -> LB -> sequences -> decoded samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from stix_lib.dev.simulate.science import aspect_burst
from stix_lib.dev.simulate.simulator import SimulationConfig, simulate
from stix_lib.lb.convert import tms_to_lb
from stix_lib.lb.fits_io import read_lb
from stix_lib.lb.product import LBProduct
from stix_lib.lb.request_sequences import request_sequences
from stix_lib.products.clock import NominalClock
from stix_lib.products.l0.packets import decode_lb_product
from stix_lib.products.l0.science import decode_aspect_burst
from stix_lib.products.science import ScienceOutput, write_science_file
from stix_lib.tm.headers import decode_headers


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
        dt = burst.control["summing_value"][0] * burst.control["averaging_value"][0] / 1000
        assert np.allclose(burst.timedel, np.round(dt * 65535) / 65535, rtol=0, atol=1e-9)  # SCET ticks
        # samples follow each other without gaps, also across the packet boundary
        assert np.allclose(np.diff(burst.time), burst.timedel[:-1], atol=1e-4)
        span = burst.time[-1] + burst.timedel[-1] - burst.time[0]
        length = (np.datetime64(request["end_utc"]) - np.datetime64(request["start_utc"])) / np.timedelta64(1, "s")
        assert abs(span - length) <= 1e-3
        assert burst.cha_diode0.dtype == np.uint16 and int(burst.cha_diode0.max()) > 0


def test_aspect_samples_are_centred_as_in_stixcore(sim_context, idb_manager, energy_channels, tmp_path: Path) -> None:
    """Issue 15 item 4: sample i at packet SCET + i * dt (ticks), the centre of its dt; first DATA time dt / 2."""
    specs, _ = aspect_burst(sim_context, 100.0, 60.0, 500.0)
    packets = sim_context.factory.encode_all(specs)
    n = len(packets)
    lb = LBProduct(21, 6, 42, decode_headers(packets), np.full(n, "sim.xml"), np.arange(n), packets)
    (batch,), errors = decode_lb_product(lb, idb_manager)
    assert errors == [] and n > 1
    # the expectation, straight from the packet fields
    dt = batch.scalar("NIX00088") * batch.scalar("NIX00490") / 1000.0
    samples = batch.scalar("NIX00089")
    packet = np.repeat(np.arange(n), samples)
    position = np.concatenate([np.arange(k) for k in samples])
    def to_ticks(seconds: np.ndarray) -> np.ndarray:  # SCET delta: whole seconds << 16 + round(65535 * rest)
        whole = np.trunc(seconds)
        return (whole.astype(np.int64) << 16) + np.round((seconds - whole) * 65535).astype(np.int64)

    dt_ticks = to_ticks(dt)
    ticks = (batch.scalar("NIX00445") << 16)[packet] + batch.scalar("NIX00446")[packet]
    ticks = ticks + to_ticks(position * dt[packet])
    times = (ticks >> 16) + (ticks & 0xFFFF) / 65535.0
    obt_beg = times[0] - (dt_ticks[0] // 2) / 65535.0
    burst = decode_aspect_burst(batch)
    assert np.allclose(burst.time, times, rtol=0, atol=1e-7)
    out = ScienceOutput(tmp_path, NominalClock(), energy_channels)
    l1, _ = write_science_file(burst, out, level="L1", idb_version=batch.version)
    l0, _ = write_science_file(burst, out, level="L0", idb_version=batch.version)
    for path in (l0, l1):
        header = fits.getheader(path)
        assert header["OBT_BEG"] == pytest.approx(obt_beg, abs=1e-6)
        assert header["OBT_END"] == pytest.approx(times[-1] + (dt_ticks[-1] // 2) / 65535.0, abs=1e-6)
    data = fits.getdata(l1, "DATA")
    assert data["time"].tolist() == np.rint((times - obt_beg) * 100).astype(int).tolist()
    assert data["time"][0] == round(dt[0] / 2 * 100) == 3  # 64 ms samples: the first at 32 ms
    assert data["timedel"].tolist() == np.rint(dt_ticks[packet] / 65535.0 * 100).astype(int).tolist()
    l0_time = fits.getdata(l0, "DATA")["time"]
    assert np.allclose(l0_time, times - obt_beg, atol=1e-5) and l0_time[0] == pytest.approx(dt[0] / 2, abs=1e-4)
