"""Complete TM packets from parameter values: IDB by time, APIDs, sequence counters, segmentation.

* Every packet is encoded with the layout of the IDB version valid at its header SCET (the same
  choice a decoder makes), by :func:`stix_lib.decode.encoder.encode_packet`.
* The APID is the one STIX uses for the packet type (``PID_APID``; the encoder's
  :func:`~stix_lib.decode.encoder.default_apid` gives the same value for every STIX ``PID`` row).
* Source sequence counts run per APID in the order packets are encoded and wrap at 16384.
* Long data are split into packets of at most :data:`MAX_PACKET_BYTES` bytes. STIX fills its
  quick-look and science packets up to 4112 bytes (16 header bytes + 4096 data bytes): the
  real light curves carry 580 samples of 5 energies (4112 bytes), the background 678 samples
  (4112), the variance 4073 samples (4112). A multi-packet product (a science request, a
  calibration accumulation) is sent as a CCSDS group: FIRST, MIDDLE..., LAST (a single packet is
  STANDALONE), with consecutive sequence counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from stix_lib.decode.encoder import default_apid, encode_packet
from stix_lib.decode.layout import PacketKey, PacketLayout, get_layout
from stix_lib.dev.simulate.layout_tools import find_node, measure_bits, packet_size
from stix_lib.idb.manager import IDBManager
from stix_lib.tm.headers import SequenceFlag

#: Largest STIX TM packet, headers included (4096 bytes of packet data field after the headers).
MAX_PACKET_BYTES = 4112
#: Sequence counts wrap at 2**14.
SEQUENCE_COUNT_MODULUS = 1 << 14

Values = dict[str, list[int]]


@dataclass
class PacketSpec:
    """A packet to be encoded.

    Attributes
    ----------
    key
        Packet type ``(service, subtype, ssid)``.
    values
        Raw parameter values in stream order (see :mod:`stix_lib.decode.encoder`).
    coarse, fine
        Header SCET (fine in 1/65536 s); selects the IDB version too.
    sequence_flag
        CCSDS grouping flag (3 standalone, 1 first, 0 middle, 2 last).
    product
        Short label of what the packet carries (``"ql-lightcurve"``, ``"sci-xray-cpd"`` ...).
    order
        Tie-breaker when sorting packets of equal header time (keeps groups contiguous).
    request
        ``(psc, rid)`` of a science request, None otherwise.
    pad
        Bytes appended after the layout (the real TM status packets carry one pad byte).
    sort_time
        ``(coarse, fine)`` used instead of the header time when ordering packets, so that the
        packets of one group get consecutive sequence counts (the group's first header time).
    """

    key: PacketKey
    values: Values
    coarse: int
    fine: int = 0
    sequence_flag: int = int(SequenceFlag.STANDALONE)
    product: str = ""
    order: tuple[int, ...] = ()
    request: tuple[int, int] | None = None
    pad: bytes = b""
    sort_time: tuple[int, int] | None = None

    @property
    def time_key(self) -> tuple[int, int, tuple[int, ...]]:
        """Sort key: ``sort_time`` (default the header time), then ``order``."""
        coarse, fine = self.sort_time if self.sort_time is not None else (self.coarse, self.fine)
        return (coarse, fine, self.order)


def group_flags(count: int) -> list[int]:
    """CCSDS grouping flags of a product sent in ``count`` packets."""
    if count <= 0:
        return []
    if count == 1:
        return [int(SequenceFlag.STANDALONE)]
    return [int(SequenceFlag.FIRST)] + [int(SequenceFlag.MIDDLE)] * (count - 2) + [int(SequenceFlag.LAST)]


@dataclass
class PacketFactory:
    """Encodes :class:`PacketSpec` objects, keeping one sequence counter per APID.

    Parameters
    ----------
    idb_manager
        Chooses the IDB (layout) from each packet's header time.
    first_counts
        Initial sequence count per APID (default 0).
    """

    idb_manager: IDBManager
    first_counts: Mapping[int, int] = field(default_factory=dict)
    _counters: dict[int, int] = field(default_factory=dict, init=False, repr=False)

    def layout(self, key: PacketKey, coarse: int) -> PacketLayout:
        """Layout of ``key`` in the IDB valid at on-board second ``coarse``."""
        idb = self.idb_manager.get_idb(self.idb_manager.version_for(float(coarse)))
        return get_layout(idb, *key)

    def idb_version(self, coarse: int) -> str:
        """Installed IDB version used for packets at on-board second ``coarse``."""
        return self.idb_manager.version_for(float(coarse))

    @staticmethod
    def apid(key: PacketKey) -> int:
        """APID of a packet type."""
        return default_apid(*key)

    def next_count(self, apid: int) -> int:
        """Take the next sequence count of ``apid`` (wraps at 16384)."""
        count = self._counters.get(apid, self.first_counts.get(apid, 0) % SEQUENCE_COUNT_MODULUS)
        self._counters[apid] = (count + 1) % SEQUENCE_COUNT_MODULUS
        return count

    def encode(self, spec: PacketSpec) -> bytes:
        """Encode one packet (takes the next sequence count of its APID).

        Raises
        ------
        ValueError
            Values that do not fit the layout, or a packet larger than :data:`MAX_PACKET_BYTES`.
        """
        layout = self.layout(spec.key, spec.coarse)
        apid = self.apid(spec.key)
        packet = encode_packet(
            layout,
            spec.values,
            coarse=spec.coarse,
            fine=spec.fine,
            sequence_count=self.next_count(apid),
            sequence_flag=spec.sequence_flag,
            apid=apid,
            pad=spec.pad,
        )
        if len(packet) > MAX_PACKET_BYTES:
            raise ValueError(f"{spec.product or tuple(spec.key)} packet of {len(packet)} bytes > {MAX_PACKET_BYTES}")
        return packet

    def encode_all(self, specs: Iterable[PacketSpec]) -> list[bytes]:
        """Encode packets in the given order."""
        return [self.encode(spec) for spec in specs]


def as_group(specs: Sequence[PacketSpec]) -> list[PacketSpec]:
    """Mark ``specs`` as one CCSDS group: FIRST/MIDDLE/LAST flags and a common sort time."""
    flags = group_flags(len(specs))
    first = (specs[0].coarse, specs[0].fine) if specs else None
    for spec, flag in zip(specs, flags, strict=True):
        spec.sequence_flag = flag
        spec.sort_time = first
    return list(specs)


def merge_values(*parts: Mapping[str, Sequence[int]]) -> Values:
    """Concatenate value dictionaries name by name (stream order = argument order)."""
    out: Values = {}
    for part in parts:
        for name, seq in part.items():
            out.setdefault(name, []).extend(int(v) for v in seq)
    return out


def pack_items(
    layout: PacketLayout,
    header: Mapping[str, Sequence[int]],
    repeater: str,
    items: Sequence[Mapping[str, Sequence[int]]],
    *,
    max_bytes: int = MAX_PACKET_BYTES,
) -> list[Values]:
    """Split the repetitions of ``repeater`` into as few packets as fit ``max_bytes`` each.

    Parameters
    ----------
    layout
        A variable layout with the repeater at top level.
    header
        Values of the parameters outside the repeater (copied into every packet).
    repeater
        Name of the top-level repeater whose children are the ``items``.
    items
        Values of one repetition each, in order.
    max_bytes
        Size limit of a complete packet.

    Returns
    -------
    list of dict
        Values of each packet (``repeater`` set to its number of items); empty for no items.

    Raises
    ------
    ValueError
        If one item alone does not fit into a packet.
    """
    node = find_node(layout, repeater)
    base = packet_size(layout, {**header, repeater: [0]})
    capacity_bits = (max_bytes - base) * 8
    packets: list[Values] = []
    current: list[Mapping[str, Sequence[int]]] = []
    used = 0
    for item in items:
        bits = measure_bits(node.children, item)
        if bits > capacity_bits:
            raise ValueError(f"one repetition of {repeater} needs {bits // 8} bytes, more than a packet holds")
        if current and used + bits > capacity_bits:
            packets.append(merge_values(header, {repeater: [len(current)]}, *current))
            current, used = [], 0
        current.append(item)
        used += bits
    if current:
        packets.append(merge_values(header, {repeater: [len(current)]}, *current))
    return packets


def samples_per_packet(
    layout: PacketLayout, build: Callable[[int], Mapping[str, Sequence[int]]], *, max_bytes: int = MAX_PACKET_BYTES
) -> int:
    """Largest ``n`` such that the packet ``build(n)`` fits ``max_bytes``.

    ``build(n)`` returns the values of a packet with ``n`` samples; the packet size must grow by
    the same amount per sample (true for the quick-look and aspect packets).

    Raises
    ------
    ValueError
        If not even one sample fits, or the size is not affine in ``n``.
    """
    s0 = packet_size(layout, build(0))
    s1 = packet_size(layout, build(1))
    if s1 <= s0:
        raise ValueError("packet size does not grow with the number of samples")
    n = (max_bytes - s0) // (s1 - s0)
    if n < 1:
        raise ValueError("not even one sample fits into a packet")
    if packet_size(layout, build(n)) > max_bytes:
        raise ValueError("packet size is not affine in the number of samples")
    return int(n)


def repeater_capacity_bits(
    layout: PacketLayout, header: Mapping[str, Sequence[int]], repeater: str, *, max_bytes: int = MAX_PACKET_BYTES
) -> int:
    """Bits left for the repetitions of ``repeater`` in a packet with ``header`` values."""
    return (max_bytes - packet_size(layout, {**header, repeater: [0]})) * 8


def split_elements(
    fixed_bits: int,
    elements: Sequence[tuple[Mapping[str, Sequence[int]], int]],
    capacity_bits: int,
) -> list[list[Mapping[str, Sequence[int]]]]:
    """Chunk ``(values, bits)`` elements so that ``fixed_bits`` plus a chunk fits ``capacity_bits``.

    Used to split one substructure (a time bin) whose inner repetitions (count entries, energy
    groups, samples) do not fit one packet into several substructures; every chunk gets at least
    one element, an empty input gives one empty chunk.
    """
    chunks: list[list[Mapping[str, Sequence[int]]]] = []
    current: list[Mapping[str, Sequence[int]]] = []
    used = fixed_bits
    for values, bits in elements:
        if current and used + bits > capacity_bits:
            chunks.append(current)
            current, used = [], fixed_bits
        current.append(values)
        used += bits
    if current or not chunks:
        chunks.append(current)
    return chunks


def rpd_count_elements(counts: np.ndarray) -> list[tuple[Values, int]]:
    """The count entries of a raw-pixel-data (21/6/20) time bin, as ``(values, bits)`` elements.

    One entry per non-zero ``counts[detector, pixel, channel]``: pixel NIXD0158, detector NIXD0153,
    channel NIXD0154, continuation code NIXD0159 (0: the count is 1 and not sent, 1: one byte,
    2: two bytes) and count NIX00065; an entry takes 16 + 8 * code bits.
    """
    det, pix, chan = np.nonzero(counts)
    values = counts[det, pix, chan]
    codes = np.where(values == 1, 0, np.where(values < 256, 1, 2))
    return [
        (
            {
                "NIXD0158": [int(p)],
                "NIXD0153": [int(d)],
                "NIXD0154": [int(c)],
                "NIXD0159": [int(k)],
                "NIX00065": [int(v)],
            },
            16 + 8 * int(k),
        )  # fmt: skip
        for d, p, c, v, k in zip(det, pix, chan, values, codes, strict=True)
    ]


@dataclass(frozen=True)
class Substructure:
    """One time bin to stream into packets (see :func:`stream_substructures`).

    Attributes
    ----------
    fixed
        Values of the substructure's own parameters (copied into every part of the bin).
    elements
        ``(values, bits)`` of the inner repetitions (count entries, energy groups), in order.
    inner
        Name of the inner repeater counting the elements of a part.
    """

    fixed: Mapping[str, Sequence[int]]
    elements: Sequence[tuple[Mapping[str, Sequence[int]], int]]
    inner: str


def stream_substructures(
    layout: PacketLayout,
    header: Mapping[str, Sequence[int]],
    repeater: str,
    bins: Iterable[Substructure],
    *,
    max_bytes: int = MAX_PACKET_BYTES,
) -> list[Values]:
    """Pack time bins as one continuous stream: every packet is filled before the next is begun.

    A bin goes on in the packet where the previous one ended; when its next element does not
    fit, the part written so far becomes a substructure and the bin continues as a new
    substructure (same fixed values) in a new packet. This is how STIX fills its X-ray science
    packets: the real reference requests record it in their CONTROL ``num_substructures``
    (rpd and scpd ``1 2 2 2 2 1``, cpd ``1 1 1 2 1 1 2 ...``) and in the ``num_energy_groups``
    of each bin's first substructure (cpd ``10 8 6 4 2``, scpd ``30 28 26 24 22``).
    :func:`pack_items` with :func:`split_elements` instead starts every bin in a new packet
    when the previous one cannot take it whole.

    Returns
    -------
    list of dict
        Values of each packet (``header``, ``repeater`` = its number of substructures, then
        the substructures).

    Raises
    ------
    ValueError
        If a bin's fixed values with one element do not fit into an empty packet.
    """
    node = find_node(layout, repeater)
    capacity = repeater_capacity_bits(layout, header, repeater, max_bytes=max_bytes)
    packets: list[list[Values]] = [[]]
    used = 0
    for sub in bins:
        fixed_bits = measure_bits(node.children, {**sub.fixed, sub.inner: [0]})
        part: list[Mapping[str, Sequence[int]]] = []
        pending: list[tuple[Mapping[str, Sequence[int]], int] | None] = [*sub.elements] or [None]
        for element in pending:
            bits = fixed_bits if not part else 0
            bits += element[1] if element is not None else 0
            if used + bits > capacity:
                if part:
                    packets[-1].append(merge_values(sub.fixed, {sub.inner: [len(part)]}, *part))
                    part = []
                    bits += fixed_bits
                if packets[-1]:
                    packets.append([])
                    used = 0
                if bits > capacity:
                    raise ValueError(f"one {repeater} substructure needs {bits // 8} bytes, more than a packet holds")
            used += bits
            if element is not None:
                part.append(element[0])
        packets[-1].append(merge_values(sub.fixed, {sub.inner: [len(part)]}, *part))
    return [merge_values(header, {repeater: [len(subs)]}, *subs) for subs in packets if subs]
