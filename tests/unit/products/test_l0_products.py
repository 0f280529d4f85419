"""L0 products from the real moc_test packets and from encoder-made packets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from stix_lib.decode.compression import compress, decompress
from stix_lib.idb import IDBManager
from stix_lib.lb import read_lb, tm_to_lb
from stix_lib.products.l0 import build_l0
from stix_lib.products.l0.quicklook import spectra_rows
from stix_lib.products.l0.triggers import active_groups
from stix_lib.products.writer import ProductWriter
from tests.support.products_support import hk_packet, moc_templates, retimed, write_tm_xml

MOC_LC_BASE = (628185012 + 52455 / 65535, 628188776 + 39353 / 65535)


def _l0_from_packets(tmp_path: Path, idb_manager: IDBManager, packets: list[bytes], name: str = "t.PktTmRaw.xml"):
    tm = write_tm_xml(tmp_path / name, packets)
    lb = tm_to_lb(tm, tmp_path / "lb-archive", idb_manager)
    assert not lb.errors
    builds = {}
    for path in lb.written:
        product = read_lb(path)
        builds[product.key] = build_l0(product, idb_manager, parent=path.name)
    return builds


@pytest.fixture(scope="module")
def templates(reference_data: Path, idb_manager: IDBManager):
    return moc_templates(reference_data, idb_manager)


def _template(templates, ssid: int, number: int = 0):
    return [t for t in templates if t.key == (21, 6, ssid)][number]


def test_light_curve(moc_l0: dict) -> None:
    lc = moc_l0[(21, 6, 30)]
    assert lc.spec.name == "lightcurve" and lc.level == "L0"
    assert len(lc.control) == 2 and len(lc) == 315 + 304
    assert lc.control["integration_time"].tolist() == [4.0, 4.0]
    assert lc.control["num_samples"].tolist() == [315, 304]
    assert lc.control["num_energies"].tolist() == [5, 5]
    assert lc.control["detector_mask"].sum(axis=1).tolist() == [32, 32]
    assert lc.control["energy_bin_edge_mask"][0].nonzero()[0].tolist() == [1, 7, 12, 17, 23, 31]
    assert lc.data["counts"].shape == (619, 5)
    assert lc.time[0] == MOC_LC_BASE[0] + 2.0 and lc.time[315] == MOC_LC_BASE[1] + 2.0
    assert np.all(np.diff(lc.time[:315]) == pytest.approx(4.0))
    assert lc.data["control_index"][[0, 314, 315]].tolist() == [0, 0, 1]
    assert lc.obt_range[0] == MOC_LC_BASE[0]


def _stixcore_blocks(detector: np.ndarray) -> np.ndarray:
    """Processing spec §4.5.2: pad ``detector[0]`` slots before, ``31 - detector[-1]`` after, rows of 32."""
    padded = np.concatenate([np.full(detector[0], -1), detector, np.full(31 - detector[-1], -1)])
    return padded.reshape(-1, 32)


@pytest.mark.parametrize("seed", range(20))
def test_spectra_rows_keep_every_entry(seed: int) -> None:
    """Any stream of cycles (starting and ending mid-cycle, with repeats) puts each entry in its own slot."""
    rng = np.random.default_rng(seed)
    first, cycles, last = rng.integers(0, 32), rng.integers(1, 6), rng.integers(0, 32)
    detector = np.concatenate([np.arange(first, 32), np.tile(np.arange(32), cycles), np.arange(last + 1)])
    base = np.zeros(len(detector))
    row, starts = spectra_rows(detector, base)
    assert len(np.unique(row * 32 + detector)) == len(detector)  # no entry overwrites another
    assert row[starts].tolist() == list(range(len(starts)))
    blocks = _stixcore_blocks(detector)  # a regular stream: the spec's padded reshape, same rows
    assert len(starts) == len(blocks)
    slots = np.full((len(starts), 32), -1)
    slots[row, detector] = detector
    assert np.array_equal(slots, blocks)


def test_spectra_rows_repeated_detectors_and_new_periods() -> None:
    """The re-encoded reference's stream: detectors 20..27 repeat mid-cycle; a new packet base starts a row."""
    detector = np.concatenate([np.arange(20), np.arange(20, 28), np.arange(28, 32), np.arange(28, 32)])
    base = np.array([0.0] * 32 + [100.0] * 4)
    row, starts = spectra_rows(detector, base)
    assert starts.tolist() == [0, 32]
    assert row.tolist() == [0] * 32 + [1] * 4


