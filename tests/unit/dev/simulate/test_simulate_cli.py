"""``stix-pipeline simulate`` end to end: a nominal day, an IDB change, option errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stix_lib.cli.main import main
from stix_lib.decode.batch import decode_packets
from stix_lib.idb.manager import IDBManager
from stix_lib.tm.xml_reader import read_packets


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_one_nominal_day_decodes_with_the_real_packet_shapes(
    tmp_path: Path, idb_dir: Path, idb_manager: IDBManager, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "day"
    status, text, _ = run_cli(
        capsys, "simulate", "--start", "2020-05-06T00:00:00", "--duration", "1d", "--out", str(out),
        "--scenario", "flare", "--seed", "4", "--files", "2", "--idb-dir", str(idb_dir),
    )  # fmt: skip
    assert status == 0 and "manifest:" in text
    manifest = json.loads((out / "simulate-manifest.json").read_text())
    files = sorted(out / f["name"] for f in manifest["files"])
    status, report, _ = run_cli(capsys, "inspect", "--json", "--idb-dir", str(idb_dir), *map(str, files))
    assert status == 0
    assert all(f["errors"] == [] for f in json.loads(report)["files"])
    packets = [p.data for f in files for p in read_packets(f)[0]]
    result = decode_packets(packets, idb_manager)
    assert result.errors == [] and manifest["idb_versions"] == ["2.26.32"]
    by_type = {key[:3]: group for key, group in result.groups.items()}
    assert len(by_type[(3, 25, 2)]) == 1350  # HK maxi every 64 s
    samples = {
        30: by_type[(21, 6, 30)].values["NIX00273"],
        31: by_type[(21, 6, 31)].values["NIX00273"],
        33: by_type[(21, 6, 33)].values["NIX00280"],
    }
    assert samples[30][:-1].tolist() == [580] * (len(samples[30]) - 1)  # as the real 2020 light curves
    assert samples[31][:-1].tolist() == [678] * (len(samples[31]) - 1)
    assert samples[33][:-1].tolist() == [4073] * (len(samples[33]) - 1)
    assert samples[30].sum() == 21600 and samples[33].sum() == 21600 and samples[31].sum() == 10800
    assert max(len(p) for p in packets) == 4112


def test_idb_change_inside_the_period(tmp_path: Path, idb_dir: Path, idb_manager: IDBManager) -> None:
    """2.26.34 -> 2.26.35 on 2021-06-23T14:38:40: science time fields change width; both decode."""
    from stix_lib.dev.simulate.simulator import SimulationConfig, simulate

    run = simulate(SimulationConfig("2021-06-23T13:50:00", 5400.0, tmp_path, idb_dir, scenario="bsd", seed=2))
    assert run.manifest["idb_versions"] == ["2.26.34", "2.26.35"]
    packets = [p.data for f in run.files for p in read_packets(f)[0]]
    result = decode_packets(packets, idb_manager)
    assert result.errors == []
    versions = {key[3] for key in result.groups}
    assert versions == {"2.26.34", "2.26.35"}
    science = [g for key, g in result.groups.items() if key[2] in (20, 21, 22, 23, 24)]
    assert science and all(("NIX00404" in g.layout.names) == (g.layout.idb_version == "2.26.35") for g in science)
    assert np.unique(np.concatenate([g.values["NIX00120"] for g in science])).tolist() == [20, 21, 22, 23, 24]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "1h"], "--start is required"),
        (["--start", "1999-01-01T00:00:00", "--duration", "1h"], "before the SCET epoch"),
        (["--start", "2021-01-01T00:00:00", "--duration", "0s"], "duration must be positive"),
        (["--start", "not-a-time"], "Error parsing"),
    ],
)
def test_unusable_options(
    tmp_path: Path, idb_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status, _, err = run_cli(capsys, "simulate", "--out", str(tmp_path), "--idb-dir", str(idb_dir), *args)
    assert status == 2 and message in err


def test_from_reference_needs_products(tmp_path: Path, idb_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    status, _, err = run_cli(
        capsys, "simulate", "--from-reference", str(empty), "--out", str(tmp_path / "out"), "--idb-dir", str(idb_dir)
    )
    assert status == 2 and "no STIXCore L1 products" in err


@pytest.mark.parametrize("args", [["--corrupt", "1.5"], ["--files", "0"], ["--seed", "-1"], ["--scenario", "storm"]])
def test_argument_validation(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--start", "2021-01-01T00:00:00", "--out", str(tmp_path), *args])
    assert info.value.code == 2
