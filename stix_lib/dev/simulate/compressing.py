"""Counts -> compressed codes with the scheme fields of the packet (inverse of decompression).

The decoder reads the ``(s, k, m)`` of each compressed parameter from three parameters of the
same packet (an SKM group, :data:`stix_lib.decode.skm.SKM_GROUPS`), with per-SSID and per-IDB
exceptions (:func:`stix_lib.decode.skm.compression_sources`). :func:`compress_packet_values`
applies the same table in the other direction: it writes the scheme fields of the chosen groups
and compresses every compressed parameter with the scheme the decoder will use for it, so a
simulator states counts once and the packet decompresses to them (within the scheme's
quantisation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from stix_lib.decode.compression import CompressionError, compress, decompress, max_value
from stix_lib.decode.skm import SKM_GROUPS, compression_sources

Scheme = tuple[int, int, int]


def scheme_for(values_max: int, candidates: Sequence[Scheme]) -> Scheme:
    """First scheme of ``candidates`` able to represent ``values_max`` (magnitude).

    Raises
    ------
    CompressionError
        If none can.
    """
    for scheme in candidates:
        if values_max <= max_value(*scheme):
            return scheme
    raise CompressionError(f"no scheme of {list(candidates)} represents {values_max}")


def compress_packet_values(
    ssid: int,
    idb_version: str,
    counts: Mapping[str, Sequence[int] | np.ndarray],
    schemes: Mapping[str, Scheme],
) -> dict[str, list[int]]:
    """Scheme fields plus compressed codes for one packet.

    Parameters
    ----------
    ssid
        SSID of the packet (selects the compressed parameters).
    idb_version
        IDB version the packet will be decoded with (SSID 21 trigger rule).
    counts
        Uncompressed values of compressed parameters (stream order), by parameter name.
    schemes
        ``(s, k, m)`` per SKM group name (``"EACC"``, ``"ETRIG"``, ``"LC"`` ...).

    Returns
    -------
    dict
        Values of the groups' scheme parameters and of every parameter of ``counts``.

    Raises
    ------
    CompressionError
        A value does not fit its scheme, or a parameter of ``counts`` is not compressed for this
        SSID.
    KeyError
        If the scheme of a group a parameter needs is missing.
    """
    out: dict[str, list[int]] = {}
    scheme_of_param: dict[str, int] = {}
    for group, scheme in schemes.items():
        for param, value in zip(SKM_GROUPS[group], scheme, strict=True):
            if scheme_of_param.get(param, value) != value:
                raise CompressionError(f"groups sharing {param} need different schemes")
            scheme_of_param[param] = int(value)
            out[param] = [int(value)]
    sources = compression_sources(ssid, idb_version)
    for name, values in counts.items():
        source = sources.get(name)
        if source is None:
            raise CompressionError(f"{name} is not compressed in SSID {ssid} packets")
        try:
            s, k, m = (scheme_of_param[p] + a for p, a in zip(source.parameters, source.adjust, strict=True))
        except KeyError as exc:
            raise KeyError(f"{name} needs the scheme of group {source.group}") from exc
        codes = compress(np.asarray(values, dtype=np.int64), s, k, m)
        out[name] = np.asarray(codes).astype(np.int64).ravel().tolist()
    return out


def representable_values(scheme: Scheme) -> np.ndarray:
    """Every value a code of ``scheme`` decompresses to (ascending, magnitudes of unsigned codes)."""
    s, k, m = scheme
    codes = np.arange(min(1 << (k + m), 128 if s else 256), dtype=np.int64)
    return np.unique(decompress(codes, 0, k, m)[0].astype(np.int64))


def representable_parts(values: npt.ArrayLike, scheme: Scheme, max_parts: int = 8) -> list[np.ndarray]:
    """Split non-negative integers into sums of values that ``scheme`` represents exactly.

    Greedy: each part takes the largest representable value not above what is left. A value that
    is already representable needs one part; the others (e.g. sums of several decompressed
    values, as in re-binned calibration spectra) need more.

    Returns
    -------
    list of numpy.ndarray
        ``parts[0] + parts[1] + ... == values``; each part compresses and decompresses exactly.

    Raises
    ------
    CompressionError
        For negative values, or values needing more than ``max_parts`` parts.
    """
    rest = np.asarray(values, dtype=np.int64).copy()
    if np.any(rest < 0):
        raise CompressionError("representable_parts needs non-negative values")
    table = representable_values(scheme)
    parts = []
    while True:
        index = np.searchsorted(table, rest, side="right") - 1
        part = table[np.clip(index, 0, None)]
        parts.append(part)
        rest = rest - part
        if not rest.any():
            return parts
        if len(parts) >= max_parts:
            raise CompressionError(f"values need more than {max_parts} representable parts in scheme {scheme}")
