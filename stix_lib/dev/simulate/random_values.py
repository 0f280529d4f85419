"""Random, self-consistent parameter values for any packet layout (property tests, fuzzing).

Values are drawn per node while walking the layout exactly as the encoder and decoder do, and
written into a reference bit array at their positions; later writes overwrite earlier bits (so a
sub-field reached with a negative ``VPD_OFFSET`` changes its container word). The returned values
are then *read back* from the final bit array, so containers and their sub-fields agree and the
values are exactly what a decoder must find in the packet. The bit array itself is returned too:
it is the expected packet body, independent of the encoder under test.

Draws are edge biased: each value is 0, the largest (or most negative) value of its width, or
uniform, so boundaries are exercised. Repeaters repeat 0..``max_repeat`` times; continuation
codes are 0, 1 or 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stix_lib.decode.layout import HEADER_BITS, FixedLayout, Node, PacketLayout


class GenerationConflict(ValueError):
    """A later write changed a repeat count already used to shape the packet."""


@dataclass
class RandomPacket:
    """Random values of one packet and the packet body they describe.

    Attributes
    ----------
    values
        Parameter name -> values in stream order (consistent with ``body``).
    body
        The packet bytes after the 16 header bytes.
    """

    values: dict[str, list[int]]
    body: bytes


@dataclass
class _Bits:
    bits: bytearray = field(default_factory=bytearray)

    def write(self, pos: int, width: int, value: int) -> None:
        if pos < 0:
            raise ValueError(f"write before the packet start (bit {pos})")
        if pos + width > len(self.bits):
            self.bits.extend(b"\0" * (pos + width - len(self.bits)))
        value &= (1 << width) - 1
        for i in range(width):
            self.bits[pos + i] = (value >> (width - 1 - i)) & 1

    def read(self, pos: int, width: int, signed: bool) -> int:
        value = 0
        for i in range(width):
            value = (value << 1) | self.bits[pos + i]
        if signed and width and value >> (width - 1):
            value -= 1 << width
        return value

    def to_bytes(self, nbits: int) -> bytes:
        nbits = max(nbits, len(self.bits))
        padded = self.bits + b"\0" * ((-nbits) % 8 + nbits - len(self.bits))
        out = bytearray(len(padded) // 8)
        for i in range(len(out)):
            byte = 0
            for bit in padded[8 * i : 8 * i + 8]:
                byte = (byte << 1) | bit
            out[i] = byte
        return bytes(out)


def _draw(rng: np.random.Generator, width: int, signed: bool) -> int:
    choice = rng.random()
    if signed:
        low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    else:
        low, high = 0, (1 << width) - 1
    if choice < 0.15:
        return 0
    if choice < 0.25:
        return high
    if choice < 0.3:
        return low
    span = high - low + 1
    value = 0
    for _ in range((width + 31) // 32):
        value = (value << 32) | int(rng.integers(0, 1 << 32))
    return low + value % span


def random_packet_values(
    layout: PacketLayout,
    rng: np.random.Generator,
    *,
    max_repeat: int = 3,
    pi1: tuple[int, int, int] | None = None,
) -> RandomPacket:
    """Draw random values for ``layout`` and build the expected packet body.

    Parameters
    ----------
    layout
        Fixed or variable layout.
    rng
        Source of randomness (the result is a pure function of its state).
    max_repeat
        Largest repeat count drawn for a repeater.
    pi1
        ``(bit offset from the packet start, width, value)`` of the PI1 (SSID) field, forced
        after drawing so the packet classifies as its own type.

    Returns
    -------
    RandomPacket

    Raises
    ------
    GenerationConflict
        If forcing ``pi1`` or an overlapping sub-field altered a repeat count (the layout then
        cannot be filled by independent draws).
    """
    bits = _Bits()
    records: list[tuple[str, int, int, bool]] = []  # name, pos, width, signed (width -1: literal 1)
    counts: list[tuple[int, int, int]] = []  # pos, width, value of repeat counts / codes
    if isinstance(layout, FixedLayout):
        for f in layout.fields:
            bits.write(f.bit_offset, f.width, _draw(rng, f.width, f.signed))
            records.append((f.name, f.bit_offset, f.width, f.signed))
        end = layout.nbits
    else:

        def walk(nodes: tuple[Node, ...], pos: int) -> int:
            for node in nodes:
                pos += node.offset
                if not node.children:
                    bits.write(pos, node.width, _draw(rng, node.width, node.signed))
                    records.append((node.name, pos, node.width, node.signed))
                    pos += node.width
                    continue
                if node.continuation:
                    code = int(rng.integers(0, 3))
                    bits.write(pos, node.width, code)
                    records.append((node.name, pos, node.width, node.signed))
                    counts.append((pos, node.width, code))
                    pos += node.width
                    child = node.children[0]
                    if code == 0:
                        records.append((child.name, -1, -1, False))
                        continue
                    start = pos + child.offset
                    bits.write(start, child.width * code, _draw(rng, child.width * code, False))
                    records.append((child.name, start, child.width * code, False))
                    pos = start + child.width * code
                    continue
                count = int(rng.integers(0, max_repeat + 1))
                bits.write(pos, node.width, count)
                records.append((node.name, pos, node.width, node.signed))
                counts.append((pos, node.width, count))
                pos += node.width
                for _ in range(count):
                    pos = walk(node.children, pos)
            return pos

        end = walk(layout.nodes, HEADER_BITS)
    if pi1 is not None:
        offset, width, value = pi1
        bits.write(offset, width, value)
    for pos, width, value in counts:
        if bits.read(pos, width, False) != value:
            raise GenerationConflict(f"{tuple(layout.key)}: a later write changed a repeat count at bit {pos}")
    values: dict[str, list[int]] = {}
    for name, pos, width, signed in records:
        values.setdefault(name, []).append(1 if width < 0 else bits.read(pos, width, signed))
    body = bits.to_bytes(max(end, HEADER_BITS))[HEADER_BITS // 8 :]
    return RandomPacket(values=values, body=body)
