"""The batched read paths of the decoder (field runs, repetitions read at once, structures located
from their counts) against the scalar reference walker, and against the node-by-node walk for the
error reasons of damaged packets."""

from __future__ import annotations

import numpy as np
import pytest

import stix_lib.decode.bits as bits
import stix_lib.decode.layout as layout_module
from stix_lib.decode.bits import BitBuffer
from stix_lib.decode.decoder import decode_layout, step_runs
from stix_lib.decode.encoder import encode_packet
from stix_lib.decode.layout import GroupStep, Node, PacketKey, VariableLayout, make_node
from tests.unit.decode.test_tree_decoder import assert_decodes_like_reference

KEY = PacketKey(21, 6, 98)


def calibration_like() -> tuple[Node, ...]:
    """Shape of 21/6/41: header fields (a container read again through negative offsets), then a
    repeater of structures each holding fields, a counted block of points and a tail."""
    structure = (
        make_node("HDR", 16),
        make_node("DET", 5, offset=-12),
        make_node("PIX", 4),
        make_node("SUB", 3),
        make_node("NPT", 16, children=[make_node("PT", 8)]),
        make_node("NSG", 4, children=[make_node("SG", 6, signed=True), make_node("SG2", 2)]),
        make_node("T1", 4),
        make_node("T2", 4),
    )
    return (
        make_node("NIX00120", 8),
        make_node("COARSE", 32),
        make_node("WORD", 32),
        make_node("LOW", 10, offset=-30),
        make_node("MID", 10),
        make_node("NSTRUCT", 8, children=structure),
        # repetitions whose fields overlap the next one: read field by field, not at once
        make_node("NOV", 8, children=[make_node("OV", 8), make_node("OV1", 4, offset=-8)]),
    )


def structure_values(rng: np.random.Generator, structures: int) -> dict[str, list[int]]:
    values: dict[str, list[int]] = {"NSTRUCT": [structures], "COARSE": [int(rng.integers(0, 2**32))]}
    values["WORD"] = [int(rng.integers(0, 2**32))]
    values["LOW"], values["MID"] = [int(rng.integers(0, 1024))], [int(rng.integers(0, 1024))]
    for _ in range(structures):
        for name, width in (("HDR", 16), ("DET", 5), ("PIX", 4), ("SUB", 3), ("T1", 4), ("T2", 4)):
            values.setdefault(name, []).append(int(rng.integers(0, 1 << width)))
        points = int(rng.integers(0, 40))
        values.setdefault("NPT", []).append(points)
        values.setdefault("PT", []).extend(int(v) for v in rng.integers(0, 256, points))
        segments = int(rng.integers(0, 3))
        values.setdefault("NSG", []).append(segments)
        values.setdefault("SG", []).extend(int(v) for v in rng.integers(-32, 32, segments))
        values.setdefault("SG2", []).extend(int(v) for v in rng.integers(0, 4, segments))
    overlapping = int(rng.integers(0, 4))
    values["NOV"] = [overlapping]
    values["OV"] = [int(v) for v in rng.integers(0, 256, overlapping)]
    values["OV1"] = [int(v) for v in rng.integers(0, 16, overlapping)]
    return values


def node_by_node(nodes: tuple[Node, ...]) -> tuple[object, ...]:
    """Steps without field runs, batched repetitions or structure plans: the plain tree walk."""
    return tuple(GroupStep(n, node_by_node(n.children)) if n.children else n for n in nodes)


def damaged_batch(rng: np.random.Generator, nodes: tuple[Node, ...]) -> list[bytes]:
    """Whole packets and the same packets cut at every length (and some with large counts)."""
    layout = VariableLayout(KEY, "test", 1, "synthetic", nodes)
    packets = []
    for i in range(6):
        packet = encode_packet(layout, structure_values(rng, int(rng.integers(0, 5))), coarse=i)
        packets.append(packet)
        packets.extend(packet[:cut] for cut in range(16, len(packet)))
    whole = encode_packet(layout, structure_values(rng, 2))
    npt_at = 16 + 1 + 4 + 4 + 1 + 2  # the first structure's point count
    packets.append(whole[:npt_at] + b"\xff\xff" + whole[npt_at + 2 :])  # count beyond the packet
    return packets


