"""Helpers over decoding layouts for building packets: node lookup and encoded sizes.

Values follow the encoder's convention (:mod:`stix_lib.decode.encoder`): per parameter name a
sequence in stream order; a repeater's value is the repeat count of its children; a continuation
node (``NIXD0159``) is a code 0/1/2 whose child is written with 0, 8 or 16 bits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from stix_lib.decode.layout import HEADER_BITS, FixedLayout, Node, PacketLayout

#: Bytes of the CCSDS primary + PUS data-field headers.
HEADER_BYTES = HEADER_BITS // 8


def iter_nodes(nodes: tuple[Node, ...]) -> Iterator[Node]:
    """Every node of a tree, depth first in VPD order."""
    for node in nodes:
        yield node
        yield from iter_nodes(node.children)


def find_node(layout: PacketLayout, name: str) -> Node:
    """The (first) node called ``name`` of a variable layout.

    Raises
    ------
    KeyError
        If the layout is fixed or has no such node.
    """
    if isinstance(layout, FixedLayout):
        raise KeyError(f"{name}: fixed layout {tuple(layout.key)} has no repeaters")
    for node in iter_nodes(layout.nodes):
        if node.name == name:
            return node
    raise KeyError(f"{name} is not a parameter of {tuple(layout.key)} (IDB {layout.idb_version})")


def has_parameter(layout: PacketLayout, name: str) -> bool:
    """True when ``name`` is a parameter of the layout."""
    return name in layout.names


def measure_bits(
    nodes: tuple[Node, ...],
    values: Mapping[str, Sequence[int]],
    cursor: dict[str, int] | None = None,
) -> int:
    """Number of bits the encoder writes for ``nodes`` with ``values`` (relative bit advance).

    Mirrors the walk of the encoder without writing: offsets, widths, repeat counts and
    continuation codes are taken from ``values`` (absent parameters count as 0).

    Parameters
    ----------
    nodes
        A sequence of sibling nodes (e.g. a layout's ``nodes`` or a repeater's ``children``).
    values
        Parameter values in stream order.
    cursor
        Per-name read position (shared across calls; default: start of every sequence).
    """
    cursor = {} if cursor is None else cursor

    def take(name: str) -> int:
        seq = values.get(name)
        if seq is None:
            return 0
        index = cursor.get(name, 0)
        cursor[name] = index + 1
        return int(seq[index])

    bits = 0
    for node in nodes:
        value = take(node.name)
        bits += node.offset + node.width
        if not node.children:
            continue
        if node.continuation:
            child = node.children[0]
            take(child.name)
            if value:
                bits += child.offset + child.width * value
            continue
        if node.children_size is not None and all(not c.children for c in node.children):
            # plain children of fixed size: skip the per-value walk
            for child in node.children:
                cursor[child.name] = cursor.get(child.name, 0) + value
            bits += value * node.children_size
            continue
        for _ in range(value):
            bits += measure_bits(node.children, values, cursor)
    return bits


def packet_size(layout: PacketLayout, values: Mapping[str, Sequence[int]]) -> int:
    """Bytes of the complete packet (headers included) the encoder builds from ``values``."""
    if isinstance(layout, FixedLayout):
        return layout.nbytes
    return HEADER_BYTES + (measure_bits(layout.nodes, values) + 7) // 8
