"""The publish gate with real pipeline products: exactly one file per science request reaches SOAR.

Issue 17, item 3: L1 files of a run before any kernels existed (nominal clock, ``SPICE_MK`` empty,
``DATE-OBS`` and file name seconds off) and the correct files of the next run, with kernels, were
both delivered. Here both variants of every request are made by the real science writer into one
archive and published with the real publishing code to a local target, stixpy check included.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from astropy.io import fits

from stix_lib.conf.energy_channels import ScienceEnergyChannels
from stix_lib.db import connect
from stix_lib.dev.simulate.simulator import SimulationConfig, simulate
from stix_lib.dev.synthetic_kernels import KernelSetOptions, build_kernel_set
from stix_lib.idb.manager import IDBManager
from stix_lib.lb.convert import tms_to_lb
from stix_lib.products.clock import NominalClock, SpiceClock
from stix_lib.products.science import ScienceOutput, process_science_lb
from stix_lib.publish import LocalTransport, Outcome, PublishHistory, PublishOptions, SelectionFilters, publish
from stix_lib.publish.gate import DEFAULT_CHECKS, ProductGate
from stix_lib.publish.product_name import ProductName
from stix_lib.publish.publish_history import DeliveryStatus
from stix_lib.ridlut.table import RidLut
from stix_lib.spice import SpiceKernels


@pytest.fixture(scope="module")
def twin_archive(tmp_path_factory, reference_data: Path) -> Path:
    """L1 science files of one simulated flare, each request twice: nominal clock and SPICE kernels."""
    sim = tmp_path_factory.mktemp("gate-sim")
    result = simulate(
        SimulationConfig(start="2024-05-14T10:00:00", duration=3600.0, out_dir=sim,
                         idb_dir=reference_data / "idb", scenario="bsd", seed=3)
    )  # fmt: skip
    manifest = json.loads(result.manifest_path.read_text())
    lut = RidLut([{"unique_id": str(r["request_id"]), "scaling_factor": ""} for r in manifest["requests"]])
    idb = IDBManager(reference_data / "idb")
    lb_root = tmp_path_factory.mktemp("gate-lb")
    tms_to_lb(result.files, lb_root, idb)
    kernel_dir = tmp_path_factory.mktemp("gate-kernels")
    # the synthetic default SCLK *is* the nominal clock; a real clock drifts from it (0.01 ppm: ~8 s by 2024),
    # which is what gives the nominal-clock run other UTC names than the SPICE run
    drifting = KernelSetOptions(clock_drift_ppm=0.01)
    build_kernel_set(kernel_dir, "2024-05-01", "2024-06-01", "2024-05-20", options=drifting)
    kernels = SpiceKernels(kernel_dir, tmp_path_factory.mktemp("gate-spice-work"))
    channels = ScienceEnergyChannels(reference_data / "stix-conf")
    archive = tmp_path_factory.mktemp("gate-fits")
    nominal = ScienceOutput(archive, NominalClock(), channels, rid_lut=lut)  # the run before kernels existed
    spice = ScienceOutput(archive, SpiceClock(kernels), channels, rid_lut=lut, kernels=kernels)
    for out in (nominal, spice):
        for lb_path in sorted(lb_root.rglob("LB/21/6/2[01234]/*.fits")):
            done = process_science_lb(lb_path, out, idb, levels=("L1",))
            assert done.errors == []
    return archive


def _requests(paths) -> Counter:
    return Counter(ProductName.parse(Path(p).name).request for p in paths)


def test_one_file_per_request_reaches_soar(twin_archive: Path, tmp_path: Path) -> None:
    l1 = sorted(twin_archive.rglob("solo_L1_*.fits"))
    per_request = _requests(l1)
    assert per_request and set(per_request.values()) == {2}  # the archive: two variants per request
    target, engine = tmp_path / "soar", connect(f"sqlite:///{tmp_path / 'pipeline.sqlite'}")
    options = PublishOptions(
        fits_dir=twin_archive, conflicts_dir=tmp_path / "conflicts", waiting_period=timedelta(0),
        filters=SelectionFilters.from_strings("*", "*", "*"), work_dir=tmp_path, checks=DEFAULT_CHECKS,
    )  # fmt: skip
    report = publish(options, engine, LocalTransport(target))

    delivered = sorted(p.name for p in target.iterdir())
    assert not report.of(Outcome.ERROR), report.body()
    assert len(report.of(Outcome.PARKED)) == len(per_request), report.body()
    assert _requests(delivered) == Counter({request: 1 for request in per_request})
    for name in delivered:  # the delivered one is the file made with kernels
        assert fits.getheader(target / name)["SPICE_MK"].strip(), name
    parked = report.of(Outcome.PARKED)
    assert len(parked) == len(per_request)
    assert all("no SPICE kernels used (SPICE_MK empty)" in o.reason for o in parked)
    assert "PARKED by the publish gate" in report.body() and parked[0].name in report.body()
    history = PublishHistory(engine)
    assert sorted(r.name for r in history.parked()) == sorted(o.name for o in parked)
    assert all(r.status is DeliveryStatus.PARKED and r.error for r in history.parked())

    # the next run checks the parked files again and still does not deliver them
    again = publish(options, engine, LocalTransport(target))
    assert sorted(p.name for p in target.iterdir()) == delivered
    assert len(again.of(Outcome.PARKED)) == len(per_request) and not again.delivered


def test_two_valid_twins_block_each_other_and_a_delivered_twin_blocks_a_new_one(
    twin_archive: Path, tmp_path: Path
) -> None:
    good = [p for p in sorted(twin_archive.rglob("solo_L1_*.fits")) if fits.getheader(p)["SPICE_MK"].strip()][0]
    name = ProductName.parse(good.name)
    twin_tokens = list(name.tokens)
    twin_tokens[3] = twin_tokens[3][:-1] + ("0" if twin_tokens[3][-1] != "0" else "1")  # another DATE-OBS
    twin = good.with_name("_".join(twin_tokens) + ".fits")
    twin.write_bytes(good.read_bytes())
    try:
        gate = ProductGate(checks=())
        gate.index(twin_archive)
        reason = gate.conflict(good, name, lambda _name: None)
        assert reason is not None and twin.name in reason
        assert gate.conflict(twin, ProductName.parse(twin.name), lambda _name: None) is not None
    finally:
        twin.unlink()


def test_stixpy_check_parks_a_file_stixpy_cannot_read(tmp_path: Path) -> None:
    from stix_lib.publish.gate import stixpy_loads

    path = tmp_path / "solo_L1_stix-ql-lightcurve_20240514_V02.fits"
    fits.HDUList([fits.PrimaryHDU()]).writeto(path)
    reason = stixpy_loads(path, fits.getheader(path), ProductName.parse(path.name))
    assert reason is not None and reason.startswith("stixpy cannot load it")


def test_incomplete_request_is_parked(tmp_path: Path) -> None:
    from stix_lib.publish.gate import request_complete

    header = fits.Header([("COMPLETE", False)])
    name = ProductName.parse("solo_L1_stix-sci-xray-cpd_20240514T100000-20240514T100100_V02_2405140001-00001.fits")
    assert "incomplete" in request_complete(tmp_path / name.name, header, name)
    assert request_complete(tmp_path / name.name, fits.Header([("COMPLETE", True)]), name) is None
