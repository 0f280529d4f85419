"""Build packets from parameter values: the inverse of the decoder (tests, simulators, benchmarks).

Values are given per parameter name as a sequence in stream order (the same flat form the
decoder returns). For a variable layout the tree is walked exactly as when decoding: a repeater's
value (taken from its own sequence) is the number of times its children are written; a
continuation node (``NIXD0159``) writes its child with 0, 8 or 16 bits according to its code
(code 0 consumes a child value that must be 1). Parameters absent from ``values`` are written as 0
(a repeater absent from ``values`` repeats 0 times). Later writes overwrite earlier bits, so
sub-fields reached with a negative ``VPD_OFFSET`` override their container word.

The first parameter after the headers (the SSID / PI1 field of STIX packets) defaults to the
layout's SSID.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from stix_lib.decode.layout import HEADER_BITS, FixedLayout, Node, PacketLayout

#: Typical STIX APIDs (``process_id << 4 | packet_category``) by service, and for 21/6 by SSID.
_SERVICE_APIDS = {1: 1441, 3: 1444, 5: 1447, 6: 1449, 17: 1447, 22: 1451, 236: 1448, 237: 1448, 238: 1448, 239: 1448}
_SCIENCE_APID = 1468
_QUICKLOOK_APID = 1500


def default_apid(service_type: int, service_subtype: int, ssid: int | None) -> int:
    """Return the APID STIX uses for a packet type (21/6: 1468 for science, 1500 for quick-look)."""
    if (service_type, service_subtype) == (21, 6):
        return _SCIENCE_APID if ssid is not None and ssid < 30 else _QUICKLOOK_APID
    if (service_type, service_subtype, ssid) == (3, 25, 4):
        return 1509
    return _SERVICE_APIDS.get(service_type, 1441)


def tm_header(
    service_type: int,
    service_subtype: int,
    *,
    data_bytes: int,
    coarse: int = 0,
    fine: int = 0,
    sequence_count: int = 0,
    sequence_flag: int = 3,
    apid: int = 1441,
    destination_id: int = 0,
    pus_version: int = 1,
) -> bytes:
    """Return the 16 header bytes of a TM packet with ``data_bytes`` bytes after the headers."""
    total = 16 + data_bytes
    word0 = (1 << 11) | (apid & 0x7FF)
    word1 = ((sequence_flag & 0x3) << 14) | (sequence_count & 0x3FFF)
    return (
        word0.to_bytes(2, "big")
        + word1.to_bytes(2, "big")
        + (total - 7).to_bytes(2, "big")
        + bytes([(pus_version & 0x7) << 4, service_type, service_subtype, destination_id])
        + int(coarse).to_bytes(4, "big")
        + int(fine).to_bytes(2, "big")
    )


class _Writer:
    """Collects bit-field writes; later writes overwrite earlier ones where they overlap."""

    def __init__(self) -> None:
        self.writes: list[tuple[int, int, int]] = []
        self.end = 0

    def write(self, pos: int, width: int, value: int) -> None:
        if pos < 0:
            raise ValueError(f"cannot write before the packet start (bit {pos})")
        value = int(value)
        if value < 0:
            value += 1 << width
        if not 0 <= value < (1 << width):
            raise ValueError(f"value {value} does not fit {width} bits")
        self.writes.append((pos, width, value))
        self.end = max(self.end, pos + width)

    def to_bytes(self, nbits: int) -> bytes:
        nbytes = (max(nbits, self.end) + 7) // 8
        acc = 0
        for pos, width, value in self.writes:
            shift = nbytes * 8 - pos - width
            mask = ((1 << width) - 1) << shift
            acc = (acc & ~mask) | (value << shift)
        return acc.to_bytes(nbytes, "big")


def _take(values: Mapping[str, Sequence[int]], cursor: dict[str, int], name: str) -> int:
    seq = values.get(name)
    if seq is None:
        return 0
    index = cursor.get(name, 0)
    if index >= len(seq):
        raise ValueError(f"not enough values for {name}: {len(seq)} given")
    cursor[name] = index + 1
    return int(seq[index])


def _write_nodes(
    writer: _Writer,
    nodes: tuple[Node, ...],
    pos: int,
    values: Mapping[str, Sequence[int]],
    cursor: dict[str, int],
) -> int:
    for node in nodes:
        pos += node.offset
        value = _take(values, cursor, node.name)
        writer.write(pos, node.width, value)
        pos += node.width
        if not node.children:
            continue
        if node.continuation:
            child = node.children[0]
            child_value = _take(values, cursor, child.name)
            if value == 0:
                if child_value not in (0, 1) or (child.name in values and child_value != 1):
                    raise ValueError(f"{node.name}=0 implies {child.name}=1, got {child_value}")
                continue
            if value not in (1, 2):
                raise ValueError(f"invalid continuation code {value} for {node.name}")
            pos += child.offset
            writer.write(pos, child.width * value, child_value)
            pos += child.width * value
            continue
        for _ in range(value):
            pos = _write_nodes(writer, node.children, pos, values, cursor)
    return pos


def encode_data(layout: PacketLayout, values: Mapping[str, Sequence[int] | int]) -> bytes:
    """Return the packet bytes after the 16 header bytes for ``values``.

    Raises
    ------
    ValueError
        A value does not fit its width, a continuation code is invalid, or a repeated parameter
        has fewer values than the repeat counts require.
    """
    normalised: dict[str, Sequence[int]] = {
        name: ([int(v)] if isinstance(v, int | np.integer) else [int(x) for x in v]) for name, v in values.items()
    }
    writer = _Writer()
    if isinstance(layout, FixedLayout):
        first = layout.fields[0].name if layout.fields else None
        cursor: dict[str, int] = {}
        for f in layout.fields:
            if f.name not in normalised and f.name == first and layout.key.ssid is not None:
                value = layout.key.ssid
            else:
                value = _take(normalised, cursor, f.name)
            if f.name in normalised or value:
                writer.write(f.bit_offset, f.width, value)
        nbits = layout.nbits
    else:
        if layout.nodes and layout.nodes[0].name not in normalised and layout.key.ssid is not None:
            normalised[layout.nodes[0].name] = [layout.key.ssid]
        nbits = _write_nodes(writer, layout.nodes, HEADER_BITS, normalised, {})
    data = writer.to_bytes(max(nbits, HEADER_BITS))
    return data[HEADER_BITS // 8 :]


def encode_packet(
    layout: PacketLayout,
    values: Mapping[str, Sequence[int] | int],
    *,
    coarse: int = 0,
    fine: int = 0,
    sequence_count: int = 0,
    sequence_flag: int = 3,
    apid: int | None = None,
    pad: bytes = b"",
) -> bytes:
    """Return a complete TM packet (headers + data + ``pad``) for ``values``.

    The header carries the layout's service/subtype, the given time and sequence fields, the
    APID (default :func:`default_apid`) and the correct ``data_length``.
    """
    data = encode_data(layout, values) + pad
    header = tm_header(
        layout.key.service_type,
        layout.key.service_subtype,
        data_bytes=len(data),
        coarse=coarse,
        fine=fine,
        sequence_count=sequence_count,
        sequence_flag=sequence_flag,
        apid=default_apid(*layout.key) if apid is None else apid,
    )
    return header + data