@pytest.mark.parametrize("seed", range(4))
def test_located_structures_match_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    nodes = calibration_like()
    layout = VariableLayout(KEY, "test", 1, "synthetic", nodes)
    assert layout.steps[-2].structure is not None  # the structures are located from their counts
    assert_decodes_like_reference(layout, nodes, damaged_batch(rng, nodes))


@pytest.mark.parametrize("seed", range(4))
def test_damaged_packets_get_the_reasons_of_the_node_by_node_walk(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(seed)
    nodes = calibration_like()
    packets = damaged_batch(rng, nodes)
    batched = decode_layout(VariableLayout(KEY, "test", 1, "synthetic", nodes), packets)
    monkeypatch.setattr(layout_module, "compile_steps", node_by_node)
    walked = decode_layout(VariableLayout(KEY, "test", 1, "synthetic", nodes), packets)
    assert batched.errors == walked.errors
    assert any("needs bits" in reason for _, reason in batched.errors)
    assert any("repetitions of" in reason for _, reason in batched.errors)
    assert batched.indices.tolist() == walked.indices.tolist()
    assert batched.leftover_bits.tolist() == walked.leftover_bits.tolist()
    for name in walked.values:
        assert batched.values[name].tolist() == walked.values[name].tolist(), name
        assert batched.offsets[name].tolist() == walked.offsets[name].tolist(), name


@pytest.mark.parametrize("aligned", [False, True])
def test_read_fields_matches_python_integers(aligned: bool) -> None:
    rng = np.random.default_rng(7)
    packets = [bytes(rng.integers(0, 256, int(rng.integers(8, 40)), dtype=np.uint8)) for _ in range(30)]
    buf = BitBuffer(packets)
    data = b"".join(packets)
    widths = [8, 8, 8] if aligned else [1, 5, 8, 13, 16, 31, 32, 57]
    signed = [False, True, False] if aligned else [False, True, False, True, False, True, False, True]
    step = 8 if aligned else 1
    starts = np.array([step * i for i in range(len(widths))], dtype=np.int64).reshape(-1, 1)
    limit = (len(data) * 8 - 64 - int(starts[-1, 0])) // step
    whole = int.from_bytes(data, "big")
    for count in (50, 3000, bits.BATCH_VALUES):  # one gather, groups of fields, field by field
        origin = rng.integers(0, limit, count).astype(np.int64) * step
        got = buf.read_fields(
            origin, starts, np.array(widths, dtype=np.int64).reshape(-1, 1), np.flatnonzero(signed), aligned
        )
        for row, (width, is_signed) in enumerate(zip(widths, signed, strict=True)):
            values = got[row].tolist()
            for column, pos in enumerate((origin + starts[row, 0]).tolist()[:200]):
                value = (whole >> (len(data) * 8 - pos - width)) & ((1 << width) - 1)
                if is_signed and value >> (width - 1):
                    value -= 1 << width
                assert values[column] == value


@pytest.mark.parametrize("signed", [False, True])
def test_wide_fields_match_python_integers(signed: bool) -> None:
    rng = np.random.default_rng(11)
    packets = [bytes(rng.integers(0, 256, 40, dtype=np.uint8)) for _ in range(10)]
    buf = BitBuffer(packets)
    data = b"".join(packets)
    whole = int.from_bytes(data, "big")
    for width in (65, 96, 100, 128):
        bitpos = rng.integers(0, len(data) * 8 - width, 40).astype(np.int64)
        got = buf.read(bitpos, width, signed)
        assert got.dtype == object
        for pos, value in zip(bitpos.tolist(), got.tolist(), strict=True):
            expected = (whole >> (len(data) * 8 - pos - width)) & ((1 << width) - 1)
            if signed and expected >> (width - 1):
                expected -= 1 << width
            assert value == expected and type(value) is int


def test_step_runs_are_arithmetic_runs() -> None:
    rng = np.random.default_rng(3)
    starts = rng.integers(-1000, 1000, 40)
    counts = rng.integers(0, 5, 40)
    counts[:3] = 0  # leading empty runs
    for step in (1, 8, 24):
        expected = [int(s) + step * j for s, c in zip(starts, counts, strict=True) for j in range(int(c))]
        assert step_runs(starts, counts, step).tolist() == expected
    assert step_runs(starts, np.zeros(40, dtype=np.int64), 8).tolist() == []
