"""TM XML reader: real file, and a generated corpus of bad inputs."""

from __future__ import annotations

import pickle
import tracemalloc
from pathlib import Path

import pytest

from stix_lib.tm.errors import PacketError, TelemetryFileError
from stix_lib.tm.headers import decode_headers
from stix_lib.tm.xml_reader import (
    GROUND_HEADER_BYTES,
    FileKind,
    RawPacket,
    iter_packets,
    read_packets,
    sniff_kind,
)

GROUND = "ab" * GROUND_HEADER_BYTES
#: A complete 20-byte TM(1,1) packet.
PACKET = "0da1c066000d100101782628a9c4e71e1dacc0a0"


def _xml(elements: list[str], *, prolog: str = "", tag: str = "PktRawResponse") -> str:
    body = "\n".join(elements)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f"{prolog}"
        '<ns2:ResponsePart xmlns:ns2="http://edds.egos.esa/model">\n'
        f"  <Response>\n    <{tag}>\n{body}\n    </{tag}>\n  </Response>\n</ns2:ResponsePart>\n"
    )


def _element(packet_id: object, hex_text: str, *, ground: bool = True) -> str:
    attr = "" if packet_id is None else f' packetID="{packet_id}"'
    return f"<PktRawResponseElement{attr}><Packet>{GROUND if ground else ''}{hex_text}</Packet></PktRawResponseElement>"


def _write(tmp_path: Path, text: str | bytes, name: str = "x.PktTmRaw.xml") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def _collect(path: Path) -> tuple[list[RawPacket | PacketError], TelemetryFileError | None]:
    """Items yielded before the end or before a file-level error, and that error."""
    items: list[RawPacket | PacketError] = []
    try:
        for item in iter_packets(path):
            items.append(item)
    except TelemetryFileError as exc:
        return items, exc
    return items, None


def test_real_moc_file(reference_data: Path) -> None:
    path = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    assert sniff_kind(path) is FileKind.TM
    packets, errors = read_packets(path)
    assert errors == []
    assert [p.packet_id for p in packets] == list(range(1, 17))
    # ground header dropped: every packet starts with its CCSDS header and fills its length field
    assert all(len(p.data) == int.from_bytes(p.data[4:6], "big") + 7 for p in packets)
    assert [len(p.data) for p in packets][:3] == [1103, 27, 1995]
    # the same bytes as decoding the hex ourselves
    text = path.read_text()
    first_hex = text.split("<Packet>", 1)[1].split("</Packet>", 1)[0].strip()
    assert packets[0].data == bytes.fromhex(first_hex)[GROUND_HEADER_BYTES:]


def test_good_generated_file_with_namespaces_and_whitespace(tmp_path: Path) -> None:
    spaced = " ".join(PACKET[i : i + 8] for i in range(0, len(PACKET), 8))
    text = (
        '<r:ResponsePart xmlns:r="urn:a"><Response xmlns="urn:b"><PktRawResponse>'
        f'<PktRawResponseElement packetID="7"><Packet>\n  {GROUND}{spaced}\n</Packet></PktRawResponseElement>'
        f'<PktRawResponseElement packetID="8"><Packet>{GROUND}{PACKET.upper()}</Packet></PktRawResponseElement>'
        "</PktRawResponse></Response></r:ResponsePart>"
    )
    packets, errors = read_packets(_write(tmp_path, text))
    assert errors == []
    assert packets == [RawPacket(7, bytes.fromhex(PACKET)), RawPacket(8, bytes.fromhex(PACKET))]


@pytest.mark.parametrize(
    ("bad_element", "bad_id", "reason"),
    [
        (_element(2, PACKET[:-2] + "zz"), 2, "invalid hex: character 'z'"),
        (_element(2, PACKET + "a"), 2, "odd-length hex"),
        (_element(2, ""), 2, "no more than the 76-byte ground header"),
        (_element(2, PACKET[:20]), 2, "shorter than the 16-byte CCSDS + PUS TM headers"),
        (_element(2, PACKET[:-2]), 2, "19 bytes, shorter than its length field"),
        (_element(2, PACKET + "00"), 2, "21 bytes, longer than its length field"),
        (_element(None, PACKET), None, "missing packetID"),
        (_element("two", PACKET), None, "packetID 'two' is not an integer"),
        ('<PktRawResponseElement packetID="2"></PktRawResponseElement>', 2, "no Packet element"),
    ],
)
def test_packet_errors_keep_the_good_packets(tmp_path: Path, bad_element: str, bad_id, reason: str) -> None:
    path = _write(tmp_path, _xml([_element(1, PACKET), bad_element, _element(3, PACKET)]))
    packets, errors = read_packets(path)
    assert [p.packet_id for p in packets] == [1, 3]
    assert len(errors) == 1
    error = errors[0]
    assert error.file == str(path)
    assert error.packet_id == bad_id
    assert reason in error.reason
    assert str(error).startswith(f"{path}: packet {bad_id}: ")