def test_background_variance_flareflag(moc_l0: dict) -> None:
    bkg = moc_l0[(21, 6, 31)]
    assert len(bkg) == 39 + 38 and set(bkg.data["timedel"].tolist()) == {3200}
    var = moc_l0[(21, 6, 33)]
    assert len(var) == 619 and var.control["samples_per_variance"].tolist() == [40, 40]
    mask = var.control["energy_bin_mask"][0]  # NIX00282 = 2147352576 = 0x7FFE0000, MSB first
    assert mask.dtype == bool and np.flatnonzero(mask).tolist() == list(range(1, 15))
    flags = moc_l0[(21, 6, 34)]
    assert len(flags) == 619 and flags.data["thermal_index"].shape == (619, 1)


def test_spectra_rows_are_aligned_detector_blocks(moc_l0: dict) -> None:
    spectra = moc_l0[(21, 6, 32)]
    assert len(spectra) == 4
    assert spectra.data["detector_index"][0].tolist() == list(range(32))
    assert spectra.data["num_integrations"][:, 0].tolist() == [0, 32, 0, 32]
    assert spectra.time[0] == pytest.approx(MOC_LC_BASE[0] + 16.0)
    assert spectra.time[1] == pytest.approx(MOC_LC_BASE[0] + 32.5 * 32.0)
    assert spectra.data["spectra"].shape == (4, 32, 32)
    assert spectra.control["num_energies"].tolist() == [32, 32]


def test_flare_list_and_calibration(moc_l0: dict) -> None:
    flares = moc_l0[(21, 6, 43)]
    assert flares.data["pald"].tolist() == [4373, 4264]
    assert flares.control["scet_coarse"].tolist() == [628185053, 628188781]  # packet headers
    assert flares.data["timedel"].tolist() == [0, 0]
    cal = moc_l0[(21, 6, 41)]
    assert cal.spec.name == "energy" and cal.spec.type == "cal"
    assert len(cal) == 4 and cal.data["counts"].shape == (4, 32, 12, 1024)
    assert cal.data["timedel"].tolist() == [200, 400, 100, 300]  # NIX00122 raw 2, 4, 1, 3 -> seconds
    assert cal.time.tolist() == [628184119.0, 628185200.0, 628187839.5, 628188920.5]
    assert cal.control["subspec_num_points"][1, 0] == 1 and cal.control["subspec_lowest_channel"][1, 0] == 300


def test_calibration_counts_are_rebinned_onto_1024_channels(templates, tmp_path: Path, idb_manager) -> None:
    full, summed = _template(templates, 41, 0), _template(templates, 41, 1)
    codes = np.arange(1024) % 200
    counts_summed = [40] * 384
    packets = [
        retimed(full, 0, changes={"NIX00158": codes.tolist()}),
        retimed(summed, 0, changes={"NIX00158": counts_summed}),
    ]
    build = _l0_from_packets(tmp_path, idb_manager, packets)[(21, 6, 41)]
    assert not build.errors
    cal = build.product
    scheme = [(0, t.values["NIXD0127"][0], t.values["NIXD0128"][0]) for t in (full, summed)]
    values, _ = decompress(codes, *scheme[0])
    row_full = int(np.argmin(np.abs(cal.time - (full.values["NIX00445"][0] + 1.0))))
    assert np.array_equal(cal.data["counts"][row_full, 0, 0], values.astype(float))
    row_summed = 1 - row_full
    value = float(decompress(40, *scheme[1])[0])
    spread = cal.data["counts"][row_summed, 0, 0]  # one point: channels 300..600, 301 wide
    assert spread[300:601] == pytest.approx(np.full(301, value / 301))
    assert spread[:300].sum() == 0 and spread[601:].sum() == 0
    assert cal.data["counts"][row_summed].sum() == pytest.approx(384 * value)


