"""STIX quasi-exponential 1-byte integer compression: decompression (with variance) and compression.

A scheme ``(s, k, m)`` has ``s`` sign bits (0 or 1), ``k`` exponent bits and ``m`` mantissa bits,
``s + k + m <= 8``. The sign, when present, is bit 7 of the code; the magnitude code ``|C|`` is the
code without it.

Decompression of a code ``C``:

* ``|C| < 2**(m + 1)``: the value is ``|C|`` exactly (variance 0);
* otherwise ``e = (|C| >> m) - 1``, mantissa ``M = 2**m + (|C| & (2**m - 1))`` and the value is the
  mid-point ``(M << e) + (1 << (e - 1)) - 1`` of the interval of inputs that compress to ``C``, with
  variance ``((1 << e)**2 + 2) / 12``;
* negated when the sign bit is set.

The largest value a scheme represents is ``2**(2**k - 2) * 2**(m + 1) - 1``; schemes whose largest
value does not fit an unsigned 64-bit integer (signed 64-bit for ``s = 1``) are invalid. Magnitude codes must be below
``2**(k + m)`` (a code beyond the exponent range of its scheme is an error, not a guess).

Compression (the inverse, used by tests and simulators) is exact below ``2**(m + 1)``; above,
``e = floor(log2 |V|) - m``, ``C = ((e + 1) << m) | ((|V| >> e) & (2**m - 1))``, plus 128 if
negative.

Both functions are vectorised: values and ``s, k, m`` broadcast against each other, so a flat
array of codes can be decompressed with per-packet schemes repeated to per-value arrays.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_INT64_MAX = np.iinfo(np.int64).max
_UINT64_MAX = np.iinfo(np.uint64).max


class CompressionError(ValueError):
    """Invalid scheme, or values outside what a scheme can represent."""


def max_value(s: int, k: int, m: int) -> int:
    """Largest magnitude representable by the scheme (Python int, may exceed 64 bits)."""
    if k == 0:
        return (1 << m) - 1
    return (1 << ((1 << k) - 2 + m + 1)) - 1


def check_scheme(s: int, k: int, m: int) -> None:
    """Raise :class:`CompressionError` unless ``(s, k, m)`` is a valid scheme."""
    if s not in (0, 1) or k < 0 or m < 0 or s + k + m > 8:
        raise CompressionError(f"invalid compression scheme s={s}, k={k}, m={m} (s in 0/1, s+k+m <= 8)")
    limit = _INT64_MAX if s == 1 else _UINT64_MAX
    if max_value(s, k, m) > limit:
        raise CompressionError(f"compression scheme s={s}, k={k}, m={m} exceeds {'int64' if s == 1 else 'uint64'}")


def _as_int_array(values: npt.ArrayLike, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype == object:
        try:
            array = array.astype(np.int64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise CompressionError(f"{what} must be integers") from exc
    if not (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_):
        raise CompressionError(f"{what} must be integers, not {array.dtype}")
    return array


def _schemes(
    s: npt.ArrayLike, k: npt.ArrayLike, m: npt.ArrayLike, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
    s_, k_, m_ = (np.broadcast_to(_as_int_array(x, "s, k, m").astype(np.int64), shape) for x in (s, k, m))
    if all(np.ndim(x) == 0 for x in (s, k, m)):
        combos = [(int(np.asarray(s)), int(np.asarray(k)), int(np.asarray(m)))] if s_.size else []
    elif s_.size:
        stacked = np.stack([s_.ravel(), k_.ravel(), m_.ravel()], axis=1)
        combos = [tuple(c) for c in np.unique(stacked, axis=0).tolist()]
    else:
        combos = []
    for cs, ck, cm in combos:
        check_scheme(cs, ck, cm)
    return s_, k_, m_, combos


def decompress(
    codes: npt.ArrayLike, s: npt.ArrayLike, k: npt.ArrayLike, m: npt.ArrayLike
) -> tuple[np.ndarray, npt.NDArray[np.float64]]:
    """Decompress codes with scheme(s) ``(s, k, m)``.

    Parameters
    ----------
    codes
        Compressed bytes (integers 0..255); any shape.
    s, k, m
        The scheme, scalars or arrays broadcastable to ``codes``.

    Returns
    -------
    values, variance
        ``values`` are int64 (uint64 only for schemes whose range needs it); ``variance`` is the
        float64 variance of the value due to compression.

    Raises
    ------
    CompressionError
        Non-integer input, invalid scheme, code outside 0..255 or beyond the scheme's range.

    Examples
    --------
    >>> int(decompress(92, 0, 5, 3)[0])
    12799
    >>> int(decompress(255, 1, 3, 4)[0])
    -2015
    """
    raw = _as_int_array(codes, "codes")
    shape = np.broadcast_shapes(raw.shape, np.shape(s), np.shape(k), np.shape(m))
    raw = np.broadcast_to(raw, shape).astype(np.int64)
    s_, k_, m_, combos = _schemes(s, k, m, shape)
    if raw.size and (raw.min() < 0 or raw.max() > 255):
        raise CompressionError("compressed values must be in the range 0..255")
    signed = s_ == 1
    negative = signed & (raw >= 128)
    magnitude = np.where(signed, raw & 127, raw)
    beyond = magnitude >= (np.int64(1) << (k_ + m_))
    if np.any(beyond):
        first = int(np.flatnonzero(beyond)[0])
        raise CompressionError(
            f"code {int(raw.ravel()[first])} is outside the range of scheme "
            f"s={int(s_.ravel()[first])}, k={int(k_.ravel()[first])}, m={int(m_.ravel()[first])}"
        )
    needs_unsigned = any(max_value(*c) > _INT64_MAX for c in combos)
    exact = magnitude < (np.int64(1) << (m_ + 1))
    e = np.where(exact, 1, (magnitude >> m_) - 1).astype(np.uint64)
    mantissa = ((np.int64(1) << m_) + (magnitude & ((np.int64(1) << m_) - 1))).astype(np.uint64)
    one = np.uint64(1)
    mid = (mantissa << e) + (one << (e - one)) - one
    value_u = np.where(exact, magnitude.astype(np.uint64), mid)
    variance = np.where(exact, 0.0, (4.0 ** e.astype(np.float64) + 2.0) / 12.0)
    if needs_unsigned:  # only unsigned schemes get here (check_scheme)
        return value_u, variance
    values = value_u.astype(np.int64)
    return np.where(negative, -values, values), variance


def _bit_length(magnitude: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Exact bit length of non-negative 64-bit integers (binary search on shifts)."""
    length = np.zeros(magnitude.shape, dtype=np.int64)
    rest = magnitude.copy()
    for step in (32, 16, 8, 4, 2, 1):
        big = rest >= (np.uint64(1) << np.uint64(step))
        length += np.where(big, step, 0)
        rest = np.where(big, rest >> np.uint64(step), rest)
    return length + (rest > 0)