def test_truncated_file_yields_good_packets_then_raises(reference_data: Path, tmp_path: Path) -> None:
    text = (reference_data / "tm" / "moc_test.PktTmRaw.xml").read_text()
    cut = text.index('packetID="5"') + 200  # inside packet 5
    path = _write(tmp_path, text[:cut])
    items, error = _collect(path)
    assert [i.packet_id for i in items] == [1, 2, 3, 4]
    assert all(isinstance(i, RawPacket) for i in items)
    assert error is not None and error.path == path
    assert "truncated or broken XML" in error.reason
    assert str(error) == f"{path}: {error.reason}"
    # read_packets raises as well but keeps what was read
    with pytest.raises(TelemetryFileError) as info:
        read_packets(path)
    assert [p.packet_id for p in info.value.packets] == [1, 2, 3, 4]
    assert info.value.reason == error.reason


def test_broken_xml_after_a_packet_error_keeps_both(tmp_path: Path) -> None:
    text = _xml([_element(1, PACKET), _element(2, "xyz"), _element(3, PACKET)])
    path = _write(tmp_path, text.replace("</ns2:ResponsePart>", "</ns2:Mismatch>"))
    with pytest.raises(TelemetryFileError, match="truncated or broken XML") as info:
        read_packets(path)
    assert [p.packet_id for p in info.value.packets] == [1, 3]
    assert [e.packet_id for e in info.value.errors] == [2]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ResponsePart><Response><PktRawResponse>
<PktRawResponseElement packetID="1"><Packet>&lol9;</Packet></PktRawResponseElement>
</PktRawResponse></Response></ResponsePart>
"""


def test_entity_expansion_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, BILLION_LAUGHS)
    items, error = _collect(path)
    assert items == []
    assert error is not None and error.path == path
    assert "DTD/entity" in error.reason
    with pytest.raises(TelemetryFileError, match="DTD/entity"):
        sniff_kind(path)


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("0" * 200)
    text = _xml(
        ['<PktRawResponseElement packetID="1"><Packet>&ext;</Packet></PktRawResponseElement>'],
        prolog=f'<!DOCTYPE ResponsePart [<!ENTITY ext SYSTEM "file://{secret}">]>\n',
    )
    path = _write(tmp_path, text)
    items, error = _collect(path)
    assert items == []
    assert error is not None and "DTD/entity" in error.reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"\x00\x01\x02 binary", "not a valid XML file"),
        (b"<html><body>hello</body></html>", "no PktRawResponse element"),
        (_xml([], tag="PktTcReportResponse").encode(), "a TC report file (PktTcReportResponse), not TM"),
        (_xml([]).replace('encoding="UTF-8"', 'encoding="xTF-8"').encode(), "not a valid XML file: unknown encoding"),
    ],
)
def test_file_level_errors(tmp_path: Path, content: bytes, reason: str) -> None:
    path = _write(tmp_path, content)
    items, error = _collect(path)
    assert items == []
    assert error is not None and error.path == path
    assert reason in error.reason
    assert str(error) == f"{path}: {error.reason}"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.xml"
    with pytest.raises(TelemetryFileError, match="file not found") as info:
        read_packets(path)
    assert info.value.path == path
    with pytest.raises(TelemetryFileError, match="file not found"):
        sniff_kind(path)


def test_sniff_kind(tmp_path: Path) -> None:
    assert sniff_kind(_write(tmp_path, _xml([_element(1, PACKET)]), "tm.xml")) is FileKind.TM
    assert sniff_kind(_write(tmp_path, _xml([], tag="PktTcReportResponse"), "tc.xml")) is FileKind.TC
    with pytest.raises(TelemetryFileError, match="empty file"):
        sniff_kind(_write(tmp_path, b"", "empty.xml"))
    with pytest.raises(TelemetryFileError, match="not an XML file"):
        sniff_kind(_write(tmp_path, b"PktRawResponse but no markup", "plain.xml"))
    with pytest.raises(TelemetryFileError, match="neither PktRawResponse"):
        sniff_kind(_write(tmp_path, "<a>" + " " * 5000 + "<PktRawResponse/></a>", "late.xml"))


def test_file_error_pickles() -> None:
    error = TelemetryFileError(Path("/x/y.xml"), "empty file", packets=[RawPacket(1, b"ab")])
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.reason, copy.packets, str(copy)) == (error.path, error.reason, error.packets, str(error))


def test_streaming_memory_stays_bounded(tmp_path: Path) -> None:
    """30 000 packets (~7 MB of XML): the reader must not keep the parsed tree around."""
    count = 30_000
    path = tmp_path / "big.PktTmRaw.xml"
    with path.open("w") as stream:
        stream.write(_xml([_element(i, PACKET) for i in range(count)]))
    tracemalloc.start()
    try:
        seen = 0
        for item in iter_packets(path):
            assert isinstance(item, RawPacket)
            seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    # a retained tree of 30 000 elements with 192-character texts would need well over 10 MB
    assert peak < 3_000_000, peak


def test_packets_decode_after_reading(tmp_path: Path) -> None:
    packets, _ = read_packets(_write(tmp_path, _xml([_element(i, PACKET) for i in range(5)])))
    headers = decode_headers([p.data for p in packets])
    assert list(headers["scet_coarse"]) == [640199108] * 5
