"""Completeness of science (BSD) request sequences: explained gaps and the 14-bit wrap.

:func:`stix_lib.lb.sequences.extract_sequences` implements the reference completeness formula
``span >= len - 1``, which only rejects sequences with *more* packets than their count span; a
request missing a packet in the middle of a FIRST..LAST run passes it. This module applies the
rule the formula is meant to express (processing spec §3.6):

* the sequence starts with FIRST (1) and ends with LAST (2), or is one STANDALONE (3) packet;
* the source sequence counts (14 bit, modulo 16384) increase from packet to packet; the step
  between consecutive packets is ``(count[i+1] - count[i]) mod 16384`` so a wrap through 16383 → 0
  is an ordinary step;
* every step is 1, except where the missing counts are *explained*: the source sequence count
  runs per APID, so a packet of another type of the same APID sent between two packets of the
  request (a quick-look packet inside an aspect burst, another request's packet) takes a count.
  The caller's ``explain`` hook (:data:`GapExplainer`, e.g.
  :class:`stix_lib.products.sequence_gaps.ArchiveGapExplainer`) says which missing counts such a
  packet holds; a missing count nobody explains is a lost packet of the request. ``tolerance``
  (default 0) unexplained counts are accepted (the reference formula accepts one: ``tolerance=1``);
* a step of 0 (duplicate count) or an unexplained missing count makes the sequence incomplete.

Incomplete sequences yield no product; they are reported (:class:`SequenceReport`) and become
complete when later deliveries merge the missing packets into the LB file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from stix_lib.lb.sequences import FIRST, LAST, STANDALONE, WHOLE_PRODUCT_TYPES, PacketSequence, extract_sequences

#: Modulus of the CCSDS source sequence count (14 bits).
COUNT_MODULUS = 1 << 14

#: Unexplained missing sequence counts tolerated within one request sequence.
GAP_TOLERANCE = 0

#: ``explain(missing_counts, time_before, time_after) -> explained`` (boolean per missing count):
#: whether a packet of another type of the same APID with that count was sent between the two
#: request packets around the gap (times as binary SCET ``coarse << 16 | fine``).
GapExplainer = Callable[[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]], npt.NDArray[np.bool_]]


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


def gaps(sequence_counts: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Missing counts between consecutive packets and the index of the packet before each.

    Returns
    -------
    missing, before
        Every count skipped (modulo 2**14), and the position of the packet preceding it.
    """
    counts = np.asarray(sequence_counts, dtype=np.int64)
    steps = count_steps(counts)
    before = np.repeat(np.arange(len(steps)), np.maximum(steps - 1, 0))
    offsets = np.concatenate([np.arange(1, step) for step in steps.tolist()]) if len(steps) else np.zeros(0)
    missing = np.mod(counts[before] + offsets.astype(np.int64), COUNT_MODULUS)
    return missing.astype(np.int64), before.astype(np.int64)


def unexplained_missing(
    sequence_counts: npt.ArrayLike, times: npt.ArrayLike | None = None, explain: GapExplainer | None = None
) -> int:
    """Missing counts of a strictly increasing sequence that ``explain`` does not account for."""
    missing, before = gaps(sequence_counts)
    if not len(missing) or explain is None or times is None:
        return len(missing)
    btime = np.asarray(times, dtype=np.int64)
    explained = np.asarray(explain(missing, btime[before], btime[before + 1]), dtype=bool)
    return int(np.count_nonzero(~explained))


def is_complete_sequence(
    sequence_flags: npt.ArrayLike,
    sequence_counts: npt.ArrayLike,
    *,
    tolerance: int = GAP_TOLERANCE,
    times: npt.ArrayLike | None = None,
    explain: GapExplainer | None = None,
) -> bool:
    """True when one sequence of packets is complete (module docstring rules).

    Parameters
    ----------
    sequence_flags, sequence_counts
        Grouping flags and source sequence counts of the packets of one sequence, in order.
    tolerance
        Unexplained missing counts tolerated in total (default none).
    times, explain
        Binary SCET of the packets and the hook telling which missing counts other packets hold.
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
    if missing_counts(sequence_counts) < 0:
        return False
    return unexplained_missing(sequence_counts, times, explain) <= tolerance


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


def _reason(
    flags: np.ndarray, counts: np.ndarray, tolerance: int, times: np.ndarray | None, explain: GapExplainer | None
) -> str:
    if flags.size == 1 and flags[0] != STANDALONE:
        return f"single packet with grouping flag {int(flags[0])}"
    if flags[0] != FIRST:
        return "does not start with a FIRST packet"
    if flags[-1] != LAST:
        return "does not end with a LAST packet"
    missing = missing_counts(counts)
    if missing < 0:
        return "sequence counts do not increase (duplicate count)"
    unexplained = unexplained_missing(counts, times, explain)
    lost, _ = gaps(counts)
    shown = ", ".join(str(c) for c in lost[:10].tolist()) + (", ..." if len(lost) > 10 else "")
    return (
        f"{missing} sequence counts missing ({shown}), {unexplained} not explained by packets of other types "
        f"of the same APID (tolerated: {tolerance})"
    )


def request_sequences(
    sequence_flags: npt.ArrayLike,
    sequence_counts: npt.ArrayLike,
    key: tuple[int, int, int | None] | None = None,
    *,
    tolerance: int = GAP_TOLERANCE,
    times: npt.ArrayLike | None = None,
    explain: GapExplainer | None = None,
) -> SequenceReport:
    """Split a product's packets into sequences and judge each with :func:`is_complete_sequence`.

    Parameters
    ----------
    sequence_flags, sequence_counts
        Per packet, in product order (an LB file of one request, sorted by time).
    key
        ``(service, subtype, ssid)``; HK and quick-look products are one complete sequence.
    tolerance
        Unexplained missing counts tolerated per sequence.
    times, explain
        Binary SCET per packet and the hook explaining missing counts (:data:`GapExplainer`).
    """
    flags = np.asarray(sequence_flags, dtype=np.int64)
    counts = np.asarray(sequence_counts, dtype=np.int64)
    btime = None if times is None else np.asarray(times, dtype=np.int64)
    report = SequenceReport()
    for seq in extract_sequences(flags, counts, key):
        if key is not None and tuple(key) in WHOLE_PRODUCT_TYPES:
            report.complete.append(seq)
            continue
        rows = np.asarray(seq.rows, dtype=np.int64)
        seq_times = None if btime is None else btime[rows]
        if is_complete_sequence(flags[rows], counts[rows], tolerance=tolerance, times=seq_times, explain=explain):
            report.complete.append(PacketSequence(seq.rows, True))
        else:
            report.incomplete.append(
                IncompleteSequence(
                    seq.rows,
                    int(counts[rows[0]]),
                    int(counts[rows[-1]]),
                    _reason(flags[rows], counts[rows], tolerance, seq_times, explain),
                )
            )
    return report
