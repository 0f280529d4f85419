"""The "id hex" packet dump reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix_lib.tm.errors import TelemetryFileError
from stix_lib.tm.hex_dump import read_hex_dump
from stix_lib.tm.xml_reader import RawPacket

PACKET = "0da1c066000d100101782628a9c4e71e1dacc0a0"


def test_real_dump(reference_data: Path) -> None:
    packets = read_hex_dump(reference_data / "tm" / "esa_2018_packets.hex")
    assert len(packets) == 426
    assert [p.packet_id for p in packets] == list(range(1, 427))
    assert packets[0].data == bytes.fromhex("0da7c0000015100501000000000b287200010000ffff000000008672")


def test_blank_and_comment_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.hex"
    path.write_text(f"# comment\n\n5 {PACKET}\n  6   {PACKET.upper()}  \n")
    assert read_hex_dump(path) == [RawPacket(5, bytes.fromhex(PACKET))] * 1 + [RawPacket(6, bytes.fromhex(PACKET))]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (PACKET, "line 2: expected 'id hex', found 1 fields"),
        (f"x {PACKET}", "line 2: invalid literal for int"),
        (f"2 {PACKET}z", "line 2: invalid hex"),
        (f"2 {PACKET}0", "line 2: odd-length hex"),
        (f"2 {PACKET[:-2]}", "line 2 (packet 2): packet has 19 bytes, shorter than its length field"),
    ],
)
def test_bad_lines(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "d.hex"
    path.write_text(f"1 {PACKET}\n{line}\n")
    with pytest.raises(TelemetryFileError) as info:
        read_hex_dump(path)
    assert info.value.path == path
    assert reason in info.value.reason


def test_missing_dump(tmp_path: Path) -> None:
    with pytest.raises(TelemetryFileError, match="file not found"):
        read_hex_dump(tmp_path / "none.hex")
