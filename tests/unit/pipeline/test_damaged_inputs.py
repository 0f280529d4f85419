"""``stix-pipeline process`` on batches holding one damaged delivery (issue 16, classes 1-5, 7).

Each test builds its damaged file from good telemetry, processes it next to the good file ``a``
and checks the exit code, that the report names the file (and packet) and the reason, and that
``a``'s products equal the clean run of ``a`` alone.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from stix_lib.cli.main import main
from tests.support.robustness_support import (
    apid_of,
    assert_products_equal,
    coarse_of,
    lb_rows,
    products,
    read_elements,
    service_of,
    short_tc_packet,
    truncated_copy,
    with_apid,
    with_byte,
    with_coarse,
    with_extra_packets,
    with_service,
)


def _process(capsys, env: dict[str, Path], *extra: str) -> tuple[int, dict]:
    code = main(["process", "-t", str(env["tm"]), "-f", str(env["fits"]), "-e", "L1", "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def _report_of(summary: dict, name: str) -> dict:
    (report,) = [r for r in summary["inputs"] if Path(r["source"]).name == name]
    return report


def _packet_errors(report: dict, packet_id: int) -> list[str]:
    return [e["reason"] for e in report["packet_errors"] if e["packet_id"] == packet_id]


def _c_packet(corpus, service: int, subtype: int) -> tuple[int, bytes]:
    for packet_id, _ground, packet in read_elements(corpus.c):
        if service_of(packet) == (service, subtype):
            return packet_id, packet
    raise AssertionError(f"no {service}/{subtype} packet in {corpus.c}")


def _lb_of_type(archive: Path, service: int, subtype: int, ssid: int | None) -> list[Path]:
    folder = archive / "LB" / str(service) / str(subtype) / (str(ssid) if ssid is not None else "")
    return sorted(folder.glob("*.fits"))


def test_short_tc_packet_inside_tm_is_reported_and_the_rest_processed(corpus, cli_env, capsys) -> None:
    damaged = with_extra_packets(corpus.c, cli_env["tm"] / "c_tc.PktTmRaw.xml", [(9001, short_tc_packet(12))])
    code, summary = _process(capsys, cli_env)
    assert code == 1, summary
    report = _report_of(summary, damaged.name)
    assert report["status"] == "partial" and report["rejected"] == {"tc": 1}
    (reason,) = _packet_errors(report, 9001)
    assert "TC packet" in reason and "1452" in reason
    assert report["produced"]["LB"]  # its TM packets became products
    assert_products_equal(cli_env["fits"], corpus.clean_a)


def test_non_ascii_file_name_is_escaped_in_the_headers(corpus, cli_env, capsys) -> None:
    name = "solo Sönne ☀ 2024 (1).PktTmRaw.xml"
    shutil.copy(corpus.c, cli_env["tm"] / name)
    code, summary = _process(capsys, cli_env)
    assert code == 0, summary
    report = _report_of(summary, name)
    assert report["status"] == "ok" and report["produced"]["LB"]
    assert len(summary["written"]["L1"]) > len(products(corpus.clean_a)) // 3  # a's and c's
    escaped = "solo S\\xf6nne \\u2600 2024 (1).PktTmRaw.xml"
    lb = report["produced"]["LB"][0]
    assert escaped in fits.getheader(lb)["RAW_FILE"]
    assert_products_equal(cli_env["fits"], corpus.clean_a)


def test_unreadable_file_is_unusable_and_named(corpus, cli_env, capsys, monkeypatch) -> None:
    damaged = shutil.copy(corpus.c, cli_env["tm"] / "c_locked.PktTmRaw.xml")
    os.chmod(damaged, 0)
    if os.geteuid() == 0:  # root reads anything: refuse the open as the kernel would for a user
        original = Path.open

        def denied(self, *args, **kwargs):
            if self.name == "c_locked.PktTmRaw.xml":
                raise PermissionError(13, "Permission denied", str(self))
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", denied)
    code, summary = _process(capsys, cli_env)
    assert code == 2, summary
    report = _report_of(summary, "c_locked.PktTmRaw.xml")
    assert report["status"] == "unusable"
    assert "c_locked.PktTmRaw.xml" in report["unusable"] and "Permission denied" in report["unusable"]
    assert_products_equal(cli_env["fits"], corpus.clean_a)


def test_foreign_apid_is_not_merged_into_stix_products(corpus, cli_env, capsys) -> None:
    packet_id, hk = _c_packet(corpus, 3, 25)
    assert apid_of(hk) != 1000
    damaged = with_extra_packets(corpus.c, cli_env["tm"] / "c_foreign.PktTmRaw.xml", [(9002, with_apid(hk, 1000))])
    code, summary = _process(capsys, cli_env)
    assert code == 1, summary
    report = _report_of(summary, damaged.name)
    assert report["rejected"] == {"foreign_apid": 1}
    (reason,) = _packet_errors(report, 9002)
    assert "foreign APID 1000" in reason
    # the hk LB file of c's day holds c's own packets only
    hk_packets = sum(1 for _, _, p in read_elements(corpus.c) if service_of(p) == (3, 25))
    day_files = [p for p in report["produced"]["LB"] if "/3/25/" in p]
    assert sum(lb_rows(Path(p)) for p in day_files) == hk_packets
    assert_products_equal(cli_env["fits"], corpus.clean_a)


def test_unknown_service_and_ssid_are_counted_not_dropped(corpus, cli_env, capsys) -> None:
    from stix_lib.idb.manager import IDBManager

    _, ql = _c_packet(corpus, 21, 6)
    idb = IDBManager(corpus.settings.idb_dir).get_idb(obt=coarse_of(ql))
    offset, width = idb.get_packet_pi1_position(21, 6)
    assert width == 8
    damaged = with_extra_packets(
        corpus.c,
        cli_env["tm"] / "c_unknown.PktTmRaw.xml",
        [(9003, with_service(ql, 200, 77)), (9004, with_byte(ql, offset, 99))],
    )
    code, summary = _process(capsys, cli_env)
    assert code == 1, summary
    report = _report_of(summary, damaged.name)
    assert report["rejected"] == {"unknown_type": 2}
    assert "200/77 unknown" in _packet_errors(report, 9003)[0]
    assert "SSID 99 unknown" in _packet_errors(report, 9004)[0]
    assert_products_equal(cli_env["fits"], corpus.clean_a)


@pytest.mark.parametrize("coarse", [0, 3_155_760_000], ids=["obt-0", "year-2100"])
def test_packets_outside_the_mission_make_no_products(corpus, cli_env, capsys, coarse) -> None:
    _, hk = _c_packet(corpus, 3, 25)
    damaged = with_extra_packets(corpus.c, cli_env["tm"] / "c_time.PktTmRaw.xml", [(9005, with_coarse(hk, coarse))])
    code, summary = _process(capsys, cli_env)
    assert code == 1, summary
    report = _report_of(summary, damaged.name)
    assert report["rejected"] == {"outside_mission_time": 1}
    (reason,) = _packet_errors(report, 9005)
    assert "outside the mission" in reason
    names = [Path(p).name for level in ("L0", "L1") for p in summary["written"][level]]
    assert not any("20000101" in n or "2099" in n or "2100" in n or "_0000000000_" in n for n in names), names
    assert_products_equal(cli_env["fits"], corpus.clean_a)


def test_ground_test_data_decodes_with_inspect_but_makes_no_products(settings, reference_data, tmp_path, capsys):
    moc = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    assert main(["inspect", str(moc), "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["files"]
    assert record["errors"] == [] and record["outside_mission"] == 16
    tm = tmp_path / "tm"
    tm.mkdir()
    shutil.copy(moc, tm)
    code = main(["process", "-t", str(tm), "-f", str(tmp_path / "fits"), "-e", "L0", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    (report,) = summary["inputs"]
    assert report["rejected"] == {"outside_mission_time": 16} and len(report["packet_errors"]) == 16
    assert "before launch" in report["packet_errors"][0]["reason"]
    assert summary["written"] == {"LB": [], "L0": [], "L1": [], "L2": []}


def test_truncated_file_gives_its_complete_packets_and_a_later_full_copy_completes(corpus, cli_env, capsys):
    elements = read_elements(corpus.c)
    keep = len(elements) // 2
    name = "c_cut.PktTmRaw.xml"
    truncated_copy(corpus.c, cli_env["tm"] / name, keep)
    code, summary = _process(capsys, cli_env)
    assert code == 1, summary
    report = _report_of(summary, name)
    assert report["status"] == "partial" and report["unusable"] is None
    assert name in report["truncated"] and "truncated" in report["truncated"]
    quarantined = cli_env["quarantine"] / name
    assert quarantined.is_file() and (cli_env["quarantine"] / (name + ".reason")).is_file()
    kept_lb = sum(lb_rows(Path(p)) for p in report["produced"]["LB"])
    assert kept_lb == keep  # every complete element (c has no duplicates), nothing of the cut one
    assert_products_equal(cli_env["fits"], corpus.clean_a)

    # the full file arrives under the same name: merged, no duplicates, same products as a clean run of c
    shutil.copy(corpus.c, cli_env["tm"] / name)
    code, summary = _process(capsys, cli_env)
    assert code == 0, summary
    clean_c = cli_env["fits"].parent / "clean-c"
    tm_c = cli_env["fits"].parent / "tm-c"
    tm_c.mkdir()
    shutil.copy(corpus.c, tm_c / name)
    assert main(["process", "-t", str(tm_c), "-f", str(clean_c), "-e", "L1", "--json"]) == 0
    capsys.readouterr()
    assert_products_equal(cli_env["fits"], clean_c)
    c_lb = [p for name_, p in products(cli_env["fits"]).items() if name_.startswith("LB") and p.name in
            {q.name for q in products(clean_c).values()}]  # fmt: skip
    assert sum(lb_rows(p) for p in c_lb) == len(elements)
    assert np.all([lb_rows(p) > 0 for p in c_lb])


def test_inspect_shows_the_complete_packets_of_a_truncated_file(corpus, settings, tmp_path, capsys) -> None:
    keep = len(read_elements(corpus.c)) // 2
    cut = truncated_copy(corpus.c, tmp_path / "c_cut.PktTmRaw.xml", keep)
    assert main(["inspect", str(cut), "--json", "--idb_dir", str(corpus.settings.idb_dir)]) == 1
    (record,) = json.loads(capsys.readouterr().out)["files"]
    assert sum(entry["count"] for entry in record["by_type"]) == keep
    assert [e["reason"] for e in record["errors"] if e["packet_id"] is None][0].startswith("truncated or broken XML")
