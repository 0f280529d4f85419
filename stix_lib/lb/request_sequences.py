"""Completeness of science (BSD) request sequences: one-gap tolerance and the 14-bit wrap.

:func:`stix_lib.lb.sequences.extract_sequences` implements the reference completeness formula
``span >= len - 1``, which only rejects sequences with *more* packets than their count span; a
request missing a packet in the middle of a FIRST..LAST run passes it. This module applies the
rule the formula is meant to express (processing spec §3.6):

* the sequence starts with FIRST (1) and ends with LAST (2), or is one STANDALONE (3) packet;
* the source sequence counts (14 bit, modulo 16384) increase from packet to packet; the step
  between consecutive packets is ``(count[i+1] - count[i]) mod 16384`` so a wrap through 16383 → 0
  is an ordinary step;
* every step is 1 except at most one step of 2 (one count missing in total: the one-gap
  tolerance, e.g. a quick-look packet of the same APID interleaved with the request);
* a step of 0 (duplicate count) or more than one missing count makes the sequence incomplete.

Incomplete sequences yield no product; they are reported (:class:`SequenceReport`) and become
complete when later deliveries merge the missing packets into the LB file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from stix_lib.lb.sequences import FIRST, LAST, STANDALONE, WHOLE_PRODUCT_TYPES, PacketSequence, extract_sequences

#: Modulus of the CCSDS source sequence count (14 bits).
COUNT_MODULUS = 1 << 14

#: Missing sequence counts tolerated within one request sequence.
GAP_TOLERANCE = 1


def count_steps(sequence_counts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Steps between consecutive sequence counts modulo 2**14 (``len - 1`` values).

    Parameters
    ----------
    sequence_counts
        Source sequence counts of the packets, in product order.

    Returns
    -------
    numpy.ndarray
        ``(counts[i + 1] - counts[i]) mod 16384``; 1 for consecutive packets, also across the wrap.
    """
    counts = np.asarray(sequence_counts, dtype=np.int64)
    return np.mod(np.diff(counts), COUNT_MODULUS)


def missing_counts(sequence_counts: npt.ArrayLike) -> int:
    """Number of sequence counts missing between the first and the last packet.

    Returns ``-1`` when the counts do not increase strictly (a duplicate count, a step of 0).
    """
    steps = count_steps(sequence_counts)
    if np.any(steps == 0):
        return -1
    return int(np.sum(steps - 1))


def is_complete_sequence(
    sequence_flags: npt.ArrayLike,
    sequence_counts: npt.ArrayLike,
    *,
    tolerance: int = GAP_TOLERANCE,
) -> bool:
    """True when one sequence of packets is complete (module docstring rules).

    Parameters
    ----------
    sequence_flags, sequence_counts
        Grouping flags and source sequence counts of the packets of one sequence, in order.
    tolerance
        Missing counts tolerated in total (default one).
    """
    flags = np.asarray(sequence_flags, dtype=np.int64)
    if flags.size == 0:
        return False
    if flags.size == 1:
        return bool(flags[0] == STANDALONE)
    if flags[0] != FIRST or flags[-1] != LAST:
        return False
    if np.any(flags[1:-1] != 0):  # only MIDDLE packets between FIRST and LAST
        return False
    missing = missing_counts(sequence_counts)
    return 0 <= missing <= tolerance


@dataclass(frozen=True)
class IncompleteSequence:
    """An incomplete sequence: its rows, first/last counts and why it is incomplete."""

    rows: tuple[int, ...]
    first_count: int
    last_count: int
    reason: str


@dataclass
class SequenceReport:
    """Sequences of one LB product split into complete and incomplete ones.

    Attributes
    ----------
    complete
        Complete sequences (each becomes part of a product).
    incomplete
        Incomplete sequences with the reason (no product; reported).
    """

    complete: list[PacketSequence] = field(default_factory=list)
    incomplete: list[IncompleteSequence] = field(default_factory=list)

    @property
    def complete_rows(self) -> npt.NDArray[np.int64]:
        """Rows of all complete sequences, in product order."""
        rows = [r for seq in self.complete for r in seq.rows]
        return np.asarray(sorted(rows), dtype=np.int64)

    def messages(self, name: str = "") -> list[str]:
        """One line per incomplete sequence (for logs and processing reports)."""
        prefix = f"{name}: " if name else ""
        return [
            f"{prefix}incomplete sequence of {len(seq.rows)} packets "
            f"(counts {seq.first_count}..{seq.last_count}): {seq.reason}"
            for seq in self.incomplete
        ]


def _reason(flags: np.ndarray, counts: np.ndarray, tolerance: int) -> str:
    if flags.size == 1 and flags[0] != STANDALONE:
        return f"single packet with grouping flag {int(flags[0])}"
    if flags[0] != FIRST:
        return "does not start with a FIRST packet"
    if flags[-1] != LAST:
        return "does not end with a LAST packet"
    missing = missing_counts(counts)
    if missing < 0:
        return "sequence counts do not increase (duplicate count)"
    return f"{missing} sequence counts missing (tolerated: {tolerance})"


def request_sequences(
    sequence_flags: npt.ArrayLike,
    sequence_counts: npt.ArrayLike,
    key: tuple[int, int, int | None] | None = None,
    *,
    tolerance: int = GAP_TOLERANCE,
) -> SequenceReport:
    """Split a product's packets into sequences and judge each with :func:`is_complete_sequence`.

    Parameters
    ----------
    sequence_flags, sequence_counts
        Per packet, in product order (an LB file of one request, sorted by time).
    key
        ``(service, subtype, ssid)``; HK and quick-look products are one complete sequence.
    tolerance
        Missing counts tolerated per sequence.
    """
    flags = np.asarray(sequence_flags, dtype=np.int64)
    counts = np.asarray(sequence_counts, dtype=np.int64)
    report = SequenceReport()
    for seq in extract_sequences(flags, counts, key):
        if key is not None and tuple(key) in WHOLE_PRODUCT_TYPES:
            report.complete.append(seq)
            continue
        rows = np.asarray(seq.rows, dtype=np.int64)
        if is_complete_sequence(flags[rows], counts[rows], tolerance=tolerance):
            report.complete.append(PacketSequence(seq.rows, True))
        else:
            report.incomplete.append(
                IncompleteSequence(
                    seq.rows,
                    int(counts[rows[0]]),
                    int(counts[rows[-1]]),
                    _reason(flags[rows], counts[rows], tolerance),
                )
            )
    return report
