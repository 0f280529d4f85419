"""Decoded packets of one LB product, grouped by IDB version, with their provenance.

:func:`decode_lb_product` decodes every packet of an LB product with the IDB valid at its own
time, decompresses the compressed parameters and returns one :class:`PacketBatch` per IDB
version (in packet-time order of the versions). A packet that cannot be decoded or decompressed
is reported as a :class:`~stix_lib.tm.errors.PacketError` (raw file and packet id from the LB
CONTROL) and left out; the other packets are not affected.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stix_lib.decode.batch import decode_packets
from stix_lib.decode.compression import CompressionError, check_scheme, decompress
from stix_lib.decode.decoder import DecodedPackets
from stix_lib.decode.engineering import calibrate
from stix_lib.decode.skm import DecompressedParameter, compression_sources
from stix_lib.idb.database import IDB
from stix_lib.idb.manager import IDBManager
from stix_lib.idb.version_history import version_key
from stix_lib.lb.product import LBProduct
from stix_lib.tm.errors import PacketError


def ramp(counts: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For items grouped in runs of ``counts``: (run number, position within the run) per item."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    run = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    return run, np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


@dataclass
class PacketBatch:
    """Decoded packets of one type decoded with one IDB version.

    Attributes
    ----------
    decoded
        Raw parameter values (flat per parameter, with per-packet offsets).
    decompressed
        Decompressed values of the compressed parameters (aligned with the raw flat values).
    idb
        The IDB used.
    headers
        CCSDS/PUS headers of the packets (one per packet, same order).
    raw_file, packet
        Provenance: telemetry file name and packet id of each packet.
    """

    decoded: DecodedPackets
    decompressed: dict[str, DecompressedParameter]
    idb: IDB
    headers: np.ndarray
    raw_file: npt.NDArray[np.str_]
    packet: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.decoded)

    @property
    def version(self) -> str:
        """IDB version label."""
        return self.decoded.layout.idb_version

    def has(self, name: str) -> bool:
        """True when the layout has parameter ``name``."""
        return name in self.decoded.values

    def values(self, name: str) -> np.ndarray:
        """Flat raw values of ``name`` (all packets, stream order)."""
        return self.decoded.values[name]

    def counts(self, name: str) -> npt.NDArray[np.int64]:
        """Number of values of ``name`` per packet (zeros when the layout lacks it)."""
        if name not in self.decoded.values:
            return np.zeros(len(self), dtype=np.int64)
        return self.decoded.counts(name)

    def scalar(self, name: str, default: int | None = None) -> np.ndarray:
        """One value per packet; ``default`` when the layout lacks the parameter."""
        if name not in self.decoded.values and default is not None:
            return np.full(len(self), default, dtype=np.int64)
        return self.decoded.scalar(name)

    def last(self, name: str) -> np.ndarray:
        """The last value of ``name`` in each packet (packets without one get 0)."""
        counts = self.counts(name)
        ends = np.cumsum(counts) - 1
        out = np.zeros(len(self), dtype=np.int64)
        have = counts > 0
        out[have] = self.values(name)[ends[have]]
        return out

    def engineering(self, name: str, raw: np.ndarray | None = None) -> np.ndarray:
        """Calibrated values of ``name`` with this batch's IDB (float64 for numeric calibrations)."""
        return calibrate(self.idb, name, self.values(name) if raw is None else raw).values

    def header_times(self) -> npt.NDArray[np.float64]:
        """Packet header time of each packet (OBT seconds)."""
        return self.headers["scet_coarse"].astype(np.float64) + self.headers["scet_fine"].astype(np.float64) / 65535.0

    def subset(self, keep: npt.ArrayLike) -> PacketBatch:
        """The batch restricted to packets where ``keep`` is true."""
        keep = np.asarray(keep, dtype=bool)
        values: dict[str, np.ndarray] = {}
        offsets: dict[str, np.ndarray] = {}
        decompressed: dict[str, DecompressedParameter] = {}
        for name, flat in self.decoded.values.items():
            counts = self.decoded.counts(name)
            mask = np.repeat(keep, counts)
            values[name] = flat[mask]
            off = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
            np.cumsum(counts[keep], out=off[1:])
            offsets[name] = off
            if name in self.decompressed:
                part = self.decompressed[name]
                decompressed[name] = DecompressedParameter(part.values[mask], part.variance[mask], part.skm[keep])
        decoded = DecodedPackets(
            layout=self.decoded.layout,
            indices=self.decoded.indices[keep],
            values=values,
            offsets=offsets,
            leftover_bits=self.decoded.leftover_bits[keep] if len(self.decoded.leftover_bits) else np.zeros(0),
        )
        return PacketBatch(decoded, decompressed, self.idb, self.headers[keep], self.raw_file[keep], self.packet[keep])

    def errors(self, reasons: dict[int, str]) -> list[PacketError]:
        """:class:`PacketError` records for packet positions of this batch."""
        return [
            PacketError(str(self.raw_file[p]), int(self.packet[p]), reason) for p, reason in sorted(reasons.items())
        ]


