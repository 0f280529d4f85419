"""Decode many packets of one type and layout together.

Output (:class:`DecodedPackets`): per parameter name one flat array of raw values in stream order
(every occurrence of a repeated parameter in a packet, in the order it is read, like STIXCore's
flattening) plus per-packet offsets, so ``values[name][offsets[name][i]:offsets[name][i + 1]]``
are the values of packet ``i``.

Fixed layouts read every field of every packet with one vectorised gather per field. Variable
layouts are walked over the tree once for the whole batch with arrays of *frames*
``(packet, bit position)``: a plain parameter is read for all frames at once; a repeater whose
children have a fixed size is expanded in one step (``np.repeat`` plus a cumulative position
ramp); a repeater with data-dependent children (nested repeaters, continuation codes) is walked in
lock step, repetition ``j`` of every packet at once.

A packet that does not fit its layout (too short, more than ``pad_tolerance`` bytes left over,
invalid continuation code) is reported in ``errors`` and dropped; the others decode normally.
Left-over bytes within the tolerance are reported in ``notes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from stix_lib.decode.bits import BitBuffer
from stix_lib.decode.layout import (
    BATCH_MAX_WIDTH,
    HEADER_BITS,
    Extent,
    FieldRun,
    FixedLayout,
    GroupStep,
    Node,
    PacketLayout,
    Step,
    StructurePlan,
    VariableLayout,
)

#: Default number of trailing bytes a packet may carry beyond its layout (pad byte of 21/6/43).
DEFAULT_PAD_TOLERANCE = 1

_KEY_SHIFT = np.int64(24)  # sort key: packet << 24 | bit position (packets < 2 MiB)


@dataclass
class DecodedPackets:
    """Raw parameter values of a batch of packets of one layout.

    Attributes
    ----------
    layout
        The layout used.
    indices
        Index (into the sequence given to the decoder) of each decoded packet, ascending.
    values
        Parameter name -> flat raw values of all decoded packets, in stream order.
    offsets
        Parameter name -> ``len(indices) + 1`` offsets into ``values[name]``.
    errors
        ``(input index, reason)`` for each packet that could not be decoded.
    leftover_bits
        Bits after the end of the layout, per decoded packet.
    notes
        Informational messages (left-over pad bytes within the tolerance).
    """

    layout: PacketLayout
    indices: npt.NDArray[np.intp]
    values: dict[str, npt.NDArray]
    offsets: dict[str, npt.NDArray[np.int64]]
    errors: list[tuple[int, str]] = field(default_factory=list)
    leftover_bits: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    notes: list[str] = field(default_factory=list)
    _scalars: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    _counts: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.indices)

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __getitem__(self, name: str) -> npt.NDArray:
        return self.values[name]

    def counts(self, name: str) -> npt.NDArray[np.int64]:
        """Number of values of ``name`` in each decoded packet (computed once per name; read-only)."""
        counts = self._counts.get(name)
        if counts is None:
            counts = np.diff(self.offsets[name])
            counts.flags.writeable = False
            self._counts[name] = counts
        return counts

    def packet_values(self, name: str, packet: int) -> npt.NDArray:
        """Values of ``name`` in decoded packet number ``packet`` (0-based in ``indices``)."""
        start, stop = self.offsets[name][packet], self.offsets[name][packet + 1]
        return self.values[name][start:stop]

    def scalar(self, name: str) -> npt.NDArray:
        """Values of a parameter that occurs exactly once per packet (one value per packet).

        Raises
        ------
        ValueError
            If some packet holds zero or several values of ``name``.
        """
        if name not in self._scalars:
            offsets = self.offsets[name]
            if offsets[-1] != len(offsets) - 1 or not np.all(self.counts(name) == 1):
                raise ValueError(f"parameter {name} does not occur exactly once in every packet")
            self._scalars.add(name)
        return self.values[name]

    def packet_dict(self, packet: int) -> dict[str, npt.NDArray]:
        """All parameters of decoded packet number ``packet``."""
        return {name: self.packet_values(name, packet) for name in self.values}


@dataclass(frozen=True)
class _PacketRuns:
    """The packet of each value of a repeater, as runs: ``np.repeat(packets, counts)``, made only
    when needed (a parameter read at one place needs only the number of values per packet)."""

    packets: np.ndarray
    counts: np.ndarray
    total: int

    def __len__(self) -> int:
        return self.total

    def array(self) -> np.ndarray:
        return np.repeat(self.packets, self.counts)


def _packet_array(pkt: np.ndarray | _PacketRuns) -> np.ndarray:
    return pkt.array() if isinstance(pkt, _PacketRuns) else pkt


class _Chunks:
    """Values emitted per parameter: lists of (packet, bit position, values) arrays.

    Positions order the values of a name read at several tree nodes; for a name read at one
    node they may be ``None`` (its values are emitted in stream order per packet).
    """

    def __init__(self) -> None:
        self.data: dict[str, list[tuple[np.ndarray | _PacketRuns, np.ndarray | None, np.ndarray]]] = {}

    def add(self, name: str, pkt: np.ndarray | _PacketRuns, pos: np.ndarray | None, values: np.ndarray) -> None:
        if len(pkt):
            self.data.setdefault(name, []).append((pkt, pos, values))


class _VariableWalker:
    def __init__(self, layout: VariableLayout, buf: BitBuffer, sel: np.ndarray) -> None:
        self.layout = layout
        self.buf = buf
        self.base = buf.bit_starts[sel]
        self.limit = buf.bit_lengths[sel]
        self.bad = np.zeros(len(sel), dtype=bool)
        self.reasons: dict[int, str] = {}
        self.any_bad = False
        self.chunks = _Chunks()
        self.single = layout.single_node_names  # names whose positions are never needed

    def fail(self, local: np.ndarray, reasons: Sequence[str] | str) -> None:
        if not len(local):
            return
        fresh = ~self.bad[local]
        if isinstance(reasons, str):
            for p in np.unique(local[fresh]).tolist():
                self.reasons.setdefault(p, reasons)
        else:
            for p, r in zip(local[fresh].tolist(), np.asarray(reasons, dtype=object)[fresh].tolist(), strict=True):
                self.reasons.setdefault(p, r)
        self.bad[local] = True
        self.any_bad = True

    def read(self, node: Node, pkt: np.ndarray, pos: np.ndarray, width: int | None = None) -> np.ndarray:
        width = node.width if width is None else width
        limit = self.limit[pkt]
        outside = (pos + width > limit) | (pos < 0)
        if outside.any():
            where = np.nonzero(outside)[0]
            reasons = [
                f"packet shorter than its IDB layout: {node.name} needs bits {p}..{p + width} "
                f"but the packet has {lim} bits"
                for p, lim in zip(pos[where].tolist(), limit[where].tolist(), strict=True)
            ]
            self.fail(pkt[where], reasons)
            pos = np.where(outside, HEADER_BITS, pos)
            pos = np.minimum(pos, np.maximum(limit - width, 0))
        return self.buf.read(self.base[pkt] + pos, width, node.signed)

    def run(self) -> np.ndarray:
        count = len(self.base)
        return self.sequence(self.layout.steps, np.arange(count, dtype=np.int64), np.full(count, HEADER_BITS))

    def sequence(self, steps: tuple[Step, ...], pkt: np.ndarray, pos: np.ndarray) -> np.ndarray:
        for step in steps:
            if isinstance(step, FieldRun):
                pos = self.fields(step, pkt, pos)
            elif isinstance(step, GroupStep):
                pos = self.node(step.node, pkt, pos, step)
            else:
                pos = self.node(step, pkt, pos, None)
        return pos

    def fields(self, run: FieldRun, pkt: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Read a run of plain nodes with one gather (node by node when a packet is too short)."""
        if not len(pkt):
            return pos
        batch = run.batch
        if int(pos.min()) + batch.low < 0 or bool(np.any(pos + batch.high > self.limit[pkt])):
            for node in run.nodes:  # the reads name the first field that does not fit
                pos = self.node(node, pkt, pos, None)
            return pos
        values = self.buf.read_fields(self.base[pkt] + pos, batch.starts, batch.widths, batch.signed)
        for node, start, value in zip(run.nodes, batch.starts[:, 0].tolist(), values, strict=True):
            self.chunks.add(node.name, pkt, None if node.name in self.single else pos + start, value)
        return pos + run.size

    def node(self, node: Node, pkt: np.ndarray, pos: np.ndarray, group: GroupStep | None) -> np.ndarray:
        if node.offset:
            pos = pos + node.offset
        values = self.read(node, pkt, pos)
        self.chunks.add(node.name, pkt, pos, values)
        pos = pos + node.width
        if group is None:
            return pos
        counts = values.astype(np.int64)
        if self.any_bad:
            counts = np.where(self.bad[pkt], 0, counts)
        if node.continuation:
            return self.continuation(node, pkt, pos, counts)
        size = node.children_size
        if size is not None:
            return self.expand(node, group, pkt, pos, counts, size)
        if group.structure is not None:
            located = self.locate(group.structure, pkt, pos, counts)
            if located is not None:
                frame_pkt, frame_pos, end = located
                self.sequence(group.children, frame_pkt, frame_pos)
                return end
        return self.lockstep(group.children, pkt, pos, counts)

    def continuation(self, node: Node, pkt: np.ndarray, pos: np.ndarray, codes: np.ndarray) -> np.ndarray:
        child = node.children[0]
        invalid = (codes > 2) | (codes < 0)
        if invalid.any():
            where = np.nonzero(invalid)[0]
            self.fail(pkt[where], [f"invalid continuation code {c} in {node.name}" for c in codes[where].tolist()])
            codes = np.where(invalid, 0, codes)
        out = np.ones(len(pkt), dtype=np.int64)
        start = pos + child.offset
        for code in (1, 2):
            where = np.nonzero(codes == code)[0]
            if len(where):
                out[where] = self.read(child, pkt[where], start[where], child.width * code)
        self.chunks.add(child.name, pkt, start, out)
        return np.where(codes > 0, start + codes * child.width, pos)

    def expand(
        self, node: Node, group: GroupStep, pkt: np.ndarray, pos: np.ndarray, counts: np.ndarray, size: int
    ) -> np.ndarray:
        remaining = self.limit[pkt] - pos
        over = counts * size > remaining
        if over.any():
            where = np.nonzero(over)[0]
            self.fail(
                pkt[where],
                [
                    f"packet shorter than its IDB layout: {node.name}={c} repetitions of {size} bits "
                    f"need {c * size} bits, {r} left"
                    for c, r in zip(counts[where].tolist(), remaining[where].tolist(), strict=True)
                ],
            )
            counts = np.where(over, 0, counts)
        total = int(counts.sum())
        if total:
            batch = group.batch
            if batch is not None and batch.low >= 0 and batch.high <= size:
                # every field lies inside its repetition and the repetitions inside the packet
                aligned = size % 8 == 0 and not np.any(batch.starts & 7) and not np.any(pos & 7)
                origin = step_runs(self.base[pkt] + pos, counts, size)
                values = self.buf.read_fields(origin, batch.starts, batch.widths, batch.signed, aligned)
                runs = _PacketRuns(pkt, counts, total)
                for name, start, value in zip(batch.names, batch.starts[:, 0].tolist(), values, strict=True):
                    at = None if name in self.single else origin - np.repeat(self.base[pkt], counts) + start
                    self.chunks.add(name, runs, at, value)
            else:
                self.sequence(group.children, np.repeat(pkt, counts), step_runs(pos, counts, size))
        return pos + counts * size

    def locate(
        self, plan: StructurePlan, pkt: np.ndarray, pos: np.ndarray, counts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Start of every repetition of a structure, read from its counts alone (see
        :class:`~stix_lib.decode.layout.StructurePlan`): frames ``(pkt, pos)`` in stream order
        and the position after the repeater per frame.

        ``None`` when some repetition would not fit its packet (or has a negative count): then
        :meth:`lockstep` walks it and reports the first field that does not fit. Otherwise no
        read of the structure can fail, so reading all repetitions at once gives the same values.
        """

        def fits(start: np.ndarray, extent: Extent | None, limit: np.ndarray) -> bool:
            return extent is None or not (
                int(start.min()) + extent[0] < 0 or bool(np.any(start + extent[1] > limit))
            )

        end = pos.copy()
        active = np.flatnonzero(counts > 0)
        frames: list[np.ndarray] = []
        starts: list[np.ndarray] = []
        done = 0
        while len(active):
            frame_pkt = pkt[active]
            limit = self.limit[frame_pkt]
            start = end[active]
            at = start
            for block in plan.blocks:
                if not fits(at, block.fields, limit):
                    return None
                count_at = at + block.position
                number = self.buf.read(self.base[frame_pkt] + count_at, block.width, block.signed)
                first = count_at + block.width
                has = number > 0
                if block.signed and bool(np.any(number < 0)):
                    return None
                last = first + (number - 1) * block.size
                if bool(np.any(has & ((first + block.child[0] < 0) | (last + block.child[1] > limit)))):
                    return None
                at = first + number * block.size
            if not fits(at, plan.tail, limit):
                return None
            frames.append(active)
            starts.append(start)
            end[active] = at + plan.tail_size
            done += 1
            active = active[counts[active] > done]
        if not frames:
            return pkt[:0], pos[:0], end
        frame = np.concatenate(frames)
        order = np.argsort(frame, kind="stable")  # frame by frame, each one's repetitions in order
        return pkt[frame[order]], np.concatenate(starts)[order], end

    def lockstep(self, children: tuple[Step, ...], pkt: np.ndarray, pos: np.ndarray, counts: np.ndarray) -> np.ndarray:
        pos = pos.copy()
        active = np.nonzero(counts > 0)[0]
        done = 0
        while len(active):
            pos[active] = self.sequence(children, pkt[active], pos[active])
            done += 1
            keep = counts[active] > done
            if self.any_bad:
                keep &= ~self.bad[pkt[active]]
            active = active[keep]
        return pos


def step_runs(starts: npt.ArrayLike, counts: npt.ArrayLike, step: int) -> npt.NDArray[np.int64]:
    """``starts[i] + step * j`` for ``j`` in ``range(counts[i])``, run after run (one array, no
    temporaries of the output's size: a cumulative sum of the steps and of the jumps between runs)."""
    starts = np.asarray(starts, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    have = np.flatnonzero(counts > 0)
    out = np.full(int(counts.sum()), step, dtype=np.int64)
    if not len(have):
        return out
    first, number = starts[have], counts[have]
    heads = np.cumsum(number) - number
    out[0] = first[0]
    out[heads[1:]] = first[1:] - (first[:-1] + (number[:-1] - 1) * step)
    np.cumsum(out, out=out)
    return out


#: Average chunk size from which the counting merge beats a stable sort (measured: chunks of 200
#: values sort 7x faster, chunks of 5,800 merge ~4x faster).
_COUNTING_MERGE_MIN_CHUNK = 1024


def _stream_order_single_node(parts: list[tuple[np.ndarray, np.ndarray | None, np.ndarray]], count: int) -> tuple:
    """Merge the chunks of a parameter that occurs at one tree node.

    For one packet the walker emits the values of a single node in stream order, so a stable
    sort on the packet number alone restores stream order. The chunks (one per lockstep
    iteration) are usually each in packet order: then every value's place is computed from the
    per-packet counts (a counting merge) — worth it for few, large chunks (calibration spectra),
    as its cost per chunk is about that of sorting ~1,000 values; otherwise, and for many small
    chunks (continuation-coded science counts), a stable (radix) sort is used.
    """
    n_values = sum(len(p[2]) for p in parts)
    if n_values >= _COUNTING_MERGE_MIN_CHUNK * len(parts) and all(
        len(p[0]) < 2 or bool(np.all(p[0][1:] >= p[0][:-1])) for p in parts
    ):
        counts = [np.bincount(p[0], minlength=count) for p in parts]
        total = np.sum(counts, axis=0)
        base = np.cumsum(total) - total  # where each packet's values start
        vals = np.empty(n_values, dtype=np.result_type(*[p[2] for p in parts]))
        for (chunk_pkt, _, chunk_vals), chunk_counts in zip(parts, counts, strict=True):
            first = np.cumsum(chunk_counts) - chunk_counts  # first value of each packet in the chunk
            vals[(base - first)[chunk_pkt] + np.arange(len(chunk_pkt))] = chunk_vals
            base = base + chunk_counts
        return np.repeat(np.arange(count, dtype=parts[0][0].dtype), total), vals
    pkt = np.concatenate([p[0] for p in parts])
    vals = np.concatenate([p[2] for p in parts])
    key = pkt.astype(np.uint16) if count <= 1 << 16 else pkt
    order = np.argsort(key, kind="stable")
    return pkt[order], vals[order]


def _assemble(
    chunks: _Chunks, layout: VariableLayout, ok: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    count = len(ok)
    ok_index = np.nonzero(ok)[0]
    all_ok = bool(ok.all())
    single_node, once = layout.single_node_names, layout.once_per_packet
    values: dict[str, np.ndarray] = {}
    offsets: dict[str, np.ndarray] = {}
    once_offsets = np.arange(len(ok_index) + 1, dtype=np.int64)
    once_offsets.flags.writeable = False  # shared by those names
    for name in layout.names:
        parts = chunks.data.get(name, [])
        if name in once and len(parts) == 1:  # a top-level node: one value per packet, in packet order
            values[name] = parts[0][2] if all_ok else parts[0][2][ok]
            offsets[name] = once_offsets
            continue
        if not parts:
            values[name] = np.zeros(0, dtype=np.int64)
            offsets[name] = np.zeros(len(ok_index) + 1, dtype=np.int64)
            continue
        if len(parts) == 1 and isinstance(parts[0][0], _PacketRuns):  # values of one repeater
            runs, vals = parts[0][0], parts[0][2]
            if not all_ok:
                vals = vals[np.repeat(ok[runs.packets], runs.counts)]
                keep = ok[runs.packets]
                runs = _PacketRuns(runs.packets[keep], runs.counts[keep], len(vals))
            per_packet = np.bincount(runs.packets, weights=runs.counts, minlength=count).astype(np.int64)[ok_index]
            off = np.zeros(len(ok_index) + 1, dtype=np.int64)
            np.cumsum(per_packet, out=off[1:])
            values[name], offsets[name] = vals, off
            continue
        arrays = [(_packet_array(p[0]), p[1], p[2]) for p in parts]
        if len(arrays) == 1:
            pkt, pos, vals = arrays[0]
        elif name in single_node:
            pkt, vals = _stream_order_single_node(arrays, count)
        else:
            pkt = np.concatenate([p[0] for p in arrays])
            pos = np.concatenate([p[1] for p in arrays])
            vals = np.concatenate([p[2] for p in arrays])
            key = (pkt << _KEY_SHIFT) | pos
            if np.any(key[1:] < key[:-1]):
                order = np.argsort(key, kind="stable")
                pkt, vals = pkt[order], vals[order]
        if not all_ok:
            keep = ok[pkt]
            pkt, vals = pkt[keep], vals[keep]
        per_packet = np.bincount(pkt, minlength=count)[ok_index] if len(pkt) else np.zeros(len(ok_index), np.int64)
        off = np.zeros(len(ok_index) + 1, dtype=np.int64)
        np.cumsum(per_packet, out=off[1:])
        values[name] = vals
        offsets[name] = off
    return values, offsets


def _leftover_check(
    layout: PacketLayout,
    leftover: np.ndarray,
    ok: np.ndarray,
    reasons: dict[int, str],
    pad_tolerance: int,
) -> list[str]:
    notes = []
    too_long = ok & (leftover > pad_tolerance * 8)
    for p in np.nonzero(too_long)[0].tolist():
        reasons.setdefault(
            p,
            f"{leftover[p] / 8:g} bytes left over after the IDB layout of {tuple(layout.key)} "
            f"(tolerance {pad_tolerance})",
        )
    ok &= ~too_long
    padded = ok & (leftover > 0)
    if padded.any():
        sizes = sorted({int(b) for b in leftover[padded].tolist()})
        notes.append(
            f"{int(padded.sum())} packet(s) of {tuple(layout.key)} carry "
            f"{'/'.join(f'{b / 8:g}' for b in sizes)} pad byte(s) after the IDB layout"
        )
    return notes


def _decode_fixed(
    layout: FixedLayout, buf: BitBuffer, sel: np.ndarray, pad_tolerance: int
) -> tuple[np.ndarray, dict, dict, dict[int, str], np.ndarray, list[str]]:
    nbytes = layout.nbytes
    lengths = buf.byte_lengths[sel]
    reasons: dict[int, str] = {}
    short = lengths < nbytes
    for p in np.nonzero(short)[0].tolist():
        reasons[p] = (
            f"packet shorter than its IDB layout: {lengths[p]} bytes, layout of {tuple(layout.key)} "
            f"(IDB {layout.idb_version}) needs {nbytes}"
        )
    ok = ~short
    leftover = (lengths - nbytes) * 8
    notes = _leftover_check(layout, leftover, ok, reasons, pad_tolerance)
    ok_index = np.nonzero(ok)[0]
    base = buf.bit_starts[sel[ok_index]]
    columns: dict[str, list[np.ndarray]] = {}
    batch = layout.batched
    batched = iter(buf.read_fields(base, batch.starts, batch.widths, batch.signed) if batch.names else ())
    for f in layout.fields:
        if f.width <= BATCH_MAX_WIDTH:
            columns.setdefault(f.name, []).append(next(batched))
        else:
            columns.setdefault(f.name, []).append(buf.read(base + f.bit_offset, f.width, f.signed))
    values: dict[str, np.ndarray] = {}
    offsets: dict[str, np.ndarray] = {}
    n = len(ok_index)
    once = np.arange(n + 1, dtype=np.int64)
    once.flags.writeable = False  # shared by the parameters that occur once
    for name, cols in columns.items():
        values[name] = cols[0] if len(cols) == 1 else np.stack(cols, axis=1).ravel()
        offsets[name] = once if len(cols) == 1 else once * len(cols)
    return ok, values, offsets, reasons, leftover[ok], notes


def _decode_variable(
    layout: VariableLayout, buf: BitBuffer, sel: np.ndarray, pad_tolerance: int
) -> tuple[np.ndarray, dict, dict, dict[int, str], np.ndarray, list[str]]:
    walker = _VariableWalker(layout, buf, sel)
    end = walker.run()
    ok = ~walker.bad
    leftover = walker.limit - end
    notes = _leftover_check(layout, leftover, ok, walker.reasons, pad_tolerance)
    values, offsets = _assemble(walker.chunks, layout, ok)
    return ok, values, offsets, walker.reasons, leftover[ok], notes


def decode_layout(
    layout: PacketLayout,
    packets: Sequence[bytes] | BitBuffer,
    indices: npt.ArrayLike | None = None,
    *,
    pad_tolerance: int = DEFAULT_PAD_TOLERANCE,
) -> DecodedPackets:
    """Decode packets that all share ``layout``.

    Parameters
    ----------
    layout
        Layout from :func:`stix_lib.decode.layout.get_layout`.
    packets
        Complete packets (headers included) or a :class:`BitBuffer` of them.
    indices
        Which packets of ``packets`` to decode (default: all).
    pad_tolerance
        Trailing bytes a packet may carry after its layout without being an error.

    Returns
    -------
    DecodedPackets
        Values of the packets that fit the layout; the others are listed in ``errors`` with the
        index they had in ``packets``.
    """
    buf = packets if isinstance(packets, BitBuffer) else BitBuffer(packets)
    sel = np.arange(len(buf), dtype=np.int64) if indices is None else np.asarray(indices, dtype=np.int64)
    if isinstance(layout, FixedLayout):
        ok, values, offsets, reasons, leftover, notes = _decode_fixed(layout, buf, sel, pad_tolerance)
    else:
        ok, values, offsets, reasons, leftover, notes = _decode_variable(layout, buf, sel, pad_tolerance)
    errors = [(int(sel[p]), reason) for p, reason in sorted(reasons.items()) if not ok[p]]
    decoded = DecodedPackets(
        layout=layout,
        indices=sel[ok].astype(np.intp),
        values=values,
        offsets=offsets,
        errors=errors,
        leftover_bits=leftover.astype(np.int64),
        notes=notes,
    )
    decoded._scalars.update(layout.once_per_packet)  # one value per packet by construction
    return decoded
