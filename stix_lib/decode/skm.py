"""Which parameters of which packets are compressed, and where their (s, k, m) scheme is read.

Each compressed parameter refers to an SKM group: three parameters of the same packet holding the
scheme's ``s``, ``k`` and ``m``. Special rules:

* SSID 21 packets decoded with an IDB older than 2.26.35: the triggers were compressed with the
  counts scheme (EACC) by the flight software (STIX-FSW#953), so they are decompressed with it.
* SSID 23 flux (``NIX00261``) uses the EACC scheme changed to ``(s - 1, k + 1, m)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stix_lib.decode.compression import CompressionError, check_scheme, decompress
from stix_lib.decode.decoder import DecodedPackets
from stix_lib.idb.version_history import version_key

#: SKM groups: group name -> (s, k, m) parameter names.
SKM_GROUPS: Mapping[str, tuple[str, str, str]] = {
    "EACC": ("NIXD0007", "NIXD0008", "NIXD0009"),
    "VIS": ("NIXD0007", "NIXD0008", "NIXD0009"),
    "ETRIG": ("NIXD0010", "NIXD0011", "NIXD0012"),
    "LC": ("NIXD0101", "NIXD0102", "NIXD0103"),
    "TriggerSSID30": ("NIXD0104", "NIXD0105", "NIXD0106"),
    "BKG": ("NIXD0108", "NIXD0109", "NIXD0110"),
    "TRIG": ("NIXD0112", "NIXD0113", "NIXD0114"),
    "SPEC": ("NIXD0115", "NIXD0116", "NIXD0117"),
    "VAR": ("NIXD0118", "NIXD0119", "NIXD0120"),
    "CALI": ("NIXD0126", "NIXD0127", "NIXD0128"),
}

#: The 16 trigger accumulators of the compressed X-ray packets (SSID 21-23).
TRIGGERS_16: tuple[str, ...] = tuple(f"NIX00{n}" for n in range(242, 258))

#: SSID -> compressed parameter -> SKM group (SSIDs 20, 34, 42, 43 and others: none).
COMPRESSED_PARAMETERS: Mapping[int, Mapping[str, str]] = {
    21: {"NIX00260": "EACC", **{t: "ETRIG" for t in TRIGGERS_16}},
    22: {"NIX00260": "EACC", **{t: "ETRIG" for t in TRIGGERS_16}},
    23: {"NIX00263": "VIS", "NIX00264": "VIS", "NIX00261": "EACC", **{t: "ETRIG" for t in TRIGGERS_16}},
    24: {"NIX00268": "EACC", "NIX00267": "ETRIG"},
    30: {"NIX00272": "LC", "NIX00274": "TriggerSSID30"},
    31: {"NIX00278": "BKG", "NIX00274": "TRIG"},
    32: {**{f"NIX00{n}": "SPEC" for n in range(452, 484)}, "NIX00484": "TRIG"},
    33: {"NIX00281": "VAR"},
    41: {"NIX00158": "CALI"},
}
#: The "auto" science SSIDs 10-14 share the compressed parameters of their user twins 20-24.
COMPRESSED_PARAMETERS = {**COMPRESSED_PARAMETERS, **{a: COMPRESSED_PARAMETERS[a + 10] for a in (11, 12, 13, 14)}}

#: First IDB version whose SSID 21 triggers use their own (ETRIG) scheme.
SSID21_TRIGGER_FIX_VERSION = "2.26.35"


@dataclass(frozen=True)
class SchemeSource:
    """Where the scheme of one compressed parameter comes from.

    Attributes
    ----------
    group
        SKM group name.
    parameters
        The (s, k, m) parameter names.
    adjust
        Added to (s, k, m) read from the packet.
    """

    group: str
    parameters: tuple[str, str, str]
    adjust: tuple[int, int, int] = (0, 0, 0)


def compression_sources(ssid: int | None, idb_version: str) -> dict[str, SchemeSource]:
    """Return compressed parameter -> scheme source for packets of ``ssid`` and IDB version."""
    table = COMPRESSED_PARAMETERS.get(ssid if ssid is not None else -1, {})
    old_ssid21 = ssid == 21 and bool(idb_version) and version_key(idb_version) < version_key(SSID21_TRIGGER_FIX_VERSION)
    out: dict[str, SchemeSource] = {}
    for name, group in table.items():
        if old_ssid21 and group == "ETRIG":
            group = "EACC"
        adjust = (-1, 1, 0) if ssid in (13, 23) and name == "NIX00261" else (0, 0, 0)
        out[name] = SchemeSource(group, SKM_GROUPS[group], adjust)
    return out


@dataclass
class DecompressedParameter:
    """Decompressed values of one parameter, aligned with the raw flat values.

    Attributes
    ----------
    values
        Decompressed values (int64); 0 where the packet is in ``failed``.
    variance
        Variance due to compression (float64).
    skm
        Scheme used per decoded packet, shape ``(n_packets, 3)``.
    """

    values: npt.NDArray[np.int64]
    variance: npt.NDArray[np.float64]
    skm: npt.NDArray[np.int64]


def decompress_packets(
    decoded: DecodedPackets, ssid: int | None = None, idb_version: str | None = None
) -> tuple[dict[str, DecompressedParameter], dict[int, str]]:
    """Decompress every compressed parameter of a decoded batch.

    Parameters
    ----------
    decoded
        Packets of one layout.
    ssid, idb_version
        Default to the layout's SSID and IDB version.

    Returns
    -------
    parameters, failed
        Per compressed parameter present in the layout its decompressed values; ``failed`` maps
        the position of a decoded packet (0-based in ``decoded.indices``) to the reason its values
        could not be decompressed (invalid scheme, code outside the scheme). Other packets are
        unaffected.
    """
    ssid = decoded.layout.key.ssid if ssid is None else ssid
    idb_version = decoded.layout.idb_version if idb_version is None else idb_version
    sources = compression_sources(ssid, idb_version)
    failed: dict[int, str] = {}
    out: dict[str, DecompressedParameter] = {}
    count = len(decoded)
    for name, source in sources.items():
        if name not in decoded.values:
            continue
        if any(p not in decoded.values for p in source.parameters):
            raise ValueError(f"layout {decoded.layout.key} lacks the scheme parameters {source.parameters} of {name}")
        skm = np.stack([decoded.scalar(p).astype(np.int64) for p in source.parameters], axis=1) + np.asarray(
            source.adjust, dtype=np.int64
        )
        skm = skm.reshape(count, 3)
        valid = np.ones(count, dtype=bool)
        for combo in {tuple(row) for row in skm.tolist()}:
            try:
                check_scheme(*combo)
            except CompressionError as exc:
                members = np.nonzero(np.all(skm == combo, axis=1))[0]
                valid[members] = False
                for p in members.tolist():
                    failed.setdefault(p, f"{name}: {exc}")
        counts = decoded.counts(name)
        codes = decoded.values[name].astype(np.int64)
        per_value = np.repeat(skm, counts, axis=0)
        packet_of_value = np.repeat(np.arange(count), counts)
        s, k, m = per_value[:, 0], per_value[:, 1], per_value[:, 2]
        usable = valid[packet_of_value]
        magnitude = np.where(s == 1, codes & 127, codes)
        outside = usable & ((codes < 0) | (codes > 255) | (magnitude >= (np.int64(1) << np.clip(k + m, 0, 62))))
        for p in np.unique(packet_of_value[outside]).tolist():
            valid[p] = False
            failed.setdefault(p, f"{name}: compressed value outside its scheme")
        usable = valid[packet_of_value]
        values = np.zeros(len(codes), dtype=np.int64)
        variance = np.zeros(len(codes), dtype=np.float64)
        if usable.any():
            v, var = decompress(codes[usable], s[usable], k[usable], m[usable])
            values[usable] = v.astype(np.int64)
            variance[usable] = var
        out[name] = DecompressedParameter(values=values, variance=variance, skm=skm)
    return out, failed