def compress(values: npt.ArrayLike, s: npt.ArrayLike, k: npt.ArrayLike, m: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Compress integer values with scheme(s) ``(s, k, m)`` (inverse of :func:`decompress`).

    Raises
    ------
    CompressionError
        Non-integer input, invalid scheme, negative values with ``s == 0`` or magnitudes above the
        scheme's maximum.

    Examples
    --------
    >>> int(compress(12345, 0, 5, 3))
    92
    """
    raw = _as_int_array(values, "values")
    shape = np.broadcast_shapes(raw.shape, np.shape(s), np.shape(k), np.shape(m))
    raw = np.broadcast_to(raw, shape)
    s_, k_, m_, combos = _schemes(s, k, m, shape)
    if raw.dtype == np.uint64:
        negative = np.zeros(shape, dtype=bool)
        magnitude = raw.astype(np.uint64)
    else:
        raw = raw.astype(np.int64)
        negative = raw < 0
        magnitude = np.abs(raw).astype(np.uint64)
    if np.any(negative & (s_ == 0)):
        raise CompressionError("negative values need a signed scheme (s=1)")
    for cs, ck, cm in combos:
        limit = max_value(cs, ck, cm)
        members = (s_ == cs) & (k_ == ck) & (m_ == cm)
        if np.any(magnitude[members] > np.uint64(min(limit, _UINT64_MAX))):
            raise CompressionError(f"value exceeds the range of scheme s={cs}, k={ck}, m={cm} (max {limit})")
    m_u = m_.astype(np.uint64)
    exact = magnitude < (np.uint64(1) << (m_u + np.uint64(1)))
    e = np.where(exact, 0, _bit_length(magnitude) - 1 - m_).astype(np.uint64)
    mantissa = (magnitude >> e) & ((np.uint64(1) << m_u) - np.uint64(1))
    code = np.where(exact, magnitude, ((e + np.uint64(1)) << m_u) | mantissa).astype(np.int64)
    return np.where(negative, code + 128, code)
