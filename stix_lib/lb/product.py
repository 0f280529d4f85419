"""The rows of one Level Binary product: packets of one type (and one day or one request).

Duplicates are packets with the same ``(scet_coarse, scet_fine, sequence_count)``. When a product
is combined with newer packets (:meth:`LBProduct.combine`) one row per key survives:

* rows with identical packet bytes are the same packet delivered twice: the one with the
  smallest ``(raw_file, packet)`` is kept, whatever the delivery order;
* otherwise the newest delivery wins (the STIXCore rule), and inside one delivery the first
  occurrence.

Rows are always kept in canonical order ``(scet_coarse, scet_fine, sequence_count)``, not in input
order (STIXCore keeps input order), so that the file content does not depend on how and in which
order the telemetry was delivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stix_lib.tm.headers import HEADER_DTYPE

LENGTH_OFFSET = 7  # packet length = data_length + 7


@dataclass
class LBProduct:
    """Packets of one LB product.

    Attributes
    ----------
    service_type, service_subtype, ssid
        Packet type (``ssid`` None when the type has no PI1 field).
    headers
        Decoded headers (:data:`stix_lib.tm.headers.HEADER_DTYPE`), one per row.
    raw_file
        Telemetry file name each packet came from.
    packet
        Packet id inside that file.
    data
        Complete packet bytes (headers included).
    request
        ``(n, 2)`` int64 ``(psc, rid)`` per row for science (BSD) products, else ``None``.
    """

    service_type: int
    service_subtype: int
    ssid: int | None
    headers: np.ndarray
    raw_file: npt.NDArray[np.str_]
    packet: npt.NDArray[np.int64]
    data: list[bytes]
    request: npt.NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        n = len(self.headers)
        if not (len(self.raw_file) == len(self.packet) == len(self.data) == n):
            raise ValueError("LB product columns have different lengths")
        if self.request is not None and self.request.shape != (n, 2):
            raise ValueError("request must have shape (n, 2)")

    def __len__(self) -> int:
        return len(self.headers)

    @property
    def key(self) -> tuple[int, int, int | None]:
        """``(service_type, service_subtype, ssid)``."""
        return (self.service_type, self.service_subtype, self.ssid)

    @property
    def is_bsd(self) -> bool:
        """True for science products split per request."""
        return self.request is not None

    @property
    def time_sync(self) -> npt.NDArray[np.bool_]:
        """True where the on-board clock was synchronised (bit 31 of the coarse time clear)."""
        return (self.headers["scet_coarse"].astype(np.uint64) >> np.uint64(31)) == 0

    @property
    def obt_range(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((coarse, fine) first, (coarse, fine) last)`` over all rows."""
        if not len(self):
            raise ValueError("empty product")
        ticks = (self.headers["scet_coarse"].astype(np.int64) << 16) | self.headers["scet_fine"].astype(np.int64)
        lo, hi = int(ticks.min()), int(ticks.max())
        return (lo >> 16, lo & 0xFFFF), (hi >> 16, hi & 0xFFFF)

    def take(self, rows: npt.ArrayLike) -> LBProduct:
        """Return the product restricted to ``rows`` (in the given order)."""
        index = np.asarray(rows, dtype=np.intp)
        return LBProduct(
            self.service_type,
            self.service_subtype,
            self.ssid,
            self.headers[index],
            self.raw_file[index],
            self.packet[index],
            [self.data[i] for i in index.tolist()],
            None if self.request is None else self.request[index],
        )

    def dedup_keys(self) -> npt.NDArray[np.int64]:
        """Per-row key ``coarse << 30 | fine << 14 | sequence_count`` (orders like the tuple)."""
        h = self.headers
        return (
            (h["scet_coarse"].astype(np.int64) << 30)
            | (h["scet_fine"].astype(np.int64) << 14)
            | h["sequence_count"].astype(np.int64)
        )

    def canonical(self) -> LBProduct:
        """Rows sorted by ``(scet_coarse, scet_fine, sequence_count)`` (stable)."""
        return self.take(np.argsort(self.dedup_keys(), kind="stable"))

    @staticmethod
    def concatenate(products: Sequence[LBProduct]) -> LBProduct:
        """Stack products of the same type (rows in the given order, no de-duplication)."""
        if not products:
            raise ValueError("nothing to concatenate")
        first = products[0]
        if any(p.key != first.key or p.is_bsd != first.is_bsd for p in products):
            raise ValueError("cannot concatenate LB products of different types")
        return LBProduct(
            first.service_type,
            first.service_subtype,
            first.ssid,
            np.concatenate([p.headers for p in products]).astype(HEADER_DTYPE),
            np.concatenate([p.raw_file.astype(str) for p in products]),
            np.concatenate([p.packet for p in products]).astype(np.int64),
            [d for p in products for d in p.data],
            None if first.request is None else np.concatenate([p.request for p in products]),
        )

    def combine(self, newer: LBProduct | None = None) -> LBProduct:
        """De-duplicate ``self`` followed by ``newer`` (see module docstring); canonical order."""
        parts = [self] if newer is None else [self, newer]
        both = LBProduct.concatenate(parts)
        generation = np.concatenate([np.full(len(p), g, dtype=np.int64) for g, p in enumerate(parts)])
        keys = both.dedup_keys()
        # newest generation first, then first occurrence: pick the first row of each key
        order = np.lexsort((np.arange(len(both)), -generation, keys))
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        chosen = order[starts]
        ends = np.r_[starts[1:], len(order)]
        duplicated = np.flatnonzero(ends - starts > 1)
        if len(duplicated):
            files = both.raw_file.astype(str).tolist()
            ids = both.packet.tolist()
            for slot in duplicated.tolist():
                rows = order[starts[slot] : ends[slot]].tolist()
                winner = rows[0]
                content = both.data[winner]
                best = (files[winner], ids[winner], winner)
                for row in rows[1:]:
                    if both.data[row] == content and (files[row], ids[row]) < best[:2]:
                        best = (files[row], ids[row], row)
                chosen[slot] = best[2]
        return both.take(np.sort(chosen)).canonical()

    def check_lengths(self) -> None:
        """Raise ``ValueError`` unless every packet is ``data_length + 7`` bytes long."""
        expected = self.headers["data_length"].astype(np.int64) + LENGTH_OFFSET
        actual = np.fromiter(map(len, self.data), dtype=np.int64, count=len(self.data))
        bad = np.flatnonzero(expected != actual)
        if len(bad):
            row = int(bad[0])
            raise ValueError(
                f"{len(bad)} packet(s) do not match their length field, e.g. row {row}: "
                f"{actual[row]} bytes, data_length {expected[row] - LENGTH_OFFSET}"
            )

    def same_content(self, other: LBProduct) -> bool:
        """True when both hold the same rows (headers, provenance, bytes, request) in the same order."""
        if self.key != other.key or len(self) != len(other) or self.is_bsd != other.is_bsd:
            return False
        return (
            np.array_equal(self.headers, other.headers)
            and np.array_equal(self.raw_file.astype(str), other.raw_file.astype(str))
            and np.array_equal(self.packet, other.packet)
            and self.data == other.data
            and (self.request is None or (other.request is not None and np.array_equal(self.request, other.request)))
        )
