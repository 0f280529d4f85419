"""Compile an IDB packet structure into a decoding layout.

* Fixed packets (PLF) become a :class:`FixedLayout`: a flat list of fields at absolute bit
  positions counted from the first byte of the CCSDS packet.
* Variable packets (VPD) become a :class:`VariableLayout`: a tree of :class:`Node` built from the
  VPD rows in ``VPD_POS`` order. Every row decrements the remaining row budget of each open
  repeater (``VPD_GRPSIZE``); repeaters whose budget drops below zero are closed; the row is
  appended to the innermost open repeater and, if it has ``VPD_GRPSIZE > 0``, opens a new one.
  A repeater's value read from the packet is the repeat count of its children. Reading starts
  after the 16 header bytes; ``VPD_OFFSET`` is a relative bit skip (possibly negative) applied
  before a parameter is read.
* ``NIXD0159`` is a continuation code, not a count: 0 -> its child value is 1 and nothing is read,
  1 -> the child is the next byte, 2 -> the child is the next two bytes (high, low), anything else
  is an error.

Layouts are cached on the IDB instance (:func:`get_layout`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from stix_lib.idb.database import IDB
from stix_lib.idb.records import StructureEntry

#: Bits of the CCSDS primary + PUS TM data-field headers; variable structures start here.
HEADER_BITS = 128

#: Widest field the batched reads handle (one 64-bit word at any bit offset; wider: one read each).
BATCH_MAX_WIDTH = 57

#: Parameters whose value is a continuation code for their single child (see module doc).
CONTINUATION_PARAMETERS = frozenset({"NIXD0159"})

_READABLE_TYPES = frozenset({"U", "T", "O", "I"})


class PacketKey(NamedTuple):
    """Packet type key: ``(service_type, service_subtype, ssid)`` (``ssid`` None without PI1)."""

    service_type: int
    service_subtype: int
    ssid: int | None


class LayoutError(Exception):
    """The IDB has no usable structure for a packet type."""


@dataclass(frozen=True)
class Field:
    """A parameter of a fixed packet.

    Attributes
    ----------
    name
        Parameter name.
    bit_offset
        Absolute bit position from the first byte of the packet.
    width
        Width in bits.
    signed
        Two's complement integer.
    """

    name: str
    bit_offset: int
    width: int
    signed: bool


@dataclass(frozen=True)
class Node:
    """A parameter of a variable packet, possibly a repeater with children.

    Attributes
    ----------
    name
        Parameter name.
    width
        Width in bits.
    signed
        Two's complement integer.
    offset
        Relative bit skip applied before reading (``VPD_OFFSET``).
    children
        Repeated children (empty for plain parameters).
    continuation
        The value is a continuation code for the single child (``NIXD0159``).
    order
        Index of the VPD row (stable ordering of equal positions).
    """

    name: str
    width: int
    signed: bool
    offset: int = 0
    children: tuple[Node, ...] = ()
    continuation: bool = False
    order: int = 0
    static_size: int | None = field(default=None, compare=False)
    children_size: int | None = field(default=None, compare=False)

    @property
    def is_group(self) -> bool:
        """True when the node repeats children."""
        return bool(self.children)


@dataclass(frozen=True)
class FixedLayout:
    """Decoding layout of a fixed (PLF) packet type."""

    key: PacketKey
    idb_version: str
    spid: int
    description: str
    fields: tuple[Field, ...]

    @cached_property
    def nbits(self) -> int:
        """Bits covered by the layout, from the packet start to the end of the last field."""
        return max((f.bit_offset + f.width for f in self.fields), default=HEADER_BITS)

    @property
    def nbytes(self) -> int:
        """Bytes a packet needs to hold every field."""
        return (self.nbits + 7) // 8

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Distinct parameter names in layout order."""
        return tuple(dict.fromkeys(f.name for f in self.fields))

    @cached_property
    def batched(self) -> FieldBatch:
        """The fields of at most :data:`BATCH_MAX_WIDTH` bits, read together (positions from the packet start)."""
        narrow = [f for f in self.fields if f.width <= BATCH_MAX_WIDTH]
        return FieldBatch.of([(f.name, f.bit_offset, f.width, f.signed) for f in narrow])

    @cached_property
    def once_per_packet(self) -> frozenset[str]:
        """Names of the fields that occur exactly once in the layout (one value per packet)."""
        return frozenset(name for name, n in Counter(f.name for f in self.fields).items() if n == 1)

    def static_positions(self) -> dict[str, tuple[int, int, bool]]:
        """``name -> (absolute bit, width, signed)`` of the first occurrence of each field."""
        out: dict[str, tuple[int, int, bool]] = {}
        for f in self.fields:
            out.setdefault(f.name, (f.bit_offset, f.width, f.signed))
        return out


