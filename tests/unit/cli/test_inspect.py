"""``stix-pipeline inspect`` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stix_lib.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_inspect_moc_test_json(settings, reference_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tm = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    code, out = _run(capsys, "inspect", str(tm), "--json")
    assert code == 0
    report = json.loads(out)
    assert list(report) == ["files"]
    (record,) = report["files"]
    assert list(record) == [
        "file", "packets", "by_type", "obt_range", "idb_versions", "errors", "rejected", "outside_mission"
    ]  # fmt: skip
    assert record["file"] == str(tm) and record["packets"] == 16
    assert record["by_type"] == [
        {"service": 21, "subtype": 6, "ssid": s, "count": n}
        for s, n in [(30, 2), (31, 2), (32, 2), (33, 2), (34, 2), (41, 4), (43, 2)]
    ]
    assert record["obt_range"][0] == pytest.approx(628184120, abs=1) and record["obt_range"][1] == pytest.approx(
        628189995, abs=1
    )
    assert record["idb_versions"] == ["2.26.32"]
    assert record["errors"] == [] and record["rejected"] == {}
    assert record["outside_mission"] == 16  # ground test of 2019-11-27: decodes, but no products


def test_inspect_packet_errors_exit_1(settings, reference_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dump = reference_data / "tm" / "esa_2018_packets.hex"
    code, out = _run(capsys, "inspect", str(dump), "--json", "--idb_dir", str(reference_data / "idb"))
    assert code == 1
    (record,) = json.loads(out)["files"]
    assert record["packets"] == 426
    assert len(record["errors"]) == 335
    assert all("shorter than its IDB layout" in e["reason"] for e in record["errors"])
    assert {"service": 3, "subtype": 25, "ssid": 2, "count": 329} in record["by_type"]
    assert {"service": 1, "subtype": 1, "ssid": None, "count": 26} in record["by_type"]
    assert record["idb_versions"] == ["2.26.32", "2.26.35"]


def test_inspect_unusable_file_exit_2(
    settings, reference_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.PktTmRaw.xml"
    broken.write_text("this is not xml")
    tm = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    code, out = _run(capsys, "inspect", str(tm), str(broken), "--json")
    assert code == 2
    records = json.loads(out)["files"]
    assert [r["packets"] for r in records] == [16, 0]
    assert records[1]["errors"][0]["packet_id"] is None and records[1]["errors"][0]["reason"]
    code, _ = _run(capsys, "inspect", str(tmp_path / "missing.xml"))
    assert code == 2


def test_inspect_text_output(settings, reference_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capsys, "inspect", str(reference_data / "tm" / "moc_test.PktTmRaw.xml"))
    assert code == 0
    assert "16 packet(s)" in out and "IDB 2.26.32" in out and "21/6/41" in out


def test_inspect_bad_idb_dir(
    settings, reference_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(
        capsys, "inspect", str(reference_data / "tm" / "moc_test.PktTmRaw.xml"), "--idb_dir", str(tmp_path)
    )
    assert code == 2 and "IDB" in out
