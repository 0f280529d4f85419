"""Real STIXCore L1 products -> telemetry -> decoded raw values: the reference values come back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import spiceypy

from stix_lib.cli.main import main
from stix_lib.decode.batch import DecodeResult, decode_packets
from stix_lib.decode.compression import compress
from stix_lib.decode.engineering import calibrate
from stix_lib.decode.skm import decompress_packets
from stix_lib.dev.simulate.reference import ReferenceEncoding, encode_reference
from stix_lib.dev.simulate.reference_io import ReferenceProduct, column_parameter, read_product
from stix_lib.idb.manager import IDBManager
from stix_lib.lb.sequences import extract_sequences
from stix_lib.tm.xml_reader import read_packets


@pytest.fixture(scope="module")
def encoding(tmp_path_factory: pytest.TempPathFactory, reference_data: Path, idb_dir: Path) -> ReferenceEncoding:
    return encode_reference(reference_data / "reference" / "l1", tmp_path_factory.mktemp("reference"), idb_dir)


@pytest.fixture(scope="module")
def references(reference_data: Path) -> dict[str, ReferenceProduct]:
    products = [read_product(p) for p in sorted((reference_data / "reference" / "l1").glob("solo_L1_*.fits"))]
    return {p.name: p for p in products}


@pytest.fixture(scope="module")
def decoded(encoding: ReferenceEncoding, idb_manager: IDBManager) -> dict[str, DecodeResult]:
    out = {}
    for path in encoding.tm_files:
        packets, errors = read_packets(path)
        assert errors == []
        result = decode_packets(packets, idb_manager)
        assert result.errors == []
        out[path.name.split(".")[0].removeprefix("solo_Reference-")] = result
    return out


def single(result: DecodeResult):
    (group,) = result.groups.values()
    return group


def test_every_reference_product_is_encoded(encoding: ReferenceEncoding, references) -> None:
    assert encoding.skipped == {}
    assert set(encoding.packets_by_product) == set(references)
    manifest = json.loads(encoding.manifest_path.read_text())
    assert len(manifest["tm_files"]) == 12


def test_inspect_reports_no_errors(
    encoding: ReferenceEncoding, idb_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    status = main(["inspect", "--json", "--idb-dir", str(idb_dir), *map(str, encoding.tm_files)])
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and all(f["errors"] == [] for f in report["files"])


def test_hk_maxi_raw_values_calibrate_to_the_reference(decoded, references, idb_manager: IDBManager) -> None:
    """The golden calibration: inverted reference -> packets -> decoded raw -> calibrated == reference."""
    reference = references["hk-maxi"]
    group = single(decoded["hk-maxi"])
    assert len(group) == len(reference.data) == 1350
    idb = idb_manager.get_idb(group.layout.idb_version)
    order = np.argsort(
        np.asarray(reference.control["scet_coarse"]) * 65536 + np.asarray(reference.control["scet_fine"])
    )
    data = reference.data[order]
    compared = 0
    for column in data.colnames:
        name = column_parameter(data, column)
        if not isinstance(name, str):
            continue
        got = calibrate(idb, name, group.values[name]).values
        want = np.asarray(data[column])
        if want.dtype.kind == "f":
            assert np.array_equal(np.asarray(got, dtype=np.float64), want), column
        else:
            assert np.asarray(got).tolist() == want.tolist(), column
        compared += 1
    assert compared >= 75


def in_file(group, samples: str, reference: ReferenceProduct) -> np.ndarray:
    """Mask of the decoded samples inside the reference file (packets cut by its day boundaries
    carry zero fill samples outside it, so that they are the reference's original packets)."""
    n = np.asarray(group.values[samples], dtype=np.int64)
    base = np.asarray(group.values["NIX00445"], dtype=np.float64) + group.values["NIX00446"] / 65535.0
    tau = (np.asarray(group.values["NIX00405"], dtype=np.float64) + 1) / 10.0
    k = np.concatenate([np.arange(c) for c in n])
    start = np.repeat(base, n) + k * np.repeat(tau, n)
    first, last = reference.bin_start_times()[[0, -1]]
    return (start > first - 0.006) & (start < last + 0.006)


def test_quicklook_packets_are_the_reference_packets(decoded, references) -> None:
    """One packet per reference CONTROL row with its start time and ``num_samples`` (issue 15 item 6)."""
    for name, samples in (
        ("ql-lightcurve", "NIX00273"),
        ("ql-background", "NIX00273"),
        ("ql-variance", "NIX00280"),
        ("ql-flareflag", "NIX00089"),
    ):
        group = single(decoded[name])
        control = references[name].control
        columns = ("scet_coarse", "scet_fine", "num_samples")
        want = sorted(map(tuple, np.stack([control[c] for c in columns], 1).tolist()))
        got = sorted(map(tuple, np.stack([group.values[c] for c in ("NIX00445", "NIX00446", samples)], 1).tolist()))
        assert got == want, name


def lightcurve_arrays(group, values_name: str, energies: int) -> np.ndarray:
    decompressed, failed = decompress_packets(group)
    assert failed == {}
    blocks = []
    offsets = group.offsets[values_name]
    values = decompressed[values_name].values
    for i in range(len(group)):
        block = values[offsets[i] : offsets[i + 1]]
        blocks.append(block.reshape(energies, -1).T)
    return np.concatenate(blocks)


@pytest.mark.parametrize(
    ("name", "ssid", "counts", "skm"),
    [
        ("ql-lightcurve", 30, "NIX00272", ("NIXD0101", "NIXD0102", "NIXD0103")),
        ("ql-background", 31, "NIX00278", ("NIXD0108", "NIXD0109", "NIXD0110")),
    ],
)
def test_quicklook_counts_come_back(decoded, references, name: str, ssid: int, counts: str, skm: tuple) -> None:
    reference = references[name]
    group = single(decoded[name])
    data = reference.data
    want = np.asarray(data["counts"])
    inside = in_file(group, "NIX00273", reference)
    got = lightcurve_arrays(group, counts, want.shape[1])[inside]
    # packets are in time order; the reference rows are in time order too
    assert np.array_equal(got, want)
    triggers, _ = decompress_packets(group)
    assert np.array_equal(triggers["NIX00274"].values[inside], np.asarray(data["triggers"]).ravel())
    if ssid == 30:
        assert np.array_equal(group.values["NIX00276"][inside], np.asarray(data["rcr"]))
    # the codes are what the reference schemes make of the reference counts (fill samples: code 0)
    scheme = [int(group.values[p][0]) for p in skm]
    codes = np.sort(group.values[counts])[np.count_nonzero(~inside) * want.shape[1] :]
    assert np.array_equal(codes, np.sort(compress(want.astype(np.int64).ravel(), *scheme)))
    # complete packets carry the CONTROL start time
    control = reference.control
    full = {int(r["scet_coarse"]): int(r["scet_fine"]) for r in control if int(r["num_samples"]) > 0}
    n = group.values["NIX00273"]
    complete = n == max(n)
    for coarse, fine in zip(group.values["NIX00445"][complete], group.values["NIX00446"][complete], strict=True):
        assert full[int(coarse)] == int(fine)


def test_variance_flareflag_spectra_tmstatus(decoded, references) -> None:
    variance = single(decoded["ql-variance"])
    values, failed = decompress_packets(variance)
    assert failed == {}
    inside = in_file(variance, "NIX00280", references["ql-variance"])
    assert np.array_equal(
        values["NIX00281"].values[inside], np.asarray(references["ql-variance"].data["variance"]).ravel()
    )
    assert set(variance.values["NIX00282"].tolist()) == {sum(1 << (31 - c) for c in range(1, 15))}
    flag = single(decoded["ql-flareflag"])
    data = references["ql-flareflag"].data
    inside = in_file(flag, "NIX00089", references["ql-flareflag"])
    for name, column in (("NIX00283", "loc_z"), ("NIX00284", "loc_y"), ("NIXD0061", "thermal_index")):
        assert np.array_equal(flag.values[name][inside], np.asarray(data[column]).ravel())
    assert set(flag.values["NIX00405"].tolist()) == {10199}  # 1020 s quick-look integration
    spectra = single(decoded["ql-spectra"])
    values, failed = decompress_packets(spectra)
    assert failed == {}
    reference = np.asarray(references["ql-spectra"].data["spectra"]).reshape(-1, 32)
    got = np.stack([values[f"NIX00{452 + c}"].values for c in range(32)], axis=1)
    assert np.array_equal(got, reference)
    assert np.array_equal(values["NIX00484"].values, np.asarray(references["ql-spectra"].data["triggers"]).ravel())
    status = single(decoded["ql-tmstatusflarelist"])
    assert status.values["NIX00286"].tolist() == [23955176] and status.values["NIX00294"].tolist() == [0]


def test_calibration_spectra_come_back(decoded, references, idb_manager: IDBManager) -> None:
    reference = references["cal-energy"]
    group = single(decoded["cal-energy"])
    headers = decoded["cal-energy"].index.headers
    sequences = extract_sequences(headers["sequence_flag"], headers["sequence_count"], (21, 6, 41))
    assert len(sequences) == 2 and all(s.complete for s in sequences)
    values, failed = decompress_packets(group)
    assert failed == {}
    # chunks of the same accumulation and pixel add up (extra chunks carry non-representable rests)
    counts = np.zeros((2, 32, 12, 1024))
    accumulation = np.cumsum(np.diff(np.concatenate([[-1], group.values["NIX00122"]])) != 0) - 1
    chunks_per_packet = group.values["NIX00159"]
    chunk_accumulation = np.repeat(accumulation, chunks_per_packet)
    chunk_values = values["NIX00158"].values.reshape(-1, 1024)
    np.add.at(counts, (chunk_accumulation, group.values["NIXD0155"], group.values["NIXD0156"]), chunk_values)
    assert np.array_equal(counts, np.asarray(reference.data["counts"]))
    assert len(chunk_values) > 2 * 384  # some pixels needed a second chunk
    idb = idb_manager.get_idb(group.layout.idb_version)
    starts = np.flatnonzero(np.diff(np.concatenate([[-1], group.values["NIX00122"]])))
    for column, name in (
        ("integration_time", "NIX00122"),
        ("quiet_time", "NIX00123"),
        ("average_temperature", "NIX00125"),
    ):
        got = calibrate(idb, name, group.values[name][starts]).values
        assert np.allclose(got, np.asarray(reference.control[column]), rtol=0, atol=1e-9), column


def science_counts(group, values: np.ndarray, sets: int) -> np.ndarray:
    """Rebuild (bins, 32 det, sets, 32 channels) from cpd/scpd groups (one group per channel)."""
    out = []
    offsets = group.offsets["NIX00260"]
    starts = group.values["NIX00441"]
    flat = []
    for p in range(len(group)):
        flat.append(values[offsets[p] : offsets[p + 1]])
    stream = np.concatenate(flat)
    channel = group.values["NIXD0016"]
    sizes = group.values["NIX00259"]
    substructure_groups = group.values["NIX00258"]
    position = 0
    group_index = 0
    times = {}
    for t, n_groups in zip(starts.tolist(), substructure_groups.tolist(), strict=True):
        cube = times.setdefault(t, np.zeros((32, sets, 32)))
        for _ in range(n_groups):
            size = int(sizes[group_index])
            cube[:, :, int(channel[group_index])] += stream[position : position + size].reshape(32, sets)
            position += size
            group_index += 1
    for t in sorted(times):
        out.append(times[t])
    return np.stack(out)


def test_science_requests_come_back(decoded, references, idb_manager: IDBManager) -> None:
    rpd_ref, cpd_ref, scpd_ref = (references[f"sci-xray-{n}"] for n in ("rpd", "cpd", "scpd"))
    rpd = single(decoded["sci-xray-rpd"])
    cube = np.zeros((5, 32, 12, 32))
    starts = rpd.values["NIX00404"]
    entries = rpd.values["NIX00406"]
    bins = {t: i for i, t in enumerate(sorted(set(starts.tolist())))}
    position = 0
    for t, n in zip(starts.tolist(), entries.tolist(), strict=True):
        sl = slice(position, position + n)
        np.add.at(
            cube,
            (bins[t], rpd.values["NIXD0153"][sl], rpd.values["NIXD0158"][sl], rpd.values["NIXD0154"][sl]),
            rpd.values["NIX00065"][sl],
        )
        position += n
    assert np.array_equal(cube, np.asarray(rpd_ref.data["counts"]))
    assert cube.sum() == 19086
    for name, ssid, reference, sets, total in (("cpd", 21, cpd_ref, 12, 19078), ("scpd", 22, scpd_ref, 4, 19079)):
        group = single(decoded[f"sci-xray-{name}"])
        values, failed = decompress_packets(group)
        assert failed == {}
        got = science_counts(group, values["NIX00260"].values, sets)
        want = np.asarray(reference.data["counts"])[:, :, :sets, :]
        assert np.array_equal(got, want), name
        assert got.sum() == total
        assert np.array_equal(
            np.unique(values["NIX00242"].values), np.unique(np.asarray(reference.data["triggers"])[:, 0])
        )
        # request header and relative start times (0.1 s after the request time stamp)
        control = reference.control[0]
        assert set(group.values["NIX00037"].tolist()) == {int(control["request_id"])}
        assert set(group.values["NIX00002"].tolist()) == {int(control["tc_packet_seq_control"])}
        assert sorted(set(group.values["NIX00441"].tolist())) == [1, 41, 81, 121, 161]
        headers = decoded[f"sci-xray-{name}"].index.headers
        (sequence,) = extract_sequences(headers["sequence_flag"], headers["sequence_count"], (21, 6, ssid))
        assert sequence.complete
    spec = single(decoded["sci-xray-spec"])
    assert spec.values["NIX00089"].sum() == 5 and not spec.values["NIX00268"].any()


def test_fitted_clock_reproduces_the_reference_times(encoding: ReferenceEncoding, references) -> None:
    manifest = json.loads(encoding.manifest_path.read_text())
    assert all(abs(p["residual_ms"]) < 1.0 for p in manifest["clock_pairs"])
    kernel_set = json.loads((encoding.spice_dir / "kernel-set.json").read_text())
    sclk = encoding.spice_dir / next(n for n in kernel_set["files"] if n.startswith("sclk/"))
    lsk = encoding.spice_dir / next(n for n in kernel_set["files"] if n.startswith("lsk/"))
    spiceypy.kclear()
    try:
        spiceypy.furnsh(str(lsk))
        spiceypy.furnsh(str(sclk))
        for product in references.values():
            for obt_key, utc_key in (("OBT_BEG", "DATE-BEG"), ("OBT_END", "DATE-END")):
                seconds = float(product.header[obt_key])
                coarse = int(seconds)
                fine = int(round((seconds - coarse) * 65535))
                et = spiceypy.scs2e(-144, f"{coarse}:{fine}")
                got = np.datetime64(spiceypy.et2utc(et, "ISOC", 6), "us")
                want = np.datetime64(product.header[utc_key], "us")
                assert abs(int((got - want).astype(np.int64))) <= 1000, (product.name, obt_key)
    finally:
        spiceypy.kclear()
