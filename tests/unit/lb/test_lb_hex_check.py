"""The numpy check of LB DATA hex strings (:func:`stix_lib.lb.fits_io.hex_of_lengths`) against decoding."""

from __future__ import annotations

import binascii

import numpy as np
import pytest

from stix_lib.lb.fits_io import hex_of_lengths


def _decodes_to(hexes: np.ndarray, lengths: list[int]) -> bool:
    """The check as stated: every string decodes (binascii) to a packet of its length."""
    try:
        return [len(binascii.unhexlify(h)) for h in hexes.tolist()] == lengths
    except (binascii.Error, ValueError, TypeError):
        return False


GOOD = ["0a1b2c", "ffee", "00"]
CASES = [
    (GOOD, [3, 2, 1]),
    (["0A1B2C", "FfEe", "00"], [3, 2, 1]),  # upper case digits decode too
    (GOOD, [3, 2, 2]),  # a length field that does not match
    (GOOD, [3, 1, 1]),
    (["0a1b2", "ffee", "00"], [3, 2, 1]),  # odd number of digits
    (["0a1g2c", "ffee", "00"], [3, 2, 1]),  # not a digit
    (["0a\x001b2c", "ffee", "00"], [3, 2, 1]),  # NUL inside
    (["0a 1b2c", "ffee", "00"], [3, 2, 1]),
    (["", "ffee", "00"], [0, 2, 1]),
    (["", "ffee", "00"], [1, 2, 1]),
    (["0a1b2c", "ffee", "0é"], [3, 2, 1]),  # not ASCII
]


@pytest.mark.parametrize(("texts", "lengths"), CASES)
def test_hex_check_agrees_with_decoding(texts: list[str], lengths: list[int]) -> None:
    hexes = np.array(texts)
    assert hex_of_lengths(hexes, np.array(lengths)) == _decodes_to(hexes, lengths)
    if all(t.isascii() for t in texts):  # the same text as a bytes column
        hexes = np.array([t.encode() for t in texts])
        assert hex_of_lengths(hexes, np.array(lengths)) == _decodes_to(hexes, lengths)


def test_hex_check_on_random_damage() -> None:
    rng = np.random.default_rng(20)
    packets = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in rng.integers(1, 40, 200)]
    texts = [p.hex() for p in packets]
    lengths = [len(p) for p in packets]
    assert hex_of_lengths(np.array(texts), np.array(lengths))
    for _ in range(300):
        damaged = list(texts)
        row = int(rng.integers(len(damaged)))
        at = int(rng.integers(len(damaged[row])))
        damaged[row] = damaged[row][:at] + chr(int(rng.choice([0, 32, 71, 103, 48, 70]))) + damaged[row][at + 1 :]
        hexes = np.array(damaged)
        assert hex_of_lengths(hexes, np.array(lengths)) == _decodes_to(hexes, lengths)


def test_empty_column() -> None:
    assert hex_of_lengths(np.array([], dtype="U4"), np.array([], dtype=np.int64))