@functools.lru_cache(maxsize=256)
def _scheme_table(s: int, k: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decompressed value and variance of every code 0..255 valid in scheme ``(s, k, m)``, and
    which codes are valid.

    Computed with :func:`stix_lib.decode.compression.decompress` itself; invalid codes map to 0.
    Looking codes up in this table is much faster than decompressing them one array at a time.
    Memoised per scheme (the arrays are read-only).
    """
    codes = np.arange(256, dtype=np.int64)
    magnitude = codes & 127 if s == 1 else codes
    valid = magnitude < (1 << (k + m))
    values = np.zeros(256, dtype=np.int64)
    variance = np.zeros(256, dtype=np.float64)
    decoded_values, decoded_variance = decompress(codes[valid], s, k, m)
    values[valid] = decoded_values.astype(np.int64)
    variance[valid] = decoded_variance
    for table in (values, variance, valid):
        table.flags.writeable = False
    return values, variance, valid


def _packet_of_value(decoded: DecodedPackets, names: list[str]) -> np.ndarray:
    """Packet number of every value of the parameters ``names`` (concatenated in that order)."""
    packets = np.arange(len(decoded))
    return np.concatenate([np.repeat(packets, decoded.counts(n)) for n in names])


def decompress_batch(decoded: DecodedPackets) -> tuple[dict[str, DecompressedParameter], dict[int, str]]:
    """Decompress the compressed parameters of a batch, one call per scheme group and scheme.

    Same result as :func:`stix_lib.decode.skm.decompress_packets` (schemes from the packets, the
    SSID 21 / SSID 23 special rules, a packet with an invalid scheme or a code outside its scheme
    is reported in ``failed``), but all parameters sharing a scheme source (e.g. the 32 spectra
    channels) and all packets sharing a scheme are decompressed together through a 256-entry
    table of that scheme (:func:`_scheme_table`).
    """
    key = decoded.layout.key
    count = len(decoded)
    failed: dict[int, str] = {}
    out: dict[str, DecompressedParameter] = {}
    groups: dict[tuple, list[str]] = {}
    for name, source in compression_sources(key.ssid, decoded.layout.idb_version).items():
        if name in decoded.values:
            if any(p not in decoded.values for p in source.parameters):
                raise ValueError(f"layout {tuple(key)} lacks the scheme parameters {source.parameters} of {name}")
            groups.setdefault((source.parameters, source.adjust), []).append(name)
    for (parameters, adjust), names in groups.items():
        skm = np.stack([decoded.scalar(p).astype(np.int64) for p in parameters], axis=1).reshape(count, 3)
        skm = skm + np.asarray(adjust, dtype=np.int64)
        raw = [np.asarray(decoded.values[n], dtype=np.int64) for n in names]
        codes = raw[0] if len(raw) == 1 else np.concatenate(raw)  # read only: no copy of one parameter
        if len(skm) and np.all(skm == skm[0]):  # usual: one scheme for the whole batch
            combos, inverse = skm[:1], np.zeros(len(skm), dtype=np.intp)
        else:
            combos, inverse = np.unique(skm, axis=0, return_inverse=True)
            inverse = inverse.ravel()
        everything = len(combos) == 1
        # values filled in place (zero where not decompressed) unless one scheme decodes every code
        # with one table lookup; made when first needed
        values: np.ndarray | None = None
        variance: np.ndarray | None = None
        for number, (s, k, m) in enumerate(combos.tolist()):
            packets = inverse == number
            try:
                check_scheme(s, k, m)
            except CompressionError as exc:
                for p in np.flatnonzero(packets).tolist():
                    failed.setdefault(p, f"{names[0]}: {exc}")
                continue
            members = np.flatnonzero(packets[_packet_of_value(decoded, names)]) if not everything else None
            sub = codes[members] if members is not None else codes
            table_values, table_variance, table_valid = _scheme_table(s, k, m)
            low, high = (int(sub.min()), int(sub.max())) if len(sub) else (0, 0)
            if 0 <= low and high <= 255 and bool(table_valid[low : high + 1].all()):
                outside = None  # usual: every code in a range of valid codes
            else:
                magnitude = sub & 127 if s == 1 else sub
                outside = (sub < 0) | (sub > 255) | (magnitude >= (1 << (k + m)))
            if outside is not None and outside.any():
                if members is None:
                    members = np.arange(len(codes))
                for p in np.unique(_packet_of_value(decoded, names)[members[outside]]).tolist():
                    failed.setdefault(int(p), f"{names[0]}: compressed value outside its scheme")
                members, sub = members[~outside], sub[~outside]
            if members is None:  # np.take: the same gather as indexing, about twice as fast
                values, variance = table_values.take(sub), table_variance.take(sub)
                continue
            if values is None or variance is None:
                values, variance = np.zeros(len(codes), dtype=np.int64), np.zeros(len(codes), dtype=np.float64)
            values[members] = table_values.take(sub)
            variance[members] = table_variance.take(sub)
        if values is None or variance is None:  # no scheme valid: no value decompressed
            values, variance = np.zeros(len(codes), dtype=np.int64), np.zeros(len(codes), dtype=np.float64)
        start = 0
        for name in names:
            stop = start + len(decoded.values[name])
            out[name] = DecompressedParameter(values=values[start:stop], variance=variance[start:stop], skm=skm)
            start = stop
    return out, failed


@dataclass
class DecodedLB:
    """Decoded packets of an LB product with their problems kept apart by stage.

    Attributes
    ----------
    batches
        One batch per IDB version (oldest version first); ``batch.decoded.indices`` are row
        numbers of the LB product.
    decode_errors
        ``(row, error)`` of the packets that could not be decoded, in row order.
    decompress_errors
        IDB version -> errors of the packets that could not be decompressed (batch order).
    """

    batches: list[PacketBatch]
    decode_errors: list[tuple[int, PacketError]]
    decompress_errors: dict[str, list[tuple[int, PacketError]]]

    def errors(self) -> list[PacketError]:
        """All errors: decoding first, then decompression by IDB version."""
        return [e for _, e in self.decode_errors] + [e for v in self.decompress_errors.values() for _, e in v]


def decode_lb_rows(lb: LBProduct, idb_manager: IDBManager) -> DecodedLB:
    """Decode and decompress the packets of an LB product, problems per stage (see :class:`DecodedLB`)."""
    result = decode_packets(lb.data, idb_manager)
    decode_errors = [
        (int(e.packet_id), PacketError(str(lb.raw_file[e.packet_id]), int(lb.packet[e.packet_id]), e.reason))
        for e in result.errors
        if e.packet_id is not None
    ]
    batches = []
    decompress_errors: dict[str, list[tuple[int, PacketError]]] = {}
    for key in sorted(result.groups, key=lambda k: version_key(k[3])):
        decoded = result.groups[key]
        rows = decoded.indices
        idb = idb_manager.get_idb(key[3])
        failures = decompress_errors.setdefault(key[3], [])
        try:
            decompressed, failed = decompress_batch(decoded)
        except ValueError as exc:
            failures.extend(
                (r, PacketError(str(lb.raw_file[r]), int(lb.packet[r]), str(exc))) for r in rows.tolist()
            )
            continue
        batch = PacketBatch(decoded, decompressed, idb, lb.headers[rows], lb.raw_file[rows], lb.packet[rows])
        if failed:
            failures.extend(zip(rows[sorted(failed)].tolist(), batch.errors(failed), strict=True))
            keep = np.ones(len(batch), dtype=bool)
            keep[list(failed)] = False
            batch = batch.subset(keep)
        if len(batch):
            batches.append(batch)
    return DecodedLB(batches, decode_errors, decompress_errors)


def decode_lb_product(lb: LBProduct, idb_manager: IDBManager) -> tuple[list[PacketBatch], list[PacketError]]:
    """Decode and decompress the packets of an LB product (see the module docstring).

    Returns
    -------
    batches, errors
        One batch per IDB version (oldest version first) and the packets that were left out.
    """
    decoded = decode_lb_rows(lb, idb_manager)
    return decoded.batches, decoded.errors()
