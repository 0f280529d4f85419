"""Integer (de)compression and the per-SSID scheme rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stix_lib.decode import compress, decompress, decompress_packets, get_layout
from stix_lib.decode.compression import CompressionError, check_scheme, max_value
from stix_lib.decode.decoder import decode_layout
from stix_lib.decode.encoder import encode_packet
from stix_lib.decode.skm import TRIGGERS_16, compression_sources
from stix_lib.idb import IDBManager


def valid_schemes() -> list[tuple[int, int, int]]:
    out = []
    for s in (0, 1):
        for k in range(9):
            for m in range(9):
                try:
                    check_scheme(s, k, m)
                except CompressionError:
                    continue
                out.append((s, k, m))
    return out


def test_known_examples() -> None:
    assert int(decompress(92, 0, 5, 3)[0]) == 12799
    assert int(decompress(255, 1, 3, 4)[0]) == -2015
    assert int(decompress(255, 0, 5, 3)[0]) == 16642998271
    assert int(compress(12345, 0, 5, 3)) == 92
    assert int(compress(-1984, 1, 3, 4)) == 255


def test_variance() -> None:
    values, variance = decompress(np.array([5, 15, 16, 92]), 0, 5, 3)
    assert values.tolist() == [5, 15, 16, 12799]
    assert variance[:2].tolist() == [0.0, 0.0]  # exact below 2**(m+1)
    assert variance[2] == ((1 << 1) ** 2 + 2) / 12  # code 16: e = 1, values 16..17 -> 16
    assert variance[3] == ((1 << 10) ** 2 + 2) / 12  # e = 10 for code 92


@pytest.mark.parametrize(("s", "k", "m"), valid_schemes())
def test_exhaustive_round_trip(s: int, k: int, m: int) -> None:
    codes = np.arange(256)
    magnitude = codes & 127 if s else codes
    valid = magnitude < (1 << (k + m))
    values, variance = decompress(codes[valid], s, k, m)
    back = compress(values, s, k, m)
    expected = codes[valid].copy()
    if s == 1:
        expected[expected == 128] = 0  # code 128 is -0, which compresses to +0
    assert back.tolist() == expected.tolist()
    assert np.all(variance >= 0)
    assert np.all(np.abs(values.astype(np.float64)) <= float(max_value(s, k, m)))
    for code in codes[~valid].tolist():
        with pytest.raises(CompressionError):
            decompress(code, s, k, m)


def test_compression_is_monotonic_and_brackets_the_value() -> None:
    values = np.arange(0, 200000, 7)
    codes = compress(values, 0, 5, 3)
    assert np.all(np.diff(codes) >= 0)
    mids, var = decompress(codes, 0, 5, 3)
    exact = var == 0
    assert np.array_equal(mids[exact], values[exact])
    half_width = np.sqrt(var[~exact] * 12 - 2) / 2  # (1 << e) / 2
    assert np.all(np.abs(mids[~exact] - values[~exact]) <= half_width)
    assert np.array_equal(compress(mids, 0, 5, 3), codes)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((5, 1, 4, 4), "s="),
        ((5, 2, 3, 3), "s="),
        ((5, 0, 8, 1), "s="),
        ((5, 0, 7, 1), "uint64"),
        ((256, 0, 5, 3), "0..255"),
        ((-1, 0, 5, 3), "0..255"),
        ((1.5, 0, 5, 3), "integers"),
    ],
)
def test_decompress_errors(args: tuple, message: str) -> None:
    with pytest.raises(CompressionError, match=message):
        decompress(*args)


def test_compress_errors() -> None:
    with pytest.raises(CompressionError, match="signed"):
        compress(-5, 0, 5, 3)
    with pytest.raises(CompressionError, match="range"):
        compress(2**34, 0, 5, 3)
    assert int(compress(2**34 - 1, 0, 5, 3)) == 255
    with pytest.raises(CompressionError):
        check_scheme(0, 6, 3)


def test_vectorised_schemes_broadcast() -> None:
    codes = np.array([92, 255, 92, 10])
    s = np.array([0, 1, 0, 1])
    k = np.array([5, 3, 5, 3])
    m = np.array([3, 4, 3, 4])
    values, _ = decompress(codes, s, k, m)
    assert values.tolist() == [12799, -2015, 12799, 10]


def test_ssid21_trigger_rule() -> None:
    old = compression_sources(21, "2.26.32")
    new = compression_sources(21, "2.26.35")
    assert old["NIX00242"].parameters == ("NIXD0007", "NIXD0008", "NIXD0009")  # counts scheme
    assert new["NIX00242"].parameters == ("NIXD0010", "NIXD0011", "NIXD0012")
    assert all(old[t].group == "EACC" for t in TRIGGERS_16)
    assert compression_sources(22, "2.26.32")["NIX00242"].group == "ETRIG"  # only SSID 21
    assert compression_sources(20, "2.26.35") == {}
    assert compression_sources(None, "2.26.35") == {}


def test_ssid23_flux_scheme_adjusted() -> None:
    sources = compression_sources(23, "2.26.35")
    assert sources["NIX00261"].adjust == (-1, 1, 0)
    assert sources["NIX00261"].group == "EACC"
    assert sources["NIX00263"].adjust == (0, 0, 0)


@pytest.fixture(scope="module")
def manager(reference_data: Path) -> IDBManager:
    return IDBManager(reference_data / "idb")


def test_decompress_packets_ssid23_uses_adjusted_scheme(manager: IDBManager) -> None:
    layout = get_layout(manager.get_idb("2.26.35"), 21, 6, 23)
    flux_values = [5000, 120]
    codes = compress(np.array(flux_values), 0, 5, 3)  # (s-1, k+1, m) of EACC (1, 4, 3)
    values = {
        "NIXD0007": 1,
        "NIXD0008": 4,
        "NIXD0009": 3,
        "NIXD0010": 0,
        "NIXD0011": 5,
        "NIXD0012": 3,
        "NIX00403": 1,
        "NIX00258": [2],
        "NIX00261": codes.tolist(),
        "NIX00262": [1, 1],
        "NIX00263": compress(np.array([-300, 40]), 1, 4, 3).tolist(),
        "NIX00264": [0, 0],
        "NIX00100": [3, 4],
        "NIX00242": [int(compress(1000, 0, 5, 3))],
    }
    decoded = decode_layout(layout, [encode_packet(layout, values)])
    assert decoded.errors == []
    out, failed = decompress_packets(decoded)
    assert failed == {}
    assert out["NIX00261"].skm.tolist() == [[0, 5, 3]]
    assert out["NIX00261"].values.tolist() == decompress(codes, 0, 5, 3)[0].tolist()
    assert out["NIX00263"].skm.tolist() == [[1, 4, 3]]
    assert out["NIX00263"].values.tolist() == decompress(np.array(values["NIX00263"]), 1, 4, 3)[0].tolist()
    assert out["NIX00242"].skm.tolist() == [[0, 5, 3]]
    assert abs(int(out["NIX00242"].values[0]) - 1000) < 64


def test_decompress_packets_bad_scheme_fails_only_that_packet(manager: IDBManager) -> None:
    layout = get_layout(manager.get_idb("2.26.34"), 21, 6, 33)
    good = encode_packet(layout, {"NIXD0118": 0, "NIXD0119": 5, "NIXD0120": 3, "NIX00280": 2, "NIX00281": [92, 3]})
    bad = encode_packet(layout, {"NIXD0118": 1, "NIXD0119": 7, "NIXD0120": 7, "NIX00280": 1, "NIX00281": [1]})
    decoded = decode_layout(layout, [good, bad, good])
    out, failed = decompress_packets(decoded)
    assert list(failed) == [1] and "invalid compression scheme" in failed[1]
    assert out["NIX00281"].values.tolist() == [12799, 3, 0, 12799, 3]


def test_batch_with_one_invalid_scheme_fails_every_packet(manager: IDBManager) -> None:
    """The table lookup of one scheme per batch: a scheme that is invalid for the whole batch
    fails every packet and leaves values (zeros) aligned with the raw codes."""
    from stix_lib.products.l0.packets import decompress_batch

    layout = get_layout(manager.get_idb("2.26.34"), 21, 6, 33)
    bad = encode_packet(layout, {"NIXD0118": 1, "NIXD0119": 7, "NIXD0120": 7, "NIX00280": 2, "NIX00281": [1, 2]})
    decoded = decode_layout(layout, [bad, bad])
    out, failed = decompress_batch(decoded)
    assert sorted(failed) == [0, 1] and all("invalid compression scheme" in r for r in failed.values())
    assert out["NIX00281"].values.tolist() == [0, 0, 0, 0]
    assert out["NIX00281"].variance.tolist() == [0.0, 0.0, 0.0, 0.0]
