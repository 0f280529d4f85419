"""``stix-pipeline process``: the runbook's options on the real moc_test telemetry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stix_lib.cli.main import main


@pytest.fixture
def env(settings, reference_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A TM folder with moc_test, an empty archive, STIX-CONF from the snapshot."""
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