def test_descaled_triggers(templates, tmp_path: Path, idb_manager, writer: ProductWriter) -> None:
    lc = _template(templates, 30)
    scaled = [3] * 315
    packet = retimed(lc, 0, changes={"NIXD0104": 0, "NIXD0105": 0, "NIXD0106": 7, "NIX00274": scaled})
    product = _l0_from_packets(tmp_path, idb_manager, [packet])[(21, 6, 30)].product
    assert product.control["compression_scheme_triggers_skm"][0].tolist() == [0, 0, 7]
    groups = int(active_groups(product.control["detector_mask"][0])[0])
    assert groups == 16
    norm = groups * 40 * 30  # 16 groups x 40 (4 s in 0.1 s) x factor 30
    assert product.data["triggers"].ravel().tolist() == [3 * norm + norm / 2] * 315
    assert product.data["triggers_comp_err"].ravel().tolist() == [norm / 2] * 315
    (result,) = writer.write_l0(product)
    header = fits.getheader(result.path)
    assert header["TRIG_SCA"] == 30
    assert "trigger descaled with 30" in str(header["HISTORY"])


def test_compressed_counts_are_decompressed_with_errors(templates, tmp_path: Path, idb_manager) -> None:
    lc = _template(templates, 30)
    raw = np.arange(5 * 315) % 300 * 50
    codes = compress(raw, 0, 5, 3)
    product = _l0_from_packets(tmp_path, idb_manager, [retimed(lc, 0, changes={"NIX00272": codes.tolist()})])[
        (21, 6, 30)
    ].product
    expected, variance = decompress(codes, 0, 5, 3)
    assert np.array_equal(product.data["counts"], expected.reshape(5, 315).T)  # energy-major in the packet
    assert np.allclose(product.data["counts_comp_err"], np.sqrt(variance).reshape(5, 315).T.astype(np.float32))


def test_bad_packet_costs_only_that_packet(templates, tmp_path: Path, idb_manager) -> None:
    good, other = _template(templates, 30, 0), _template(templates, 30, 1)
    broken = retimed(other, 0, changes={"NIX00273": [300], "NIX00274": [0] * 300})  # 300 triggers, 304 samples
    builds = _l0_from_packets(tmp_path, idb_manager, [retimed(good, 0), broken])
    build = builds[(21, 6, 30)]
    assert len(build.errors) == 1
    assert build.errors[0].packet_id == 2 and "NIX00274" in build.errors[0].reason
    assert len(build.product) == 315


def test_housekeeping_maxi(tmp_path: Path, idb_manager: IDBManager, reference_data: Path) -> None:
    start = 642038400 + 30
    version = idb_manager.version_for(start)
    packets = [hk_packet(idb_manager, 2, start + 64 * i, 100 * i, version=version, seed=i) for i in range(3)]
    product = _l0_from_packets(tmp_path, idb_manager, packets)[(3, 25, 2)].product
    assert len(product) == 3
    assert product.control["scet_coarse"].tolist() == [start, start + 64, start + 128]
    assert product.data["timedel"].tolist() == [0, 0, 0]
    assert product.time[1] == start + 64 + 100 / 65535
    with fits.open(reference_data / "reference" / "l1" / "solo_L1_stix-hk-maxi_20200501_V01.fits") as ref:
        names = ref["DATA"].columns.names
    assert product.data.names == names  # same columns in the same order as the reference
    column = product.data.column("hk_dpu_pcb_t")
    assert column.meta == {"NIXS": "NIXD0025", "PCF_CURTX": "CIXP0024TM"}
    assert product.data["hk_dpu_pcb_t"].dtype == np.int64  # raw at L0
    assert product.data.column("hk_asp_photoa0_v").description.startswith("accumulated over time")


def test_generic_product_of_other_services(tmp_path: Path, idb_manager: IDBManager) -> None:
    from stix_lib.decode import get_layout
    from stix_lib.decode.encoder import encode_packet

    layout = get_layout(idb_manager.get_idb("2.26.34"), 1, 7, None)
    packets = [encode_packet(layout, {}, coarse=660000000 + i) for i in range(2)]
    build = _l0_from_packets(tmp_path, idb_manager, packets)[(1, 7, None)]
    product = build.product
    assert product.spec.type == "tc-verify" and product.spec.name == "7" and not product.spec.daily
    assert len(product) == 2 and "control_index" in product.data
