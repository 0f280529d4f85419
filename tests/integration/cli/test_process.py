"""``stix-pipeline process``: the runbook's options on the real moc_test telemetry."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from stix_lib.cli.main import main


@pytest.fixture
def env(settings, reference_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A TM folder with moc_test, an empty archive, STIX-CONF from the snapshot.

    moc_test is ground-test telemetry of 2019-11-27, 75 days before launch: outside the default
    mission window (tests/robustness checks it is refused there), so the margin is widened here.
    """
    monkeypatch.setenv("STIX_MISSION_TIME_MARGIN_BEFORE_LAUNCH", "120d")
    monkeypatch.setenv("STIX_CONF_DIR", str(reference_data / "stix-conf"))
    monkeypatch.setenv("STIX_SPICE_DIR", str(reference_data / "spice" / "kernels"))
    tm_dir = tmp_path / "tm"
    tm_dir.mkdir()
    shutil.copy(reference_data / "tm" / "moc_test.PktTmRaw.xml", tm_dir)
    return {"tm": tm_dir, "fits": tmp_path / "fits", "kernels": reference_data / "spice" / "kernels"}


def _process(capsys, *args: str) -> tuple[int, dict]:
    code = main(["process", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_moc_test_to_l1(env, capsys, tmp_path: Path) -> None:
    out_file = tmp_path / "produced.txt"
    code, summary = _process(capsys, "-t", str(env["tm"]), "-f", str(env["fits"]), "-o", str(out_file), "-w", "2")
    assert code == 0, summary
    written = summary["written"]
    assert (len(written["LB"]), len(written["L0"]), len(written["L1"]), len(written["L2"])) == (7, 7, 7, 0)
    assert summary["ok"] and summary["errors"] == 0 and summary["inputs_found"] == 1
    assert summary["inputs"][0]["source"].endswith("moc_test.PktTmRaw.xml")
    listed = out_file.read_text().split()
    assert len(listed) == 21 and all(Path(p).is_file() for p in listed)


def test_start_and_end_levels_and_filter(env, capsys) -> None:
    code, _ = _process(capsys, "-t", str(env["tm"]), "-f", str(env["fits"]), "-e", "LB")
    assert code == 0
    assert not (env["fits"] / "L0").exists()
    code, summary = _process(capsys, "-f", str(env["fits"]), "-b", "LB", "-e", "L0", "-F", "*21-6-3[01]_*")
    assert code == 0
    assert [Path(p).name for p in summary["written"]["L0"]] == [
        "solo_L0_stix-ql-lightcurve_0628128000_V02U.fits",
        "solo_L0_stix-ql-background_0628128000_V02U.fits",
    ]
    code, summary = _process(capsys, "-f", str(env["fits"]), "-b", "L0", "-e", "ALL")
    assert code == 0 and len(summary["written"]["L1"]) == 2


def test_input_file_list_with_regex(env, capsys, tmp_path: Path) -> None:
    other = env["tm"] / "other.PktTmRaw.xml"
    other.write_text("<not telemetry")
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"{env['tm'] / 'moc_test.PktTmRaw.xml'}\n{other}\n")
    code, summary = _process(capsys, "-f", str(env["fits"]), "-i", str(listing), "-F", "moc_.*xml$", "-e", "LB")
    assert code == 0 and summary["inputs_found"] == 1


def test_unusable_file_exit_2(env, capsys) -> None:
    (env["tm"] / "broken.PktTmRaw.xml").write_text("<ns2:ResponsePart><Response><PktRawResponse>")
    code, summary = _process(capsys, "-t", str(env["tm"]), "-f", str(env["fits"]), "-e", "L0")
    assert code == 2
    broken = next(r for r in summary["inputs"] if r["source"].endswith("broken.PktTmRaw.xml"))
    assert broken["status"] == "unusable" and broken["unusable"]
    assert len(summary["written"]["L0"]) == 7  # the good file is processed all the same


def test_end_before_start_is_an_error(env, capsys) -> None:
    assert main(["process", "-b", "L1", "-e", "L0"]) == 2


def test_clean(env, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    _process(capsys, "-t", str(env["tm"]), "-f", str(env["fits"]), "-e", "LB")
    assert any(env["fits"].iterdir())
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["process", "-t", str(env["tm"]), "-f", str(env["fits"]), "-e", "LB", "-c"]) == 2
    assert any(env["fits"].iterdir())
    code, summary = _process(capsys, "-t", str(env["tm"]), "-f", str(env["fits"]), "-e", "LB", "-c", "--yes")
    assert code == 0 and len(summary["written"]["LB"]) == 7  # cleaned, so written afresh


def test_explicit_meta_kernel_and_rid_lut_options(env, capsys) -> None:
    flown = sorted((env["kernels"] / "mk").glob("*flown*.tm"))[0]
    code, summary = _process(
        capsys,
        "-t",
        str(env["tm"]),
        "-f",
        str(env["fits"]),
        "-S",
        str(flown),
        "-r",
        "/nonexistent.csv",
        "--update_rid_lut",
    )
    assert code == 0
    from astropy.io import fits

    lc = next(p for p in summary["written"]["L1"] if "lightcurve" in p)
    assert fits.getheader(lc)["SPICE_MK"] == flown.name


def test_stop_on_error(env, capsys, reference_data: Path) -> None:
    text = (reference_data / "tm" / "moc_test.PktTmRaw.xml").read_text()
    start = text.index("<Packet>") + len("<Packet>")
    (env["tm"] / "moc_test.PktTmRaw.xml").write_text(text[:start] + "zz" + text[start + 2 :])  # one bad packet
    code, summary = _process(capsys, "-t", str(env["tm"]), "-f", str(env["fits"]), "--stop_on_error")
    assert code == 1 and summary["aborted"]
    code, summary = _process(capsys, "-t", str(env["tm"]), "-f", str(env["fits"]), "--continue_on_error")
    assert code == 1 and not summary["aborted"]
    assert summary["inputs"][0]["status"] == "partial"
    assert len(summary["inputs"][0]["packet_errors"]) == 1


# -- RID LUT: -r / --update_rid_lut ------------------------------------------------------------------
SPEC_RID = 87031812
#: Byte of the trigger compression scheme (pad, s, k(3), m(3)) in the spectrogram request packets.
TRIGGER_SKM_BYTE = 26


@pytest.fixture
def scaled_spec_lb(reference_data: Path, tmp_path: Path) -> Path:
    """The reference spectrogram re-encoded to an LB file whose trigger scheme claims scaling (0, 0, 7).

    Its triggers are all 0, valid codes of any scheme."""
    from dataclasses import replace

    from stix_lib.dev.simulate.reference import encode_reference
    from stix_lib.idb.manager import IDBManager
    from stix_lib.lb.convert import tms_to_lb
    from stix_lib.lb.fits_io import read_lb, write_lb

    source = tmp_path / "spec-l1"
    source.mkdir()
    (spec,) = (reference_data / "reference" / "l1").glob("solo_L1_stix-sci-xray-spec_*.fits")
    shutil.copy(spec, source / spec.name)
    encoding = encode_reference(source, tmp_path / "cpd-tm", reference_data / "idb")
    tms_to_lb(encoding.tm_files, tmp_path / "cpd-lb", IDBManager(reference_data / "idb"))
    (lb_path,) = (tmp_path / "cpd-lb").rglob("*.fits")
    lb = read_lb(lb_path)
    assert all(packet[TRIGGER_SKM_BYTE] != 0b0_0_000_111 for packet in lb.data)
    scaled = [packet[:TRIGGER_SKM_BYTE] + bytes([0b0_0_000_111]) + packet[TRIGGER_SKM_BYTE + 1 :] for packet in lb.data]
    out = tmp_path / "lb-source" / lb_path.relative_to(tmp_path / "cpd-lb")
    write_lb(replace(lb, data=scaled), out, version=2)
    return out


@pytest.fixture
def rid_api_url() -> Iterator[str]:
    """A local RID API answering every window with one row for the spectrogram request (scaling factor 5)."""
    from stix_lib.ridlut.table import format_rows

    row = {"_id": "7", "unique_id": str(SPEC_RID), "start_utc": date.today().isoformat() + "T00:00:00",
           "duration": "20", "type": "xray-spec", "subject": "flare", "purpose": "test", "scaling_factor": "5",
           "ior_id": "", "comment": ""}  # fmt: skip
    from stix_ops.dev.localservices import TextHttpServer

    server = TextHttpServer(lambda path: (200, format_rows([row]))).start()
    yield f"{server.url}/api/bsd/info/"
    server.stop()


def _archive_with(lb_file: Path, fits_dir: Path) -> None:
    target = fits_dir / "LB" / "21" / "6" / "24" / lb_file.name
    target.parent.mkdir(parents=True)
    shutil.copy(lb_file, target)


def test_scaled_triggers_without_rid_lut_are_a_file_error(env, capsys, scaled_spec_lb: Path, tmp_path: Path) -> None:
    _archive_with(scaled_spec_lb, env["fits"])
    missing = tmp_path / "nowhere" / "rid_lut.csv"
    code, summary = _process(capsys, "-b", "LB", "-e", "L1", "-f", str(env["fits"]), "-r", str(missing))
    assert code == 1 and not summary["ok"], json.dumps(summary)[:3000]
    (report,) = summary["inputs"]
    assert any("no RID LUT" in e and f"RID LUT file {missing} not found" in e for e in report["file_errors"]), report[
        "file_errors"
    ]
    assert not list((env["fits"] / "L1").rglob("*xray-spec*"))


def test_update_rid_lut_then_descale(
    env, capsys, scaled_spec_lb: Path, rid_api_url: str, tmp_path, monkeypatch, reference_data: Path
) -> None:
    from astropy.io import fits

    from stix_lib.ridlut.table import RidLut, format_rows

    monkeypatch.setenv("STIX_RID_LUT_UPDATE_URL", rid_api_url)
    lut = tmp_path / "lut" / "rid_lut.csv"
    lut.parent.mkdir()
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    lut.write_text(format_rows([{"_id": "1", "unique_id": "1", "start_utc": yesterday + "T00:00:00"}]))
    _archive_with(scaled_spec_lb, env["fits"])
    code, summary = _process(capsys, "-b", "LB", "-e", "L1", "-f", str(env["fits"]), "-r", str(lut), "--update_rid_lut")
    assert code == 0, summary
    assert RidLut.read(lut).scaling_factor(SPEC_RID) == 5  # fetched from the API into the file
    (l1,) = (env["fits"] / "L1").rglob("solo_L1_stix-sci-xray-spec_*.fits")
    with fits.open(l1) as hdul:
        assert hdul[0].header["TRIG_SCA"] == 5
        assert "trigger descaled with 5" in str(hdul[0].header["HISTORY"])
        triggers = np.asarray(hdul["DATA"].data["triggers"], dtype=np.int64)
    # summed trigger of 16 active accumulators, 4 s bins (n_int 40), factor 5: T = (T_s + 0.5) * 16 * 40 * 5;
    # the reference triggers are below 64, where the code is the value in both schemes
    (spec,) = (reference_data / "reference" / "l1").glob("solo_L1_stix-sci-xray-spec_*.fits")
    scaled = np.asarray(fits.getdata(spec, "DATA")["triggers"], dtype=np.int64).ravel()
    assert scaled.max() < 64 and triggers.tolist() == (scaled * 3200 + 1600).tolist()
