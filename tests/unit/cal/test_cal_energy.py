"""CAL energy calibration: ECC inputs, skip path, full run with fake ECC programs, post-fit, errors."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from stix_lib.cal import CalEnergyError, CalEnergyStep, gain_range_ok, post_fit, write_ecc_inputs
from stix_lib.cal.post_fit import E31, E81
from stix_lib.conf.ecc import PostEccConfig
from stix_lib.conf.elut import ElutIndex
from tests.support.cal_fakes import LIVE_TIME_S, REFERENCE_CAL, SyntheticCal

CAL_NAMES = [
    "solo_CAL_stix-cal-energy_20200506T173244-20200506T184843_V02.fits",
    "solo_CAL_stix-cal-energy_20200506T173244-20200506T185434_V02.fits",
]


@pytest.fixture
def cal_settings(settings, reference_data: Path, fake_ecc_bin: Path):
    return settings.replace(ecc_path=str(fake_ecc_bin), conf_dir=reference_data / "stix-conf")


def _cal_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("stix_lib.cal")]


# -- ECC input files ------------------------------------------------------------------------


def test_ecc_inputs_from_reference_spectrum(reference_data: Path, tmp_path: Path) -> None:
    with fits.open(reference_data / "reference" / "l1" / REFERENCE_CAL) as hdul:
        spectrum = np.asarray(hdul["DATA"].data["counts"][0])
    assert spectrum.shape == (32, 12, 1024)
    spec_all, ecc_in = write_ecc_inputs(spectrum, tmp_path, REFERENCE_CAL)
    assert spec_all.name == "spec_all.fits"
    assert ecc_in.name == "solo_L1_stix-cal-energy_20200506_V01_ecc_in.fits"

    with fits.open(spec_all, checksum=True) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "RATE", "TOTAL_RATE"]
        rate, total = hdul["RATE"], hdul["TOTAL_RATE"]
        assert rate.columns.names == ["DETECTOR_ID", "PIXEL_ID", "SUBSPEC_ID", "NUM_POINTS", "COUNTS"]
        assert rate.columns.formats == ["B", "B", "B", "I", "1024J"]
        assert rate.data["COUNTS"].shape == (384, 1024)
        assert (rate.data["DETECTOR_ID"][13], rate.data["PIXEL_ID"][13]) == (1, 1)
        assert set(rate.data["SUBSPEC_ID"]) == {0} and set(rate.data["NUM_POINTS"]) == {1024}
        np.testing.assert_array_equal(rate.data["COUNTS"][13], spectrum[1, 1])
        np.testing.assert_array_equal(rate.data["COUNTS"][383], spectrum[31, 11])
        assert total.data["COUNTS"].shape == (1, 1024)
        np.testing.assert_array_equal(total.data["COUNTS"][0], spectrum.sum(axis=(0, 1)))
        assert int(total.data["NUM_POINTS"][0]) == 1024
        assert "CHECKSUM" in rate.header

    with fits.open(ecc_in) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "SPEC_ECC"]
        table = hdul["SPEC_ECC"]
        names = table.columns.names
        assert names[:3] == ["PHA_A", "PHA_center", "PHA_B"] and names[3] == "ch000" and names[-1] == "ch383"
        assert len(names) == 387 and len(table.data) == 1024
        assert table.columns["PHA_center"].unit == "adu"
        assert (table.data["PHA_A"][5], table.data["PHA_center"][5], table.data["PHA_B"][5]) == (5.0, 5.5, 6.0)
        np.testing.assert_array_equal(table.data["ch013"], spectrum[1, 1].astype(np.float32))

    with pytest.raises(ValueError, match=r"shape \(32, 12, 512\)"):
        write_ecc_inputs(spectrum[..., :512], tmp_path, REFERENCE_CAL)


# -- skip path ------------------------------------------------------------------------------


def test_step_is_skipped_without_ecc_path(settings, reference_data: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert settings.ecc_path == ""
    l1 = reference_data / "reference" / "l1" / REFERENCE_CAL
    with caplog.at_level(logging.DEBUG):
        assert CalEnergyStep(settings)(l1) == []
    records = _cal_logs(caplog)
    assert [r.getMessage() for r in records] == [
        f"CAL energy calibration skipped for {REFERENCE_CAL}: ecc_path is not set"
    ]
    assert not (settings.fits_archive_dir / "CAL").exists()


def test_step_is_skipped_when_programs_are_missing(
    settings, reference_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "ecc"
    folder.mkdir()
    (folder / "Bkg").write_text("#!/bin/sh\n")
    (folder / "Bkg").chmod(0o755)
    (folder / "ECC").write_text("not executable")
    l1 = reference_data / "reference" / "l1" / REFERENCE_CAL
    with caplog.at_level(logging.INFO):
        assert CalEnergyStep(settings.replace(ecc_path=str(folder)))(l1) == []
    assert [r.getMessage() for r in _cal_logs(caplog)] == [
        f"CAL energy calibration skipped for {REFERENCE_CAL}: ECC program {folder / 'ECC'} is not executable"
    ]
    (folder / "ECC").unlink()
    step = CalEnergyStep(settings.replace(ecc_path=str(folder)))
    assert not step.available and step.unavailable == f"ECC program {folder / 'ECC'} is missing"
    assert not (settings.fits_archive_dir / "CAL").exists()


# -- full path with fake ECC programs --------------------------------------------------------


def test_full_run_recovers_known_gains_and_writes_cal_products(
    cal_settings, synthetic_cal: SyntheticCal, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    contexts = tmp_path / "contexts"
    contexts.mkdir()
    step = CalEnergyStep(cal_settings, work_dir=contexts)
    with caplog.at_level(logging.INFO, logger="stix_lib.cal"):
        written = step(synthetic_cal.path)
    folder = cal_settings.fits_archive_dir / "CAL" / "2020" / "05" / "06" / "CAL"
    assert written == [folder / name for name in CAL_NAMES]
    assert list(contexts.iterdir()) == []  # every ECC context removed
    assert "post-fit replaced 384 of 384 ECC gain/offset pairs" in caplog.text

    elut = ElutIndex(cal_settings.conf_dir / "elut").elut_for("2020-05-06T18:00:00")
    for path in written:
        with fits.open(path, checksum=True) as hdul:
            assert [h.name for h in hdul] == ["PRIMARY", "CONTROL", "DATA", "IDB_VERSIONS"]
            header = hdul[0].header
            assert (header["FILENAME"], header["LEVEL"], header["VERSION"]) == (path.name, "CAL", "02")
            assert (header["STYPE"], header["SSTYPE"], header["SSID"]) == (21, 6, 41)
            assert header["PARENT"] == REFERENCE_CAL
            assert header["LIVETIME"] == LIVE_TIME_S
            assert header["DATE-OBS"] == "2020-05-06T17:32:44.439"
            assert header["OBS_MODE"] == "none" and header["TARGET"] == "none"
            assert header["SPICE_MK"] == "solo_ANC_soc-flown-mk_v107_20220202_001.tm"
            assert "SPICE keywords copied from the L1 file" in str(header["HISTORY"])
            assert "IX2IX6BatchRequest" in header["RAW_FILE"]

            control = hdul["CONTROL"].data
            assert len(control) == 1 and control["index"][0] == 0
            assert control["ob_elut_name"][0] == "elut_table_20200519"
            assert control["ecc_config_name"][0] == "ecc_cfg_1"

            data = hdul["DATA"]
            assert data.columns.names == [
                "time",
                "timedel",
                "control_index",
                "live_time",
                "offset",
                "gain",
                "goc",
                "ecc_error",
                "gain_range_ok",
                "e_edges_actual",
            ]
            assert data.columns["e_edges_actual"].unit == "keV" and data.columns["live_time"].unit == "s"
            row = data.data[0]
            assert row["time"] * 2 == row["timedel"] and row["control_index"] == 0
            assert row["live_time"] == LIVE_TIME_S
            assert bool(row["gain_range_ok"]) is True
            offset, gain = np.asarray(row["offset"]), np.asarray(row["gain"])
            assert offset.shape == gain.shape == (32, 12)
            assert np.asarray(row["ecc_error"]).shape == (4, 32, 12)
            assert np.all(np.asarray(row["ecc_error"]) > 0)
            # the post-fit recovers the true calibration; ECC alone was 0.8 % / 1.5 channels off
            np.testing.assert_allclose(1.0 / (4.0 * gain), synthetic_cal.gain, rtol=4e-3)
            np.testing.assert_allclose(offset / 4.0, synthetic_cal.offset, atol=0.5)
            edges = np.asarray(row["e_edges_actual"])
            assert edges.shape == (32, 12, 33)
            assert np.all(edges[..., 0] == 0) and np.all(np.isinf(edges[..., -1]))
            true_edges = (elut.adc - 4.0 * synthetic_cal.offset[..., None]) / (4.0 * synthetic_cal.gain[..., None])
            np.testing.assert_allclose(edges[..., 1:-1], true_edges, rtol=5e-3, atol=0.1)

    # CAL products are never merged: a second run leaves the files alone
    before = [p.read_bytes() for p in written]
    with caplog.at_level(logging.WARNING, logger="stix_lib.cal"):
        assert step(synthetic_cal.path) == []
    assert "CAL products are not merged" in caplog.text
    assert [p.read_bytes() for p in written] == before


def test_failing_program_raises_named_error_and_cleans_up(
    cal_settings, synthetic_cal: SyntheticCal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_ECC_MODE", "fail")
    contexts = tmp_path / "contexts"
    contexts.mkdir()
    with pytest.raises(CalEnergyError) as caught:
        CalEnergyStep(cal_settings, work_dir=contexts)(synthetic_cal.path)
    message = str(caught.value)
    assert str(synthetic_cal.path) in message
    assert "ECC program ECC failed with exit status 3" in message and "grid search diverged" in message
    assert list(contexts.iterdir()) == []
    assert not (cal_settings.fits_archive_dir / "CAL").exists()


def test_hanging_program_is_stopped_by_the_timeout(
    cal_settings, synthetic_cal: SyntheticCal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_ECC_MODE", "hang")
    with pytest.raises(CalEnergyError, match="ECC program ECC timed out after 1 s"):
        CalEnergyStep(cal_settings, timeout=1, work_dir=tmp_path)(synthetic_cal.path)


def test_elut_change_within_the_file_is_rejected(cal_settings, synthetic_cal: SyntheticCal) -> None:
    with fits.open(synthetic_cal.path, mode="update") as hdul:
        hdul[0].header["DATE-END"] = "2021-01-02T00:00:00.000"
    with pytest.raises(CalEnergyError, match="ELUT changes within .*elut_table_20200519.csv -> elut_table_20201204"):
        CalEnergyStep(cal_settings)(synthetic_cal.path)


def test_only_l1_cal_energy_files_are_accepted(cal_settings, synthetic_cal: SyntheticCal, tmp_path: Path) -> None:
    other = tmp_path / "solo_L1_stix-ql-lightcurve_20200506_V01.fits"
    shutil.copyfile(synthetic_cal.path, other)
    with pytest.raises(CalEnergyError, match="not an L1 cal-energy file"):
        CalEnergyStep(cal_settings)(other)


# -- post-fit on its own -----------------------------------------------------------------------


def _peaks(energy: np.ndarray, p31: np.ndarray, p81: np.ndarray) -> np.ndarray:
    """Counts with Gaussian lines at the given ECC-scale positions plus a flat baseline."""
    rate = 5.0 * np.exp(-((energy - p31[:, None]) ** 2) / (2 * 0.45**2))
    rate += 3.0 * np.exp(-((energy - p81[:, None]) ** 2) / (2 * 0.55**2))
    return (rate + 0.2) * 100.0


def test_post_fit_formula_and_fallback_to_ecc_values() -> None:
    energy = np.arange(2024) * 0.1 + 0.05
    rng = np.random.default_rng(3)
    p31 = E31 + rng.uniform(-0.3, 0.3, 384)
    p81 = E81 + rng.uniform(-0.4, 0.4, 384)
    spectra = _peaks(energy, p31, p81)
    spectra[5] = 0.0  # no lines: both fits fail
    gain_ecc = rng.uniform(2.2, 2.4, 384)
    offset_ecc = rng.uniform(215, 230, 384)
    result = post_fit(energy, spectra, 100.0, gain_ecc, offset_ecc, np.ones(384))

    good = np.arange(384) != 5
    assert result.corrected.sum() == 383 and not result.flag81[5] and not result.flag31[5]
    np.testing.assert_allclose(result.p31[good], p31[good], atol=2e-3)
    np.testing.assert_allclose(result.p81[good], p81[good], atol=2e-3)
    gain_prime = (p81 - p31) / (E81 - E31)
    np.testing.assert_allclose(result.gain_cor[good], (gain_ecc * gain_prime)[good], rtol=1e-4)
    offset_prime = p31 - gain_prime * E31
    np.testing.assert_allclose(result.offset_cor[good], (gain_ecc * offset_prime + offset_ecc)[good], atol=2e-2)
    np.testing.assert_allclose(result.de31[good], 0.45 * 2.35, rtol=1e-2)
    # the failed pixel keeps its ECC values and has G' = 0
    assert (result.gain_cor[5], result.offset_cor[5]) == (gain_ecc[5], offset_ecc[5])
    assert result.gain_prime[5] == 0.0
    assert (result.det[5], result.pix[5]) == (1, 5)

    ok, problems = gain_range_ok(result, PostEccConfig())
    assert not ok and problems == ["det 1 pix 5: G'=0.000 < 0.4"]
    ignored = PostEccConfig(ignore_min_gain_prime=frozenset({(1, 5)}))
    assert gain_range_ok(result, ignored) == (True, [])


def test_gain_limits_from_post_ecc_ini() -> None:
    energy = np.arange(2024) * 0.1 + 0.05
    p31 = np.full(384, E31)
    p81 = np.full(384, E81)
    result = post_fit(energy, _peaks(energy, p31, p81), 100.0, np.full(384, 0.3), np.full(384, 220.0), np.ones(384))
    np.testing.assert_allclose(result.gain_prime, 1.0, atol=1e-4)
    ok, problems = gain_range_ok(result, PostEccConfig(min_gain=0.4))
    assert not ok and len(problems) == 384 and problems[0].startswith("det 1 pix 0: gain 0.300 < 0.4")
    every = frozenset((d, p) for d in range(1, 33) for p in range(12))
    assert gain_range_ok(result, PostEccConfig(min_gain=0.4, ignore_min_gain=every))[0] is True
    with pytest.raises(ValueError, match="live time must be positive"):
        post_fit(energy, _peaks(energy, p31, p81), 0.0, np.ones(384), np.ones(384), np.ones(384))
