"""A simulated period decodes cleanly and carries the physics it was built with."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from stix_lib.cli.main import main
from stix_lib.decode.batch import decode_packets
from stix_lib.decode.classify import request_ids
from stix_lib.decode.engineering import calibrate
from stix_lib.decode.skm import decompress_packets
from stix_lib.dev.simulate.simulator import SimulationConfig, SimulationResult, simulate
from stix_lib.idb.manager import IDBManager
from stix_lib.lb.sequences import extract_sequences
from stix_lib.time.nominal_clock import scet_to_utc
from stix_lib.tm.headers import decode_headers
from stix_lib.tm.xml_reader import read_packets

NAME = re.compile(
    r"^solo_BatchRequest\.PktTmRaw\.SOL\.0\.(\d{4}\.\d{3}\.\d\d\.\d\d\.\d\d\.\d{3})\.[A-Za-z]{4}"
    r"@\d{4}\.\d{3}\.\d\d\.\d\d\.\d\d\.\d{3}\.1\.xml$"
)


def inspect_json(files: list[Path], idb_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    capsys.readouterr()
    status = main(["inspect", "--json", "--idb-dir", str(idb_dir), *map(str, files)])
    return status, json.loads(capsys.readouterr().out)


def all_packets(files: list[Path]) -> list[bytes]:
    out = []
    for path in files:
        packets, errors = read_packets(path)
        assert errors == []
        out += [p.data for p in packets]
    return out


@pytest.fixture(scope="module")
def decoded(flare_run: SimulationResult, idb_manager: IDBManager):
    packets = all_packets(flare_run.files)
    return packets, decode_packets(packets, idb_manager)


def test_inspect_reports_no_errors_and_the_manifest_counts(
    flare_run: SimulationResult, idb_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = inspect_json(flare_run.files, idb_dir, capsys)
    assert status == 0
    (record,) = report["files"]
    assert record["errors"] == []
    counts = {f"{e['service']}-{e['subtype']}-{e['ssid']}": e["count"] for e in record["by_type"]}
    expected = Counter()
    for label, count in flare_run.manifest["packets_by_type"].items():
        expected[label.split()[0]] += count
    assert counts == dict(expected)
    assert record["packets"] == flare_run.manifest["total_packets"]
    assert set(counts) >= {
        "3-25-1", "3-25-2", "21-6-20", "21-6-21", "21-6-22", "21-6-23", "21-6-24",
        "21-6-30", "21-6-31", "21-6-32", "21-6-33", "21-6-34", "21-6-41", "21-6-42", "21-6-43",
    }  # fmt: skip


def test_packets_fit_and_sequence_counts_run_per_apid(decoded) -> None:
    packets, result = decoded
    assert max(len(p) for p in packets) <= 4112
    headers = decode_headers(packets)
    apid = (headers["process_id"].astype(int) << 4) | headers["packet_category"]
    times = headers["scet_coarse"].astype(np.int64) * 65536 + headers["scet_fine"]
    for value in np.unique(apid):
        counts = headers["sequence_count"][apid == value].astype(int)
        assert np.all(np.diff(counts) % 16384 == 1)  # file order is generation order
    assert np.all(np.diff(times) >= -65536 * 2)  # grouped packets may borrow their group's start


def light_curve(result) -> tuple[np.ndarray, np.ndarray]:
    """Decompressed light-curve counts ``(samples, 5)`` and RCR per sample."""
    (group,) = result.by_type(21, 6, 30)
    values, failed = decompress_packets(group)
    assert failed == {}
    samples = group.values["NIX00271"].reshape(-1, 5)[:, 0]
    counts = []
    for i, n in enumerate(samples.tolist()):
        block = values["NIX00272"].values[group.offsets["NIX00272"][i] : group.offsets["NIX00272"][i + 1]]
        counts.append(block.reshape(5, n).T)
    assert set(group.values["NIX00405"].tolist()) == {39}
    return np.concatenate(counts), group.values["NIX00276"]


def test_light_curve_shows_the_flare_and_rate_control(flare_run: SimulationResult, decoded) -> None:
    _, result = decoded
    lc, rcr = light_curve(result)
    assert len(lc) == len(rcr) == 3 * 3600 // 4
    quiet = np.median(lc[:300], axis=0)
    assert quiet == pytest.approx([270, 45, 65, 990, 1600], rel=0.15)
    peak = int(round(flare_run.manifest["flare"]["peak"] / 4))
    assert lc[peak - 20 : peak + 20, 1].max() > 20 * quiet[1]
    assert rcr.max() == 2 and rcr[:300].max() == 0 and rcr[-100:].max() == 0
    assert np.count_nonzero(np.diff(rcr)) == 4  # 0 -> 1 (attenuator in) -> 2 -> 1 -> 0
    assert np.all(rcr[np.argmax(lc[:, 1])] >= 1)


def test_flare_flag_location_and_flare_list(flare_run: SimulationResult, decoded) -> None:
    _, result = decoded
    (flag,) = result.by_type(21, 6, 34)
    thermal = flag.values["NIXD0061"]
    valid = flag.values["NIXD0059"] == 1
    assert thermal.max() >= 2 and valid.any() and not valid[:100].any()
    z, y = flare_run.manifest["flare"]["location"]
    assert np.all(np.abs(flag.values["NIX00283"][valid] - z) <= 1)
    assert np.all(np.abs(flag.values["NIX00284"][valid] - y) <= 1)
    assert np.all(flag.values["NIXD0449"] == (thermal > 0))
    (status,) = result.by_type(21, 6, 43)
    listed = status.values["NIX00294"]
    assert listed[0] == 0 and listed[-1] == 1
    assert status.values["NIX00289"].tolist() == [thermal.max()] * int(listed.sum())


def test_housekeeping_engineering_values(decoded, idb_manager: IDBManager) -> None:
    _, result = decoded
    (maxi,) = result.by_type(3, 25, 2)
    (mini,) = result.by_type(3, 25, 1)
    assert len(maxi) == len(range(30, 3 * 3600, 64)) and len(mini) == 4
    idb = idb_manager.get_idb(maxi.layout.idb_version)
    det = calibrate(idb, "NIXD0054", maxi.values["NIXD0054"]).values
    assert det == pytest.approx(273.15 - 37.0, abs=1.5)
    assert set(calibrate(idb, "NIXD0023", maxi.values["NIXD0023"]).values.tolist()) == {"NOMINAL"}
    assert set(calibrate(idb, "NIXD0023", mini.values["NIXD0023"]).values.tolist()) == {"BOOT"}
    inserted = calibrate(idb, "NIXD0068", maxi.values["NIXD0068"]).values
    assert inserted.any() and not inserted.all()
    assert np.all(np.diff(maxi.values["NIX00076"]) >= 0) and maxi.values["NIX00076"][-1] == 2  # in and out


def test_calibration_spectra_show_the_source_lines(decoded) -> None:
    _, result = decoded
    (cal,) = result.by_type(21, 6, 41)
    values, failed = decompress_packets(cal)
    assert failed == {}
    assert cal.values["NIX00159"].sum() == 32 * 12
    spectrum = values["NIX00158"].values.reshape(384, 1024).sum(axis=0)
    line_31 = int(round(60 + 2.5 * 30.9))
    assert np.argmax(spectrum[:200]) in range(line_31 - 2, line_31 + 3)


def test_science_requests_are_complete_and_unique(
    flare_run: SimulationResult, decoded, idb_manager: IDBManager
) -> None:
    packets, result = decoded
    is_bsd, psc, rid, errors = request_ids(packets, result.index, idb_manager)
    assert errors == {}
    requests = [r for r in flare_run.manifest["requests"] if r["ssid"] != 42]
    assert {r["ssid"] for r in requests} == {20, 21, 22, 23, 24}
    assert len({r["request_id"] for r in requests}) == len({r["tc_sequence_control"] for r in requests}) == 5
    headers = result.index.headers
    for request in requests:
        members = np.nonzero(is_bsd & (rid == request["request_id"]))[0]
        assert len(members) == request["packets"]
        assert set(psc[members].tolist()) == {request["tc_sequence_control"]}
        sequences = extract_sequences(
            headers["sequence_flag"][members], headers["sequence_count"][members], (21, 6, request["ssid"])
        )
        assert len(sequences) == 1 and sequences[0].complete
    for ssid in (21, 22, 23, 24):
        (group,) = result.by_type(21, 6, ssid)
        _, failed = decompress_packets(group)
        assert failed == {}


def _window(manifest: dict, request: dict) -> slice:
    origin = np.datetime64(manifest["start_utc"], "ms")
    first, last = (
        int((np.datetime64(request[k], "ms") - origin).astype(np.int64)) // 4000 for k in ("start_utc", "end_utc")
    )
    return slice(first, last)


def test_pixel_data_and_spectrogram_agree_with_the_light_curve(flare_run: SimulationResult, decoded) -> None:
    """Science counts (4-150 keV) over a request window match the light curve over the same window."""
    _, result = decoded
    lc, _ = light_curve(result)
    manifest = flare_run.manifest
    requests = {r["ssid"]: r for r in manifest["requests"]}
    (rpd,) = result.by_type(21, 6, 20)
    channel = rpd.values["NIXD0154"]
    rpd_total = rpd.values["NIX00065"][(channel >= 1) & (channel <= 30)].sum()
    (cpd,) = result.by_type(21, 6, 21)
    cpd_total = decompress_packets(cpd)[0]["NIX00260"].values.sum()
    (spec,) = result.by_type(21, 6, 24)
    spec_total = decompress_packets(spec)[0]["NIX00268"].values.sum()
    for total, ssid in ((rpd_total, 20), (cpd_total, 21), (spec_total, 24)):
        reference = lc[_window(manifest, requests[ssid])].sum()
        assert total == pytest.approx(reference, rel=0.1), ssid
    assert rpd_total > 20_000


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, idb_dir: Path) -> None:
    def run(out: Path, seed: int) -> SimulationResult:
        return simulate(
            SimulationConfig(
                "2021-08-01T00:00:00", 1200.0, out, idb_dir, scenario="all", seed=seed, files=2, duplicates=0.1
            )
        )

    a, b, c = run(tmp_path / "a", 5), run(tmp_path / "b", 5), run(tmp_path / "c", 6)
    assert [p.name for p in a.files] == [p.name for p in b.files]
    for x, y in zip(a.files, b.files, strict=True):
        assert x.read_bytes() == y.read_bytes()
    assert a.manifest_path.read_bytes() == b.manifest_path.read_bytes()
    assert [p.read_bytes() for p in a.files] != [p.read_bytes() for p in c.files]


def test_delivery_options_and_exact_corruption_report(
    tmp_path: Path, idb_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = simulate(SimulationConfig("2020-05-06T00:00:00", 3600.0, tmp_path / "plain", idb_dir, "flare", seed=3))
    run = simulate(
        SimulationConfig(
            "2020-05-06T00:00:00",
            3600.0,
            tmp_path / "messy",
            idb_dir,
            "flare",
            seed=3,
            files=4,
            shuffle=True,
            duplicates=0.1,
            corrupt=0.05,
        )  # fmt: skip
    )
    manifest = run.manifest
    assert len(run.files) == 4 and all(NAME.match(p.name) for p in run.files)
    status, report = inspect_json(run.files, idb_dir, capsys)
    assert status == 1
    reported = {(Path(f["file"]).name, e["packet_id"]) for f in report["files"] for e in f["errors"]}
    corrupted = {(c["file"], c["packet_id"]) for c in manifest["corrupted"]}
    assert reported == corrupted and len(corrupted) == round(0.05 * (base.packet_count + len(manifest["duplicates"])))
    assert len(manifest["duplicates"]) == round(0.1 * base.packet_count)
    # same packets as the plain delivery: every intact element is one of them, every one arrives
    plain = Counter(all_packets(base.files))
    messy: Counter[bytes] = Counter()
    for path in run.files:
        packets, errors = read_packets(path)
        messy.update(p.data for p in packets)
        assert {e.packet_id for e in errors} == {
            c["packet_id"] for c in manifest["corrupted"] if c["file"] == path.name
        }
    assert set(messy) <= set(plain)
    homes = {}
    for f in manifest["files"]:
        homes[f["name"]] = f
    for dup in manifest["duplicates"]:
        assert dup["file"] in homes
    assert sum(f["elements"] for f in manifest["files"]) == base.packet_count + len(manifest["duplicates"])
    first = []
    for path in run.files:
        packets, _ = read_packets(path)
        first.append(decode_headers([p.data for p in packets if len(p.data) >= 16]))
    order = np.concatenate([h["scet_coarse"] for h in first])
    assert np.any(np.diff(order.astype(np.int64)) < 0)  # shuffled


def test_file_name_carries_the_first_packet_time(flare_run: SimulationResult) -> None:
    (path,) = flare_run.files
    match = NAME.match(path.name)
    assert match
    packets, _ = read_packets(path)
    headers = decode_headers([p.data for p in packets])
    first = scet_to_utc(headers["scet_coarse"].astype(np.int64), headers["scet_fine"].astype(np.int64)).min()
    stamp = np.datetime64(first, "ms")
    year, doy, hh, mm, ss, ms = match.group(1).split(".")
    expected = (
        np.datetime64(f"{year}-01-01", "ms")
        + np.timedelta64(int(doy) - 1, "D")
        + np.timedelta64(((int(hh) * 60 + int(mm)) * 60 + int(ss)) * 1000 + int(ms), "ms")
    )
    assert expected == stamp
