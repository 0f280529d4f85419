"""The canonical-layout fast path of the TM XML reader gives exactly what the general (handler) path gives.

Differential test: every input is read by ``_item_chunks`` (fast path, falling back to the handler
path) and by ``_handler_item_chunks`` (the general expat-handler reader) and the items yielded, the
file error (reason, truncation flag) and the items yielded before it must be equal. Inputs: the real
SOC file, a file written by the simulator's EDDS writer, and a generated corpus of damaged and unusual files.
Canonical files must really take the fast path (otherwise the comparison would prove nothing).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stix_lib.tm import xml_reader
from stix_lib.tm.errors import PacketError, TelemetryFileError
from stix_lib.tm.xml_reader import GROUND_HEADER_BYTES, RawPacket

GROUND = "ab" * GROUND_HEADER_BYTES
#: A complete 20-byte TM(1,1) packet.
PACKET = "0da1c066000d100101782628a9c4e71e1dacc0a0"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<ns2:ResponsePart xmlns:ns2="http://edds.egos.esa/model">\n    <Response>\n        <PktRawResponse>\n'
)
TAIL = "</PktRawResponse>\n    </Response>\n</ns2:ResponsePart>\n"

Outcome = tuple[list[RawPacket | PacketError], tuple[str, bool] | None]


def _element(packet_id: object = 1, text: str = GROUND + PACKET, *, start: str = "", end: str = "") -> str:
    return (
        f'<PktRawResponseElement packetID="{packet_id}"{start}>\n    <Packet>{text}</Packet>\n'
        f"</PktRawResponseElement>{end}\n"
    )


def _canonical(*elements: str) -> str:
    return HEAD + "".join(elements or [_element(i) for i in range(1, 4)]) + TAIL


def _outcome(chunks) -> Outcome:
    items: list[RawPacket | PacketError] = []
    try:
        for chunk in chunks:
            items.extend(chunk)
    except TelemetryFileError as exc:
        return items, (exc.reason, exc.truncated)
    except Exception as exc:  # noqa: BLE001 - whatever escapes must escape both readers alike
        return items, (f"{type(exc).__name__}: {exc}", False)
    return items, None


def _compare(path: Path) -> Outcome:
    general = _outcome(xml_reader._handler_item_chunks(path))
    assert _outcome(xml_reader._item_chunks(path)) == general
    return general


def _takes_fast_path(path: Path) -> bool:
    try:
        for _ in xml_reader._canonical_item_chunks(path):
            pass
    except xml_reader._NotCanonical:
        return False
    return True


@pytest.fixture(params=[2**18, 4096, 97, 7], ids=lambda size: f"chunk{size}")
def chunk_bytes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(xml_reader, "READ_CHUNK_BYTES", request.param)
    return request.param


def test_real_soc_file_takes_the_fast_path(reference_data: Path, chunk_bytes: int) -> None:
    path = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    assert _takes_fast_path(path)
    items, error = _compare(path)
    assert error is None
    assert [item.packet_id for item in items] == list(range(1, 17))


def test_simulator_file_takes_the_fast_path(reference_data: Path, tmp_path: Path, chunk_bytes: int) -> None:
    """The layout the simulator (and so the benchmarks) writes: 300 real packets, chunk ends everywhere."""
    from stix_lib.dev.simulate.edds import write_xml

    packets = [p.data for p in xml_reader.read_packets(reference_data / "tm" / "moc_test.PktTmRaw.xml")[0]]
    path = tmp_path / "simulated.PktTmRaw.xml"
    write_xml(path, [(number, bytes(GROUND_HEADER_BYTES) + packets[number % len(packets)]) for number in range(300)])
    assert _takes_fast_path(path)
    items, error = _compare(path)
    assert error is None and len(items) == 300


ODD_BUT_GOOD = {
    "canonical": _canonical(),
    "no whitespace": _canonical(*[_element(i).replace("\n", "").replace("    ", "") for i in range(3)]),
    "CRLF": _canonical().replace("\n", "\r\n"),
    "BOM": "\ufeff" + _canonical(),
    "no elements": HEAD + TAIL,
    "leading zeros in packetID": _canonical(_element("007"), _element(8)),
    "upper-case hex": _canonical(_element(1, (GROUND + PACKET).upper())),
    "text between elements": _canonical(_element(1, end="some text"), _element(2)),
    "char reference between elements": _canonical(_element(1, end="&#32;"), _element(2)),
    "comment": _canonical(_element(1, end="<!-- note -->"), _element(2)),
    "comment in packet": _canonical(_element(1, GROUND + "<!-- x -->" + PACKET)),
    "CDATA packet": _canonical(_element(1, f"<![CDATA[{GROUND + PACKET}]]>")),
    "processing instruction": _canonical(_element(1, end="<?pi x?>"), _element(2)),
    "character reference in packet": _canonical(_element(1, "&#48;&#100;" + GROUND[4:] + PACKET)),
    "entity reference in packet": _canonical(_element(1, GROUND + PACKET[:4] + "&amp;" + PACKET[4:])),
    "extra attribute": _canonical(_element(1, start=' other="x"')),
    "attributes in other order": _canonical(
        _element(1).replace('packetID="1"', 'other="x" packetID="1"'), _element(2)
    ),
    "single quotes": _canonical(_element(1).replace('"1"', "'1'")),
    "spaces in start tag": _canonical(_element(1).replace('packetID="1"', 'packetID = "1" ')),
    "end tag with space": _canonical(_element(1).replace("</PktRawResponseElement>", "</PktRawResponseElement >")),
    "prefixed element": HEAD.replace("<PktRawResponse>", '<PktRawResponse xmlns:p="urn:p">')
    + _element(1).replace("PktRawResponseElement", "p:PktRawResponseElement")
    + TAIL,
    "default namespace": _canonical(_element(1, start=' xmlns="urn:x"')),
    "nested element in packet": _canonical(_element(1, GROUND + "<b>" + PACKET + "</b>")),
    "two packets": _canonical(_element(1, GROUND + PACKET + "</Packet><Packet>" + GROUND + PACKET)),
    "no packet": _canonical(_element(1).replace("<Packet>", "<Other>").replace("</Packet>", "</Other>")),
    "empty packet element": _canonical(_element(1).replace(f"<Packet>{GROUND + PACKET}</Packet>", "<Packet/>")),
    "empty packet text": _canonical(_element(1, "")),
    "whitespace in hex": _canonical(_element(1, f"  {GROUND}\n {PACKET[:8]} {PACKET[8:]} ")),
    "odd hex": _canonical(_element(1, GROUND + PACKET + "a"), _element(2)),
    "invalid hex": _canonical(_element(1, GROUND + "zz" + PACKET), _element(2)),
    "non-ASCII in hex": _canonical(_element(1, GROUND + "é" + PACKET), _element(2)),
    "ground header only": _canonical(_element(1, GROUND), _element(2)),
    "shorter than the ground header": _canonical(_element(1, GROUND[:10]), _element(2)),
    "shorter than the headers": _canonical(_element(1, GROUND + PACKET[:20]), _element(2)),
    "length field disagrees": _canonical(_element(1, GROUND + PACKET + "00"), _element(2)),
    "missing packetID": _canonical(_element(1).replace(' packetID="1"', ""), _element(2)),
    "packetID not an integer": _canonical(_element("x1"), _element(2)),
    "packetID with sign": _canonical(_element("+1"), _element("-2")),
    "packetID empty": _canonical(_element(""), _element(2)),
    "other prefix": _canonical().replace("ns2:", "egos:").replace("xmlns:ns2", "xmlns:egos"),
    "no XML declaration": _canonical().split("\n", 1)[1],
    "latin-1 declared": _canonical().replace("UTF-8", "ISO-8859-1"),
    "TC report": HEAD.replace("PktRawResponse", "PktTcReportResponse")
    + TAIL.replace("PktRawResponse", "PktTcReportResponse"),
    "TC inside TM": HEAD + _element(1) + "<PktTcReportResponse/>" + _element(2) + TAIL,
    "DTD": _canonical().replace("<ns2:ResponsePart", '<!DOCTYPE r [<!ENTITY a "b">]>\n<ns2:ResponsePart', 1),
    "undefined entity between elements": _canonical(_element(1, end="&nope;"), _element(2)),
    "mismatched root end": _canonical().replace("</ns2:ResponsePart>", "</ns3:ResponsePart>"),
    "no PktRawResponse": _canonical().replace("PktRawResponse>", "PktOtherResponse>"),
    "junk after root": _canonical() + "junk",
    "comment after root": _canonical() + "<!-- end -->\n",
    "second root": _canonical() + "<x/>",
    "NUL byte": _canonical(_element(1, end="\x00"), _element(2)),
}


@pytest.mark.parametrize("text", ODD_BUT_GOOD.values(), ids=ODD_BUT_GOOD.keys())
def test_unusual_files_read_as_by_the_general_reader(tmp_path: Path, chunk_bytes: int, text: str) -> None:
    path = tmp_path / "x.PktTmRaw.xml"
    path.write_bytes(text.encode("utf-8"))
    _compare(path)


def test_canonical_layouts_take_the_fast_path(tmp_path: Path, chunk_bytes: int) -> None:
    for key in ("canonical", "no whitespace", "CRLF", "BOM", "no elements", "leading zeros in packetID"):
        path = tmp_path / "x.PktTmRaw.xml"
        path.write_bytes(ODD_BUT_GOOD[key].encode())
        assert _takes_fast_path(path), key
    # packet errors inside a canonical layout stay on the fast path too
    for key in ("odd hex", "invalid hex", "ground header only", "length field disagrees"):
        path.write_bytes(ODD_BUT_GOOD[key].encode())
        assert _takes_fast_path(path), key


@pytest.mark.parametrize("chunk", [2**18, 61])
def test_every_truncation_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(xml_reader, "READ_CHUNK_BYTES", chunk)
    content = _canonical(_element(1), _element(2, GROUND + PACKET + "a"), _element(3)).encode()
    path = tmp_path / "x.PktTmRaw.xml"
    outcomes = set()
    for size in range(1, len(content)):
        path.write_bytes(content[:size])
        items, error = _compare(path)
        outcomes.add((len(items), error is not None and error[1]))
    # the corpus covers cuts before the telemetry, between and inside packets
    assert {(0, False), (0, True), (1, True), (2, True), (3, True)} <= outcomes


@pytest.mark.parametrize("chunk", [2**18, 53])
def test_one_damaged_byte_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(xml_reader, "READ_CHUNK_BYTES", chunk)
    content = _canonical(_element(1), _element(2)).encode()
    path = tmp_path / "x.PktTmRaw.xml"
    for position in range(len(content)):
        for byte in b'<>&"\x00 x/-':
            damaged = bytearray(content)
            damaged[position] = byte
            path.write_bytes(bytes(damaged))
            _compare(path)
