"""Fixtures of the product tests (real IDBs, STIX-CONF snapshot and 2020 SPICE kernels)."""

from __future__ import annotations

from pathlib import Path

import pytest
from products_support import FIXED_DATE

from stix_lib.conf.energy_channels import ScienceEnergyChannels
from stix_lib.idb import IDBManager
from stix_lib.products.writer import ProductWriter
from stix_lib.spice import SpiceKernels


@pytest.fixture
def writer(tmp_path: Path, energy_channels: ScienceEnergyChannels, kernels: SpiceKernels) -> ProductWriter:
    """A product writer into ``tmp_path/archive`` with a fixed DATE."""
    return ProductWriter(
        tmp_path / "archive",
        vers_cfg="v0.1.10",
        energy_channels=energy_channels,
        kernels=kernels,
        date=FIXED_DATE,
    )


@pytest.fixture(scope="session")
def moc_lb(reference_data: Path, idb_manager: IDBManager, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """LB files of moc_test (16 real quick-look packets), by (service, subtype, ssid)."""
    from stix_lib.lb import read_lb, tm_to_lb

    archive = tmp_path_factory.mktemp("moc-lb")
    result = tm_to_lb(reference_data / "tm" / "moc_test.PktTmRaw.xml", archive, idb_manager, date=FIXED_DATE)
    assert not result.errors
    return {read_lb(path).key: path for path in result.written}


@pytest.fixture(scope="session")
def moc_l0(moc_lb: dict, idb_manager: IDBManager) -> dict:
    """L0 products built from the moc_test LB files, by (service, subtype, ssid)."""
    from stix_lib.lb import read_lb
    from stix_lib.products.l0 import build_l0

    out = {}
    for key, path in moc_lb.items():
        build = build_l0(read_lb(path), idb_manager, parent=path.name)
        assert not build.errors
        out[key] = build.product
    return out


@pytest.fixture(scope="session")
def our_files(moc_lb: dict, idb_manager, energy_channels, kernels, tmp_path_factory) -> dict[str, dict[str, Path]]:
    """Our L0 and L1 file of every reference type (QL/cal from moc_test, HK maxi from encoded packets).

    Returns ``{"L0": {descriptor: path}, "L1": {descriptor: path}}``.
    """
    from products_support import DAY_2020_05_06, hk_stream, write_tm_xml

    from stix_lib.lb import tm_to_lb
    from stix_lib.products.steps import l0_to_l1, lb_to_l0

    archive = tmp_path_factory.mktemp("layout-archive")
    writer = ProductWriter(archive, energy_channels=energy_channels, kernels=kernels)
    hk = hk_stream(idb_manager, DAY_2020_05_06 + 600, 1.0) + hk_stream(idb_manager, DAY_2020_05_06 + 900, 0.5, ssid=1)
    tm = write_tm_xml(archive / "hk.PktTmRaw.xml", hk)
    lb_files = list(moc_lb.values()) + tm_to_lb(tm, archive, idb_manager).written
    out: dict[str, dict[str, Path]] = {"L0": {}, "L1": {}}
    for lb in lb_files:
        for l0 in lb_to_l0(lb, idb_manager, writer).written:
            out["L0"][l0.name.split("_")[2].removeprefix("stix-")] = l0
            for l1 in l0_to_l1(l0, idb_manager, writer).written:
                out["L1"][l1.name.split("_")[2].removeprefix("stix-")] = l1
    return out
