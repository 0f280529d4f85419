"""``stix-pipeline kernels build`` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stix_lib.cli.main import main
from tests.support.kernels_support import END, FLOWN_UNTIL, START


@pytest.fixture(autouse=True)
def _no_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STIX_CONFIG", raising=False)
    monkeypatch.setenv("STIX_DATA_ROOT", str(tmp_path / "data"))


def test_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kernels"
    argv = ["kernels", "build", "--out", str(out), "--start", START + "Z", "--end", END, "--flown-until", FLOWN_UNTIL]
    assert main([*argv, "--zip", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["root"] == str(out.resolve())
    assert report["flown_meta_kernel"] == "mk/solo_ANC_soc-flown-mk_V001_20240303_001.tm"
    assert all((out / name).is_file() for name in report["files"])
    assert [Path(p).parent for p in report["zip_paths"]] == [out.resolve() / "zip"] * 2
    assert report["flown_until"] == "2024-03-03T00:00:00.000"


def test_plain_output_and_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kernels"
    assert main(["kernels", "build", "--out", str(out), "--start", START, "--end", END, "--kernel-version", "3"]) == 0
    text = capsys.readouterr().out
    assert "solo_ANC_soc-pred-mk_V003_20240305_001.tm" in text
    assert (out / "fk" / "solo_ANC_soc-sc-fk_V03.tf").is_file()


def test_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kernels", "build", "--out", str(tmp_path), "--start", END, "--end", START]) == 2
    assert "start must be before end" in capsys.readouterr().err
    assert main(["kernels"]) == 2
    with pytest.raises(SystemExit):
        main(["kernels", "build", "--start", START, "--end", END])  # --out is required
