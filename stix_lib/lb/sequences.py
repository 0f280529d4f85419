"""Packet sequences of an LB product (CCSDS grouping flags) and their completeness.

Rules:

* HK (3/25/1, 3/25/2) and quick-look (21/6/30-34, 43) products form one complete sequence.
* Otherwise packets are walked in order by ``sequence_flag``: STANDALONE (3) is a sequence of its
  own; FIRST (1) starts a sequence; MIDDLE (0) continues the open one (or starts an orphan);
  LAST (2) closes the open one (or forms an orphan of one packet).
* A sequence is complete when it is a single STANDALONE packet, or starts with FIRST, ends with
  LAST and ``last - first + 1 >= len - 1``, where ``last`` is increased by the largest count of
  the sequence when the 14-bit counter wrapped (``last <= first``). This is the reference rule
  as specified; note that it rejects only sequences with more packets than their count span
  (plus one), it does not detect packets missing in the middle of a FIRST..LAST run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

STANDALONE, FIRST, MIDDLE, LAST = 3, 1, 0, 2

#: Packet types whose whole product is treated as one complete sequence.
WHOLE_PRODUCT_TYPES = frozenset({(3, 25, 1), (3, 25, 2), *((21, 6, s) for s in (30, 31, 32, 33, 34, 43))})


@dataclass(frozen=True)
class PacketSequence:
    """Rows (indices into the product) of one sequence and whether it is complete."""

    rows: tuple[int, ...]
    complete: bool


def _is_complete(flags: list[int], counts: list[int]) -> bool:
    if len(flags) == 1 and flags[0] == STANDALONE:
        return True
    if flags[0] != FIRST or flags[-1] != LAST:
        return False
    first, last = counts[0], counts[-1]
    if last <= first:
        last += max(counts)
    return last - first + 1 >= len(flags) - 1


def extract_sequences(
    sequence_flags: npt.ArrayLike,
    sequence_counts: npt.ArrayLike,
    key: tuple[int, int, int | None] | None = None,
) -> list[PacketSequence]:
    """Split the rows of a product into packet sequences (see module docstring).

    Parameters
    ----------
    sequence_flags, sequence_counts
        Per packet, in product order.
    key
        ``(service, subtype, ssid)``; HK and quick-look products are one complete sequence.
    """
    flags = np.asarray(sequence_flags, dtype=np.int64).tolist()
    counts = np.asarray(sequence_counts, dtype=np.int64).tolist()
    if not flags:
        return []
    if key is not None and tuple(key) in WHOLE_PRODUCT_TYPES:
        return [PacketSequence(tuple(range(len(flags))), True)]
    sequences: list[list[int]] = []
    current: list[int] | None = None
    for row, flag in enumerate(flags):
        if flag == STANDALONE:
            if current is not None:
                sequences.append(current)
                current = None
            sequences.append([row])
        elif flag == FIRST:
            if current is not None:
                sequences.append(current)
            current = [row]
        elif flag == MIDDLE:
            if current is None:
                current = [row]
            else:
                current.append(row)
        else:  # LAST
            if current is None:
                sequences.append([row])
            else:
                current.append(row)
                sequences.append(current)
                current = None
    if current is not None:
        sequences.append(current)
    return [
        PacketSequence(tuple(rows), _is_complete([flags[r] for r in rows], [counts[r] for r in rows]))
        for rows in sequences
    ]
