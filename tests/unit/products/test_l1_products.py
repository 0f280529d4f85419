"""L1 products: UTC split, engineering values per IDB period, SPICE/SOOP/provenance keywords."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import stix_lib
from stix_lib.decode.engineering import calibrate
from stix_lib.idb import IDBManager
from stix_lib.lb import tm_to_lb
from stix_lib.products.fits_io import read_product
from stix_lib.products.steps import l0_to_l1, lb_to_l0
from stix_lib.products.writer import ProductWriter
from tests.support.products_support import DAY_2020_05_06, hk_packet, moc_templates, retimed, write_tm_xml


def _run(tmp_path: Path, idb_manager: IDBManager, writer: ProductWriter, packets: list[bytes]) -> dict[str, list[Path]]:
    """TM -> LB -> L0 -> L1 for ``packets``; returns written files per level."""
    tm = write_tm_xml(tmp_path / "in" / "t.PktTmRaw.xml", packets)
    lb = tm_to_lb(tm, writer.archive, idb_manager)
    out: dict[str, list[Path]] = {"LB": list(lb.written), "L0": [], "L1": []}
    for path in lb.written:
        step = lb_to_l0(path, idb_manager, writer)
        assert step.ok, step
        out["L0"] += step.written
    for path in out["L0"]:
        step = l0_to_l1(path, idb_manager, writer)
        assert step.ok, step
        out["L1"] += step.written
    return out


@pytest.fixture(scope="module")
def templates(reference_data: Path, idb_manager: IDBManager):
    return moc_templates(reference_data, idb_manager)


def test_moc_test_becomes_l1_with_spice_error(moc_lb: dict, idb_manager, writer: ProductWriter) -> None:
    l0 = [p for path in moc_lb.values() for p in lb_to_l0(path, idb_manager, writer).written]
    assert len(l0) == 7
    l1 = [p for path in l0 for p in l0_to_l1(path, idb_manager, writer).written]
    names = sorted(p.name for p in l1)
    assert names == [
        "solo_L1_stix-cal-energy_20191127_V03U.fits",
        "solo_L1_stix-ql-background_20191127_V02U.fits",
        "solo_L1_stix-ql-flareflag_20191127_V02U.fits",
        "solo_L1_stix-ql-lightcurve_20191127_V02U.fits",
        "solo_L1_stix-ql-ql-tmstatusflarelist_20191127_V02U.fits",
        "solo_L1_stix-ql-spectra_20191127_V02U.fits",
        "solo_L1_stix-ql-variance_20191127_V02U.fits",
    ]
    lc = next(p for p in l1 if "lightcurve" in p.name)
    assert lc.parent == writer.archive / "L1" / "2019" / "11" / "27" / "QL"
    header = fits.getheader(lc)
    assert header["LEVEL"] == "L1" and header["TIMESYS"] == "UTC"
    assert header["SPICE_ER"] == "1" and header["RSUN_ARC"] == ""  # 2019: outside the orbit kernels
    assert header["DATE-OBS"].startswith("2019-11-27T")
    assert header["PARENT"] == "solo_L0_stix-ql-lightcurve_0628128000_V02.fits"  # complete L0 name
    assert header["VERS_SW"] == stix_lib.__version__ and header["VERS_CFG"] == "v0.1.10"
    assert all(header[k] == "none" for k in ("OBS_MODE", "OBS_TYPE", "OBS_ID", "SOOPNAME", "SOOPTYPE", "TARGET"))
    product = read_product(lc)
    assert product.level == "L1" and len(product) == 619
    assert set(product.control["parent"].tolist()) == {"solo_L0_stix-ql-lightcurve_0628128000_V02.fits"}


def test_2020_data_get_spice_keywords_and_utc_split(templates, tmp_path, idb_manager, writer) -> None:
    """A light curve packet over UTC midnight of 2020-05-06 feeds two L1 files."""
    lc = templates[0] if templates[0].key == (21, 6, 30) else next(t for t in templates if t.key == (21, 6, 30))
    shift = DAY_2020_05_06 - 600 - lc.values["NIX00445"][0]  # 315 x 4 s from 10 min before midnight
    files = _run(tmp_path, idb_manager, writer, [retimed(lc, shift)])
    l1 = sorted({p for p in files["L1"] if "lightcurve" in p.name})  # both L0 days feed both L1 days
    assert [p.name for p in l1] == [
        "solo_L1_stix-ql-lightcurve_20200505_V02U.fits",
        "solo_L1_stix-ql-lightcurve_20200506_V02U.fits",
    ]
    rows = [len(read_product(p)) for p in l1]
    assert sum(rows) == 315 and min(rows) > 0
    header = fits.getheader(l1[1])
    assert "SPICE_ER" not in header
    assert header["DSUN_OBS"] == pytest.approx(1.05e11, rel=0.01)
    assert header["DATE-OBS"].startswith("2020-05-06T00:00:")
    assert header["SPICE_MK"].endswith(".tm")
    before = fits.getheader(l1[0])
    assert "2020-05-05T23:59:58" < before["DATE-END"] < "2020-05-06T00:00:02.001"  # last bin centred before midnight


def test_housekeeping_engineering_values_per_idb_period(tmp_path, idb_manager, writer) -> None:
    """HK around the 2.26.32 -> 2.26.33 switch: each row is calibrated with its own IDB."""
    switch = 642159993
    times = [switch - 200, switch - 100, switch + 100, switch + 200]
    packets = [
        hk_packet(idb_manager, 2, t, 0, version=idb_manager.version_for(t), seed=i, sequence_count=i)
        for i, t in enumerate(times)
    ]
    files = _run(tmp_path, idb_manager, writer, packets)
    (l0_path,) = [p for p in files["L0"] if "hk-maxi" in p.name]
    l0 = read_product(l0_path)
    assert list(l0.idb_versions) == ["2.26.32", "2.26.33"]
    l1 = read_product(next(p for p in files["L1"] if "hk-maxi" in p.name))
    for column in ("hk_dpu_pcb_t", "hk_asp_photoa0_v", "instrument_mode", "hv1_depolar_in_progress"):
        nix = l0.data.column(column).meta["NIXS"]
        expected = [
            calibrate(
                idb_manager.get_idb("2.26.32" if t < switch else "2.26.33"), nix, l0.data[column][i : i + 1]
            ).values[0]
            for i, t in enumerate(times)
        ]
        assert l1.data[column].tolist() == expected
    assert l1.data.column("hk_dpu_pcb_t").unit == "K"
    assert "PCF_CURTX" not in l1.data.column("hk_dpu_pcb_t").meta
    assert l1.data["instrument_mode"].dtype.kind == "U"
    assert l1.data["autonomous_asw_boot_stat"].dtype == bool
    assert l1.data["sw_version_number"].dtype == np.int64  # uncalibrated: stays raw


def test_calibration_spectra_unit_fixes(moc_lb: dict, idb_manager, writer) -> None:
    (l0_path,) = lb_to_l0(moc_lb[(21, 6, 41)], idb_manager, writer).written
    (l1_path,) = l0_to_l1(l0_path, idb_manager, writer).written
    l1 = read_product(l1_path)
    assert l1.control["integration_time"].tolist() == pytest.approx([2.0, 4.0, 1.0, 3.0])
    assert l1.control.column("integration_time").unit == "s"
    assert l1.control["live_time"].dtype == np.uint32 and l1.control.column("live_time").unit == "ms"
    assert l1.control.column("quiet_time").unit == "us"
    assert l1.control.column("average_temperature").unit == "K"


class _Soop:
    def keywords(self, utc_start, utc_end):
        return [("OBS_MODE", "STIX_ANALYSIS;STIX_BASIC", "mode"), ("obs_id", "SSTX_1;SSTX_2", "ids")]


def test_soop_keywords_come_from_the_provider(moc_lb: dict, idb_manager, writer) -> None:
    writer.soop = _Soop()
    (l0_path,) = lb_to_l0(moc_lb[(21, 6, 43)], idb_manager, writer).written
    (l1_path,) = l0_to_l1(l0_path, idb_manager, writer).written
    header = fits.getheader(l1_path)
    assert header["OBS_MODE"] == "STIX_ANALYSIS;STIX_BASIC"
    assert header["OBS_ID"] == "SSTX_1;SSTX_2"
    assert header["SOOPNAME"] == "none"


def test_l1_without_kernels_waits(moc_lb: dict, idb_manager, writer) -> None:
    """No L1 with the nominal clock: without kernels the L1 step writes nothing and waits (no error)."""
    (l0_path,) = lb_to_l0(moc_lb[(21, 6, 43)], idb_manager, writer).written
    writer.kernels = None
    step = l0_to_l1(l0_path, idb_manager, writer)
    assert not step.written and not step.file_errors
    assert step.waiting and "waiting for kernels: no SPICE kernels" in step.waiting[0]


def test_rows_are_calibrated_with_the_idb_of_their_period(monkeypatch) -> None:
    """Rows before/after a version switch go to different IDBs; the first period starts at -inf."""
    from stix_lib.decode.engineering import EngineeringValues
    from stix_lib.products import l1 as l1_module
    from stix_lib.products.table import ColumnTable

    class _Idb:
        def __init__(self, version: str) -> None:
            self.version = version

    class _Manager:
        def get_idb(self, version: str) -> _Idb:
            return _Idb(version)

    def fake(idb, nix, raw):
        return EngineeringValues(np.full(np.shape(raw), float(idb.version.split(".")[-1])), "K", "C", "curve")

    monkeypatch.setattr(l1_module, "calibrate", fake)
    periods = l1_module.idb_periods({"2.26.33": (200.0, 300.0), "2.26.32": (100.0, 150.0)})
    assert periods == [("2.26.32", -np.inf, 200.0), ("2.26.33", 200.0, np.inf)]
    table = ColumnTable()
    table.add("t", np.zeros(4), meta={"NIXS": "NIXD0025", "PCF_CURTX": "CIXP0024TM"})
    warnings = l1_module.calibrate_table(table, np.array([50.0, 199.9, 200.0, 1e9]), periods, _Manager())
    assert not warnings
    assert table["t"].tolist() == [32.0, 32.0, 33.0, 33.0]
    assert table.column("t").unit == "K" and table.column("t").meta == {"NIXS": "NIXD0025"}