@dataclass(frozen=True)
class VariableLayout:
    """Decoding layout of a variable (VPD) packet type."""

    key: PacketKey
    idb_version: str
    spid: int
    description: str
    nodes: tuple[Node, ...]

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Distinct parameter names in VPD order."""
        return tuple(dict.fromkeys(_node_names(self.nodes)))

    @cached_property
    def single_node_names(self) -> frozenset[str]:
        """Names that occur at one node of the tree only."""
        return frozenset(name for name, n in Counter(_node_names(self.nodes)).items() if n == 1)

    @cached_property
    def once_per_packet(self) -> frozenset[str]:
        """Names read exactly once in every packet: top-level nodes occurring at one node of the tree."""
        return frozenset(node.name for node in self.nodes if node.name in self.single_node_names)

    @cached_property
    def steps(self) -> tuple[Step, ...]:
        """The top-level nodes as decoding steps (see :func:`compile_steps`)."""
        return compile_steps(self.nodes)

    def static_positions(self) -> dict[str, tuple[int, int, bool]]:
        """``name -> (absolute bit, width, signed)`` of the leading parameters.

        Covers the parameters before (and including) the first repeater, whose positions do not
        depend on packet content.
        """
        out: dict[str, tuple[int, int, bool]] = {}
        pos = HEADER_BITS
        for node in self.nodes:
            pos += node.offset
            out.setdefault(node.name, (pos, node.width, node.signed))
            pos += node.width
            if node.children:
                break
        return out


PacketLayout = FixedLayout | VariableLayout


def _node_names(nodes: tuple[Node, ...]) -> list[str]:
    """Parameter names of a tree in reading order (a name once per node holding it)."""
    out = []
    for node in nodes:
        out.append(node.name)
        out.extend(_node_names(node.children))
    return out


@dataclass(frozen=True, eq=False)
class FieldBatch:
    """Fields at static positions, read with one gather: ``value[i] = bits[start + starts[i] : +widths[i]]``.

    Attributes
    ----------
    names
        Parameter name of each field (in reading order).
    starts, widths
        Bit position relative to the batch's origin and width of each field (int64 ``(k, 1)``).
    signed
        Row numbers of the two's complement fields.
    low, high
        Lowest relative start and highest relative end of the fields (bounds to check once).
    """

    names: tuple[str, ...]
    starts: npt.NDArray[np.int64]
    widths: npt.NDArray[np.int64]
    signed: npt.NDArray[np.intp]
    low: int
    high: int

    @staticmethod
    def of(fields: list[tuple[str, int, int, bool]]) -> FieldBatch:
        """Batch of ``(name, relative start, width, signed)`` fields."""
        starts = np.array([f[1] for f in fields], dtype=np.int64).reshape(-1, 1)
        widths = np.array([f[2] for f in fields], dtype=np.int64).reshape(-1, 1)
        return FieldBatch(
            names=tuple(f[0] for f in fields),
            starts=starts,
            widths=widths,
            signed=np.array([i for i, f in enumerate(fields) if f[3]], dtype=np.intp),
            low=int(starts.min()) if fields else 0,
            high=int((starts + widths).max()) if fields else 0,
        )


@dataclass(frozen=True, eq=False)
class FieldRun:
    """Consecutive plain sibling nodes (no children, at most :data:`BATCH_MAX_WIDTH` bits) read at once.

    Attributes
    ----------
    nodes
        The nodes, in reading order.
    batch
        Their positions relative to the position before the first node (offsets applied).
    size
        Bits the run advances the position by.
    """

    nodes: tuple[Node, ...]
    batch: FieldBatch
    size: int


#: Lowest start and highest end of some fields, relative to a position.
Extent = tuple[int, int]


@dataclass(frozen=True)
class CountedBlock:
    """A repeater with plain children inside a :class:`StructurePlan`.

    Attributes
    ----------
    fields
        Extent of the fields since the previous block (this repeater's count included), relative
        to where they start.
    position, width, signed
        The count field, relative to where those fields start.
    size
        Bits of one repetition.
    child
        Extent of one repetition's fields relative to its start.
    """

    fields: Extent
    position: int
    width: int
    signed: bool
    size: int
    child: Extent


@dataclass(frozen=True)
class StructurePlan:
    """The size of a repeated structure computed from its counts alone.

    A structure of plain fields and repeaters with plain children: its size is static apart
    from ``count * size`` per block, so a packet's structures can be located reading only the
    counts (:class:`CountedBlock`), and their fields all read together afterwards.

    Attributes
    ----------
    blocks
        The repeaters, in reading order.
    tail
        Extent of the fields after the last block (``None``: no fields).
    tail_size
        Bits from the end of the last block to the end of the structure.
    """

    blocks: tuple[CountedBlock, ...]
    tail: Extent | None
    tail_size: int


def _structure_plan(nodes: tuple[Node, ...]) -> StructurePlan | None:
    """Plan of a structure of ``nodes`` (``None`` when a child has data-dependent size)."""
    blocks: list[CountedBlock] = []
    low: int | None = None
    high = off = 0
    for node in nodes:
        if node.continuation or (node.children and node.children_size is None) or node.width > BATCH_MAX_WIDTH:
            return None
        pos = off + node.offset
        low, high = (pos, pos + node.width) if low is None else (min(low, pos), max(high, pos + node.width))
        off = pos + node.width
        if node.children:
            child_low, child_high, child_off = 0, 0, 0
            for n, child in enumerate(node.children):
                at = child_off + child.offset
                child_low = at if n == 0 else min(child_low, at)
                child_high = at + child.width if n == 0 else max(child_high, at + child.width)
                child_off = at + child.width
            size = node.children_size if node.children_size is not None else child_off
            blocks.append(CountedBlock((low, high), pos, node.width, node.signed, size, (child_low, child_high)))
            low, high, off = None, 0, 0
    if not blocks:
        return None
    return StructurePlan(tuple(blocks), None if low is None else (low, high), off)


@dataclass(frozen=True, eq=False)
class GroupStep:
    """A repeater node with its children compiled to steps.

    ``structure``: for a repeater of data-dependent children (walked in lock step), the plan of
    one repetition when it can be located from its counts alone (see :class:`StructurePlan`).
    ``batch``: for a repeater of plain children of at most :data:`BATCH_MAX_WIDTH` bits, the
    children relative to the start of a repetition.
    """

    node: Node
    children: tuple[Step, ...]
    structure: StructurePlan | None = None
    batch: FieldBatch | None = None


Step = Node | FieldRun | GroupStep


def _children_batch(children: tuple[Node, ...]) -> FieldBatch | None:
    """Plain children read together, positions relative to the repetition (``None``: a wide one)."""
    if any(child.width > BATCH_MAX_WIDTH for child in children):
        return None
    fields, pos = [], 0
    for child in children:
        pos += child.offset
        fields.append((child.name, pos, child.width, child.signed))
        pos += child.width
    return FieldBatch.of(fields)


def compile_steps(nodes: tuple[Node, ...]) -> tuple[Step, ...]:
    """Decoding steps of sibling nodes: runs of two or more plain nodes become one :class:`FieldRun`,
    repeaters a :class:`GroupStep`, other nodes (single plain, wide) stay nodes."""
    steps: list[Step] = []
    run: list[Node] = []

    def close_run() -> None:
        if len(run) == 1:
            steps.append(run[0])
        elif run:
            batch = _children_batch(tuple(run))
            assert batch is not None  # runs hold narrow fields only
            steps.append(FieldRun(tuple(run), batch, sum(node.offset + node.width for node in run)))
        run.clear()

    for node in nodes:
        if not node.children and node.width <= BATCH_MAX_WIDTH:
            run.append(node)
            continue
        close_run()
        if not node.children:
            steps.append(node)
        elif node.continuation:
            steps.append(GroupStep(node, compile_steps(node.children)))
        elif node.children_size is not None:
            steps.append(GroupStep(node, compile_steps(node.children), batch=_children_batch(node.children)))
        else:
            steps.append(GroupStep(node, compile_steps(node.children), _structure_plan(node.children)))
    close_run()
    return tuple(steps)


def _check_type(entry: StructureEntry, key: PacketKey) -> None:
    param = entry.parameter
    if param.s2k_type not in _READABLE_TYPES:
        raise LayoutError(
            f"packet {key}: parameter {param.name} has unsupported type "
            f"PTC={param.ptc} PFC={param.pfc} ({param.s2k_type})"
        )
    if param.width <= 0:
        raise LayoutError(f"packet {key}: parameter {param.name} has no width")


def make_node(
    name: str,
    width: int,
    *,
    signed: bool = False,
    offset: int = 0,
    children: tuple[Node, ...] | list[Node] = (),
    order: int = 0,
) -> Node:
    """Create a :class:`Node`, deriving ``continuation`` and the static sizes.

    ``continuation`` is set for :data:`CONTINUATION_PARAMETERS` with exactly one plain child.
    """
    children = list(children)
    continuation = name in CONTINUATION_PARAMETERS and len(children) == 1 and not children[0].children
    sizes = [c.static_size for c in children]
    children_size = None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)
    static_size = offset + width if not children else None
    return Node(
        name=name,
        width=width,
        signed=signed,
        offset=offset,
        children=tuple(children),
        continuation=continuation,
        order=order,
        static_size=static_size,
        children_size=children_size,
    )


def build_tree(entries: tuple[StructureEntry, ...]) -> tuple[Node, ...]:
    """Build the repeater tree of a variable packet from its VPD rows (``VPD_POS`` order)."""
    # builder items: [entry, children (builder items), remaining rows]; the root is never closed
    root: list = [None, [], 0]
    stack: list[list] = [root]
    for entry in entries:
        for open_group in stack[1:]:
            open_group[2] -= 1
        stack = [root] + [g for g in stack[1:] if g[2] >= 0]
        item = [entry, [], entry.group_size]
        stack[-1][1].append(item)
        if entry.group_size > 0:
            stack.append(item)

    def convert(item: list) -> Node:
        entry: StructureEntry = item[0]
        children = [convert(child) for child in item[1]]
        return make_node(
            entry.name,
            entry.parameter.width,
            signed=entry.parameter.signed,
            offset=entry.offset,
            children=children,
            order=entry.position,
        )

    return tuple(convert(child) for child in root[1])


def compile_layout(idb: IDB, service_type: int, service_subtype: int, ssid: int | None) -> PacketLayout:
    """Compile the IDB structure of one packet type.

    Raises
    ------
    LayoutError
        The IDB does not define the packet type, or a parameter cannot be read.
    """
    key = PacketKey(service_type, service_subtype, ssid)
    found = idb.get_structure(service_type, service_subtype, ssid)
    if found is None:
        raise LayoutError(f"IDB {idb.version}: no definition of packet type {tuple(key)}")
    info, entries = found
    for entry in entries:
        _check_type(entry, key)
    if info.is_variable:
        return VariableLayout(key, idb.version, info.spid, info.description, build_tree(entries))
    fields = tuple(Field(e.name, e.position, e.parameter.width, e.parameter.signed) for e in entries)
    return FixedLayout(key, idb.version, info.spid, info.description, fields)


def get_layout(idb: IDB, service_type: int, service_subtype: int, ssid: int | None) -> PacketLayout:
    """Cached :func:`compile_layout` (cached on the IDB instance, errors included)."""

    def build() -> PacketLayout | LayoutError:
        try:
            return compile_layout(idb, service_type, service_subtype, ssid)
        except LayoutError as exc:
            return exc

    result = idb.cached(("layout", service_type, service_subtype, ssid), build)
    if isinstance(result, LayoutError):
        raise result
    return result
