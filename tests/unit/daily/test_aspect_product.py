"""ANC aspect step without Airflow: input table from the real HK file, the IDL bridge with a stand-in
command (success and every failure kind), the product layout and the processing history."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import spiceypy
from astropy.io import fits
from astropy.table import QTable

from stix_lib.daily.aspect_product import DATA_COLUMNS, anc_file_name, read_aspect_file
from stix_lib.daily.aspect_run import run_aspect
from stix_lib.daily.aspect_table import INPUT_COLUMNS, read_aspect_input, row_durations
from stix_lib.daily.idl_bridge import IdlBatchError, IdlBridge, IdlBridgeError
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.spice.positions import auxiliary_positions
from tests.support.aspect_support import GSW_VERSION, calls, expected_solution, hk_input, stand_in_idl

ANC = "ANC/2020/05/01/ASP/solo_ANC_stix-asp-ephemeris_20200501_V02U.fits"
ROWS = 1350


@pytest.fixture(scope="module")
def kernels(reference_data: Path, tmp_path_factory: pytest.TempPathFactory) -> SpiceKernels:
    return SpiceKernels(reference_data / "spice" / "kernels", tmp_path_factory.mktemp("aspect-kernels")).load()


@pytest.fixture
def aspect_settings(settings, reference_data: Path, tmp_path: Path):
    script = stand_in_idl(tmp_path / "idl")
    return settings.replace(
        spice_dir=reference_data / "spice" / "kernels", idl_gsw_path="/opt/STX-GSW", idl_executable=str(script)
    )


@pytest.fixture
def history(settings):
    from stix_lib.daily import DatabaseHistory
    from stix_lib.db import connect

    engine = connect(settings.pipeline_db_url)
    yield DatabaseHistory(engine)
    engine.dispose()


def test_input_table(kernels: SpiceKernels, reference_data: Path, tmp_path: Path) -> None:
    hk = hk_input(tmp_path, reference_data)
    item = read_aspect_input(hk, kernels)
    assert len(item) == ROWS and list(item.records()) == list(INPUT_COLUMNS)
    with fits.open(hk) as hdul:
        data, control = hdul["DATA"].data, hdul["CONTROL"].data
        for ours, theirs in (("cha_diode0", "a0"), ("cha_diode1", "a1"), ("chb_diode0", "b0"), ("chb_diode1", "b1")):
            np.testing.assert_array_equal(item.table[ours], data[f"hk_asp_photo{theirs}_v"])
        np.testing.assert_array_equal(item.table["scet_time_c"], control["scet_coarse"])
        np.testing.assert_array_equal(item.table["scet_time_f"], control["scet_fine"])
    assert item.table["time"][0] == "2020-05-01T00:00:30.226" and item.table["time"][-1] == "2020-05-01T23:59:25.431"
    durations = item.table["duration"]
    np.testing.assert_array_equal(durations[:-1], np.diff(item.hk.time))
    assert durations[-1] == durations[-2] and np.median(durations) == pytest.approx(64.0, abs=0.01)  # HK cadence
    header = fits.getheader(hk)  # RSUN_ARC of the reference file (STIXCore, its kernels) at DATE-AVG
    stamps = item.table["time"].astype("datetime64[ms]").astype(np.int64)
    centre = np.datetime64(header["DATE-AVG"], "ms").astype(np.int64)
    assert np.interp(centre, stamps, item.table["spice_disc_size"]) == pytest.approx(header["RSUN_ARC"], rel=1e-4)
    assert not item.table["y_srf"].any() and not item.table["sas_ok"].any() and set(item.table["error"]) == {""}
    assert json.loads(json.dumps(item.records()))["scet_time_c"][0] == 641606418
    assert row_durations([10.0, 12.0, 15.0]).tolist() == [2.0, 3.0, 3.0] and row_durations([5.0]).tolist() == [0.0]


def test_bridge_from_settings(settings) -> None:
    with pytest.raises(IdlBridgeError, match="idl_executable is empty"):
        IdlBridge.from_settings(settings.replace(idl_gsw_path="/opt/STX-GSW"))
    with pytest.raises(IdlBridgeError, match="idl_batchsize"):
        IdlBridge.from_settings(settings.replace(idl_gsw_path="/g", idl_executable="idl", idl_batchsize=0))
    bridge = IdlBridge.from_settings(
        settings.replace(idl_gsw_path="/g", idl_executable="/opt/idl/run 'aspect task' -q", idl_batchsize=2)
    )
    assert bridge.command == ["/opt/idl/run", "aspect task", "-q"] and bridge.batch_size == 2
    assert bridge.work_root == Path(settings.log_dir) / "idl-aspect"
    assert bridge.timeout == timedelta(hours=1) and settings.idl_batchsize == 20
    assert [len(b) for b in bridge.batches(list(range(5)))] == [2, 2, 1]  # type: ignore[arg-type]


def test_bridge_protocol_and_solution(kernels: SpiceKernels, reference_data: Path, tmp_path: Path) -> None:
    hk = hk_input(tmp_path / "fits", reference_data)
    script = stand_in_idl(tmp_path / "idl")
    bridge = IdlBridge([str(script)], "/opt/STX-GSW", work_root=tmp_path / "work")
    result = bridge.run([read_aspect_input(hk, kernels)])
    assert result.gsw_version == GSW_VERSION and result.failed == {}
    solution = result.solutions[hk.name]
    expected = expected_solution(hk)
    np.testing.assert_allclose(solution.y_srf, expected["y_srf"])
    np.testing.assert_array_equal(solution.sas_ok, expected["sas_ok"])
    assert 0 < solution.sas_ok.sum() < ROWS and set(solution.error[~solution.sas_ok]) == {"low signal"}
    (call,) = calls(script)
    assert call["files"] == [hk.name] and call["gsw"] == call["gsw_path"] == "/opt/STX-GSW"
    assert (call["protocol"], call["task"]) == (1, "stx_anc_aspect")
    assert Path(call["cwd"]).parent == tmp_path / "work" and not Path(call["cwd"]).exists()  # removed after success


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("exit", r"exit status 3 \(stderr: % CLLFloatingLicenseInitialize failed"),
        ("garbage", "unusable result output.json"),
        ("silent", "no result file output.json"),
        ("short", "y_srf: expected a list of 1350 values"),
    ],
)
def test_failed_batch_names_its_files(kernels, reference_data: Path, tmp_path: Path, mode: str, message: str) -> None:
    hk = hk_input(tmp_path / "fits", reference_data)
    other = hk_input(tmp_path / "fits", reference_data, name="solo_L1_stix-hk-maxi_20200501_V03.fits")
    bridge = IdlBridge([str(stand_in_idl(tmp_path / "idl", mode))], "/g", work_root=tmp_path / "work")
    with pytest.raises(IdlBatchError, match=message) as caught:
        bridge.run([read_aspect_input(hk, kernels), read_aspect_input(other, kernels)])
    assert caught.value.files == [hk.name, other.name]
    assert f"[{hk.name}, {other.name}]" in str(caught.value) and "work dir kept" in str(caught.value)
    assert (caught.value.work_dir / "input.json").exists()


def test_timeout_and_missing_command(kernels, reference_data: Path, tmp_path: Path) -> None:
    item = read_aspect_input(hk_input(tmp_path / "fits", reference_data), kernels)
    slow = IdlBridge([str(stand_in_idl(tmp_path / "idl", "sleep"))], "/g", timedelta(seconds=1.5), work_root=tmp_path)
    with pytest.raises(IdlBatchError, match=r"timed out after 0:00:01.5.*stand-in IDL: 1 file"):
        slow.run([item])
    with pytest.raises(IdlBatchError, match="cannot start '/nonexistent/idl'"):
        IdlBridge(["/nonexistent/idl"], "/g", work_root=tmp_path).run([item])


def test_run_writes_the_product_and_history(aspect_settings, reference_data: Path, history, kernels) -> None:
    archive = Path(aspect_settings.fits_archive_dir)
    hk = hk_input(archive, reference_data)
    result = run_aspect(aspect_settings, history, None, header_date="2026-03-02T08:00:00.000")
    path = archive / ANC
    assert result.errors == [] and result.processed == [hk.name] and result.written == [str(path)]
    assert path.name == anc_file_name(date(2020, 5, 1), 2)
    (row,) = history.rows("ANC")
    assert (row["name"], row["level"], row["type"], row["version"]) == ("ephemeris", "ANC", "asp", 2)
    assert (row["fits_in_path"], row["fits_out_path"]) == (str(hk), str(path))

    with fits.open(path, checksum=True) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "CONTROL", "DATA", "IDB_VERSIONS"]
        header = hdul[0].header
        assert (header["LEVEL"], header["STYPE"], header["SSTYPE"], header["SSID"]) == ("ANC", 0, 0, 1)
        assert (header["VERSION"], header["STX_GSW"], header["BUNIT"]) == ("02", GSW_VERSION, "arcsec")
        assert (
            header["FILENAME"] == path.name
            and header["PARENT"] == hk.name
            and header["DATE"] == "2026-03-02T08:00:00.000"
        )
        # the reference hk-maxi range: its end on the stored centisecond grid (issue 15 item 5)
        assert header["DATE-OBS"] == "2020-05-01T00:00:30.226" and header["DATE-END"] == "2020-05-01T23:59:25.433"
        assert header["RSUN_ARC"] == pytest.approx(1306.157, rel=1e-4) and "SPICE_ER" not in header
        assert f"Aspect solution by STX-GSW {GSW_VERSION} (IDL)" in str(header["HISTORY"])
        assert hdul["DATA"].columns.names == list(DATA_COLUMNS)
        idb = hdul["IDB_VERSIONS"].data
        assert idb["version"].tolist() == fits.getdata(hk, "IDB_VERSIONS")["version"].tolist() == ["2.26.32"]
        assert idb["obt_start"].tolist() == [header["OBT_BEG"]] == [641606418.6296941]
        assert set(hdul["CONTROL"].data["parent"]) == {hk.name}
    expected = expected_solution(hk)
    low = min(expected["y_srf"].min(), expected["z_srf"].min())
    high = max(expected["y_srf"].max(), expected["z_srf"].max())
    assert (header["DATAMIN"], header["DATAMAX"]) == pytest.approx((low, high), abs=1e-3)

    data = QTable.read(path, hdu="DATA")
    assert len(data) == ROWS and str(data["y_srf"].unit) == "arcsec" and data["y_srf"].dtype.str[1:] == "f4"
    np.testing.assert_allclose(data["y_srf"].value, expected["y_srf"], atol=1e-4)
    np.testing.assert_allclose(data["z_srf"].value, expected["z_srf"], atol=1e-4)
    np.testing.assert_array_equal(data["sas_ok"], expected["sas_ok"])
    assert set(data["sas_error"][~expected["sas_ok"]]) == {"low signal"} and data["time_utc"][0] == header["DATE-OBS"]
    et = spiceypy.str2et(data["time_utc"][700])
    position = auxiliary_positions(np.array([et]))  # the same SPICE quantity at the row's time (1 ms rounding)
    np.testing.assert_allclose(data["solo_loc_heeq_zxy"][700].to_value("km"), position.heeq[0], rtol=1e-8)
    assert data["solo_loc_carrington_dist"][700].to_value("km") == pytest.approx(position.distance[0], rel=1e-8)
    np.testing.assert_allclose(data["solo_loc_carrington_lonlat"][700].to_value("deg"), position.lonlat[0], atol=1e-6)
    reference = fits.getheader(hk)  # STIXCore's DSUN_OBS [m] at DATE-AVG, with its (later) kernels
    stamps = np.asarray(data["time_utc"]).astype("datetime64[ms]").astype(np.int64)
    centre = np.datetime64(reference["DATE-AVG"], "ms").astype(np.int64)
    distance = np.interp(centre, stamps, data["solo_loc_carrington_dist"].to_value("km"))
    assert distance == pytest.approx(reference["DSUN_OBS"] / 1000.0, rel=1e-4)
    assert np.all(np.isnan(fits.getdata(path, "DATA")["roll_angle_rpy"]))  # no attitude kernel for 2020-05-01
    assert data["spice_disc_size"][0].value == pytest.approx(1300.547, abs=0.01)  # day start (at 0.73 au)

    back = read_aspect_file(path)
    assert len(back) == ROWS and np.all(back.data["timedel"] == 0)
    again = run_aspect(aspect_settings, history, None)
    assert again.due == [] and again.skipped == [f"{hk.name}: already processed"] and len(history.rows("ANC")) == 1


def test_rerun_merges_into_the_daily_file(aspect_settings, reference_data: Path, history) -> None:
    archive = Path(aspect_settings.fits_archive_dir)
    first = hk_input(archive, reference_data)
    run_aspect(aspect_settings, history, None)
    path = archive / ANC
    before = path.read_bytes()
    newer = hk_input(archive, reference_data, name="solo_L1_stix-hk-maxi_20200501_V03.fits")
    with fits.open(newer, mode="update") as hdul:  # a newer version with different diode values
        hdul["DATA"].data["hk_asp_photoa0_v"] += 0.5
    result = run_aspect(aspect_settings, history, None)
    assert result.processed == [newer.name] and result.skipped == [f"{first.name}: already processed"]
    assert result.written == [str(path)] and path.read_bytes() != before
    data = QTable.read(path, hdu="DATA")
    assert len(data) == ROWS  # the same times: newest wins per row
    np.testing.assert_allclose(data["y_srf"].value, expected_solution(newer)["y_srf"], atol=1e-4)
    assert fits.getheader(path)["PARENT"] == newer.name


def test_failures_make_no_product(aspect_settings, reference_data: Path, history, tmp_path: Path) -> None:
    archive = Path(aspect_settings.fits_archive_dir)
    hk = hk_input(archive, reference_data)
    failing = aspect_settings.replace(idl_executable=str(stand_in_idl(tmp_path / "bad", "exit")))
    result = run_aspect(failing, history, None)
    assert result.failed == [hk.name] and result.processed == [] and result.written == []
    assert "exit status 3" in result.errors[0] and hk.name in result.errors[0]
    assert not (archive / "ANC").exists() and history.rows("ANC") == []

    fatal = aspect_settings.replace(idl_executable=str(stand_in_idl(tmp_path / "fatal", "fatal")))
    result = run_aspect(fatal, history, None)
    assert result.failed == [hk.name] and "FATAL_IDL_ERROR" in result.errors[0]
    assert not (archive / "ANC").exists() and history.rows("ANC") == []

    unconfigured = run_aspect(aspect_settings.replace(idl_executable=""), history, None)
    assert unconfigured.failed == [hk.name] and "idl_executable is empty" in unconfigured.errors[0]

    (archive / "L1/2020/05/01/HK" / "solo_L1_stix-hk-maxi_20200501_V04.fits").write_bytes(b"not fits")
    mixed = run_aspect(aspect_settings, history, None)  # an unreadable input fails alone
    assert mixed.processed == [hk.name] and mixed.failed == ["solo_L1_stix-hk-maxi_20200501_V04.fits"]
    assert (archive / ANC).exists() and len(history.rows("ANC")) == 1
