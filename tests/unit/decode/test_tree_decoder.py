"""The vectorised decoder against an independent scalar reference walker on synthetic structures."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from stix_lib.decode.decoder import decode_layout
from stix_lib.decode.encoder import encode_packet
from stix_lib.decode.layout import HEADER_BITS, Node, PacketKey, VariableLayout, build_tree, make_node
from stix_lib.idb.records import ParameterInfo, StructureEntry

KEY = PacketKey(21, 6, 99)


def layout_of(*nodes: Node) -> VariableLayout:
    return VariableLayout(KEY, "test", 1, "synthetic", tuple(nodes))


class Bad(Exception):
    pass


def reference_decode(nodes: tuple[Node, ...], data: bytes, tolerance: int = 1) -> dict[str, list[int]]:
    """Plain recursive walk of the spec algorithm over one packet (Python ints)."""
    bits = int.from_bytes(data, "big")
    total = len(data) * 8
    out: dict[str, list[int]] = defaultdict(list)

    def read(pos: int, width: int, signed: bool = False) -> int:
        if pos < 0 or pos + width > total:
            raise Bad("short")
        value = (bits >> (total - pos - width)) & ((1 << width) - 1)
        if signed and value >> (width - 1):
            value -= 1 << width
        return value

    def walk(items: tuple[Node, ...], pos: int) -> int:
        for node in items:
            pos += node.offset
            value = read(pos, node.width, node.signed)
            out[node.name].append(value)
            pos += node.width
            if not node.children:
                continue
            if node.continuation:
                child = node.children[0]
                if value == 0:
                    out[child.name].append(1)
                elif value in (1, 2):
                    out[child.name].append(read(pos + child.offset, child.width * value))
                    pos += child.offset + child.width * value
                else:
                    raise Bad("code")
                continue
            for _ in range(value):
                pos = walk(node.children, pos)
        return pos

    end = walk(nodes, HEADER_BITS)
    if total - end > tolerance * 8:
        raise Bad("leftover")
    return dict(out)


def random_tree(rng: np.random.Generator, depth: int = 0, counter: list[int] | None = None) -> tuple[Node, ...]:
    counter = counter if counter is not None else [0]
    nodes: list[Node] = []
    for _ in range(int(rng.integers(1, 5))):
        counter[0] += 1
        name = f"P{counter[0]:03d}"
        kind = rng.random()
        if depth < 3 and kind < 0.25:
            children = random_tree(rng, depth + 1, counter)
            nodes.append(make_node(name, int(rng.choice([4, 8, 16])), children=children))
        elif depth < 3 and kind < 0.35:
            counter[0] += 1
            child = make_node(f"P{counter[0]:03d}", 8)
            nodes.append(make_node("NIXD0159", 2, children=[child]))
        elif kind < 0.45:
            # a container word with sub-fields reached through a negative offset
            width = int(rng.choice([8, 16, 32]))
            nodes.append(make_node(name, width))
            counter[0] += 1
            sub = int(rng.integers(1, width))
            nodes.append(make_node(f"P{counter[0]:03d}", sub, offset=-width))
            counter[0] += 1
            nodes.append(make_node(f"P{counter[0]:03d}", width - sub))
        else:
            width = int(rng.integers(1, 49))
            nodes.append(make_node(name, width, signed=bool(rng.random() < 0.2), offset=int(rng.choice([0, 0, 0, 3]))))
    return tuple(nodes)


def random_values(rng: np.random.Generator, nodes: tuple[Node, ...], out: dict[str, list[int]]) -> None:
    for node in nodes:
        if node.continuation:
            code = int(rng.integers(0, 3))
            out.setdefault(node.name, []).append(code)
            child = node.children[0]
            value = 1 if code == 0 else int(rng.integers(0, 1 << (8 * code)))
            out.setdefault(child.name, []).append(value)
        elif node.children:
            count = int(rng.integers(0, 4))
            out.setdefault(node.name, []).append(count)
            for _ in range(count):
                random_values(rng, node.children, out)
        else:
            out.setdefault(node.name, []).append(int(rng.integers(0, 1 << min(node.width, 31))))


@pytest.mark.parametrize("seed", range(40))
def test_random_structures_match_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    nodes = random_tree(rng)
    layout = layout_of(*nodes)
    packets = []
    for i in range(int(rng.integers(1, 25))):
        values: dict[str, list[int]] = {}
        random_values(rng, nodes, values)
        packet = encode_packet(layout, values, coarse=i)
        if rng.random() < 0.15:
            packet = packet[: max(16, len(packet) - int(rng.integers(1, 4)))]  # truncated
        elif rng.random() < 0.1:
            packet += bytes(int(rng.integers(1, 4)))  # trailing bytes
        packets.append(packet)
    assert_decodes_like_reference(layout, nodes, packets)


def assert_decodes_like_reference(layout: VariableLayout, nodes: tuple[Node, ...], packets: list[bytes]) -> None:
    """``decode_layout`` keeps exactly the packets the reference walker reads, with its values, and
    reports an error for every other packet."""
    decoded = decode_layout(layout, packets)
    expected_ok = []
    for i, packet in enumerate(packets):
        try:
            reference = reference_decode(nodes, packet)
        except Bad:
            continue
        expected_ok.append(i)
        got = decoded.packet_dict(len(expected_ok) - 1) if i in decoded.indices else None
        assert got is not None, f"packet {i} failed: {dict(decoded.errors).get(i)}"
        for name in layout.names:
            assert got[name].tolist() == reference.get(name, []), (i, name)
        for name in layout.once_per_packet:  # trusted by DecodedPackets.scalar without a check
            assert len(reference.get(name, [])) == 1, (i, name)
    for name in layout.once_per_packet:
        assert decoded.counts(name).tolist() == [1] * len(decoded), name
    assert decoded.indices.tolist() == expected_ok
    assert sorted(i for i, _ in decoded.errors) == sorted(set(range(len(packets))) - set(expected_ok))


def test_encoded_values_come_back() -> None:
    inner = make_node("CNT2", 8, children=[make_node("LEAF", 12), make_node("SIGNED", 8, signed=True)])
    layout = layout_of(make_node("NIX00120", 8), make_node("CNT1", 16, children=[make_node("HDR", 4), inner]))
    values = {
        "CNT1": [3],
        "HDR": [1, 2, 3],
        "CNT2": [2, 0, 1],
        "LEAF": [4095, 7, 100],
        "SIGNED": [-128, 127, -1],
    }
    decoded = decode_layout(layout, [encode_packet(layout, values)])
    assert decoded.errors == []
    for name, expected in values.items():
        assert decoded.values[name].tolist() == expected
    assert decoded.values["NIX00120"].tolist() == [99]  # the SSID field defaults to the layout's SSID


@pytest.mark.parametrize(
    ("code", "tail", "expected"),
    [(0, b"", 1), (1, b"\xc8", 200), (2, b"\x9c\x40", 40000)],
)
def test_continuation_codes(code: int, tail: bytes, expected: int) -> None:
    layout = layout_of(make_node("NIXD0159", 8, children=[make_node("NIX00065", 8)]))
    packet = bytes(16) + bytes([code]) + tail
    decoded = decode_layout(layout, [packet])
    assert decoded.errors == []
    assert decoded.values["NIXD0159"].tolist() == [code]
    assert decoded.values["NIX00065"].tolist() == [expected]
    assert decoded.leftover_bits.tolist() == [0]


def test_invalid_continuation_code_fails_only_that_packet() -> None:
    layout = layout_of(make_node("NIXD0159", 8, children=[make_node("NIX00065", 8)]))
    decoded = decode_layout(layout, [bytes(16) + b"\x01\x05", bytes(16) + b"\x03", bytes(16) + b"\x00"])
    assert decoded.indices.tolist() == [0, 2]
    assert decoded.values["NIX00065"].tolist() == [5, 1]
    assert decoded.errors == [(1, "invalid continuation code 3 in NIXD0159")]


def test_huge_repeat_count_is_an_error_not_a_memory_blowup() -> None:
    layout = layout_of(make_node("N", 16, children=[make_node("V", 32)]))
    packets = [bytes(16) + b"\xff\xff" + bytes(8), bytes(16) + b"\x00\x02" + bytes(8)]
    decoded = decode_layout(layout, packets)
    assert decoded.indices.tolist() == [1]
    assert "65535 repetitions" in decoded.errors[0][1]


def _entry(name: str, width: int, position: int, group: int = 0, offset: int = 0) -> StructureEntry:
    param = ParameterInfo(name, "", width, 3, 4, "U", None, "N", None)
    return StructureEntry(param, position, group, offset)


def test_build_tree_counts_rows_of_nested_groups() -> None:
    # shape of the 21/6/24 substructure: A x7 { ..., B x4 { c, d, E x1 { f } }, g }
    rows = [_entry("A", 16, 1, group=7)]
    rows += [_entry("a1", 8, 2), _entry("B", 16, 3, group=4)]
    rows += [_entry("c", 8, 4), _entry("d", 8, 5), _entry("E", 8, 6, group=1), _entry("f", 8, 7)]
    rows += [_entry("g", 16, 8), _entry("h", 8, 9)]
    tree = build_tree(tuple(rows))
    assert [n.name for n in tree] == ["A", "h"]
    a = tree[0]
    assert [n.name for n in a.children] == ["a1", "B", "g"]
    b = a.children[1]
    assert [n.name for n in b.children] == ["c", "d", "E"]
    assert [n.name for n in b.children[2].children] == ["f"]
    assert b.children_size is None and b.children[2].children_size == 8
