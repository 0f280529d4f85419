"""Fixtures of the science (BSD request) tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from stix_lib.idb.manager import IDBManager
from stix_lib.lb.convert import tms_to_lb
from stix_lib.lb.fits_io import read_lb
from stix_lib.lb.request_sequences import request_sequences
from stix_lib.products.l0.packets import decode_lb_product
from stix_lib.products.l0.science import XrayRequest, decode_xray_request
from stix_lib.simulate.context import SimulationContext
from stix_lib.simulate.packets import PacketFactory
from stix_lib.simulate.physics import Flare, build_day_model
from stix_lib.simulate.reference import encode_reference
from stix_lib.simulate.reference_io import ReferenceProduct, read_product
from stix_lib.simulate.timebase import FINE_PER_SECOND, utc_to_scet


@pytest.fixture(scope="session")
def references(reference_data: Path) -> dict[str, ReferenceProduct]:
    """The reference rpd/cpd/scpd L1 products by name."""
    paths = sorted((reference_data / "reference" / "l1").glob("solo_L1_stix-sci-xray-*pd_*.fits"))
    return {p.name: p for p in map(read_product, paths)}


@pytest.fixture(scope="session")
def requests(
    tmp_path_factory: pytest.TempPathFactory, references, idb_dir: Path, idb_manager: IDBManager
) -> dict[int, XrayRequest]:
    """The reference requests: L1 -> simulated TM -> LB -> complete sequences -> decoded request (by SSID)."""
    source = tmp_path_factory.mktemp("xray-l1")
    for product in references.values():
        shutil.copy(product.path, source / product.path.name)
    encoding = encode_reference(source, tmp_path_factory.mktemp("xray-tm"), idb_dir)
    archive = tmp_path_factory.mktemp("xray-lb")
    tms_to_lb(encoding.tm_files, archive, idb_manager)
    out = {}
    for path in sorted(archive.rglob("*.fits")):
        lb = read_lb(path)
        report = request_sequences(lb.headers["sequence_flag"], lb.headers["sequence_count"], lb.key)
        assert report.incomplete == [] and len(report.complete) == 1
        (batch,), errors = decode_lb_product(lb, idb_manager)
        assert errors == []
        request = decode_xray_request(batch)
        out[request.ssid] = request
    return out


@pytest.fixture(scope="module")
def sim_context(idb_manager: IDBManager) -> SimulationContext:
    """A 10 minute simulated flare from 2021-08-01T06:00 (IDB 2.26.35) for building single requests."""
    coarse, fine = utc_to_scet(np.datetime64("2021-08-01T06:00:00"))
    model = build_day_model(600.0, Flare(peak=300.0, rise=60.0, decay=200.0), np.random.default_rng(7))
    return SimulationContext(PacketFactory(idb_manager), int(coarse) * FINE_PER_SECOND + int(fine), 600.0, model, 11)
