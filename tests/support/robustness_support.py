"""Damaged telemetry built from good telemetry: packets out of EDDS XML, edited, written back.

Every helper works on the CCSDS bytes (ground header dropped) so a test states exactly which bit
field it damages; the files are written in the EDDS layout the reader expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from astropy.io import fits

from stix_lib.settings import Settings
from stix_lib.validate.archive_diff import fits_differences

#: SCOS-2000 ground header in front of every packet of an EDDS XML file.
GROUND_BYTES = 76
_ELEMENT = re.compile(
    r'<PktRawResponseElement packetID="(\d+)">\s*<Packet>([0-9A-Fa-f]+)</Packet>\s*</PktRawResponseElement>'
)
_END = "</PktRawResponse>"


def read_elements(xml: Path) -> list[tuple[int, bytes, bytes]]:
    """``(packet id, ground header, CCSDS packet)`` of every element, in file order."""
    out = []
    for match in _ELEMENT.finditer(Path(xml).read_text()):
        raw = bytes.fromhex(match.group(2))
        out.append((int(match.group(1)), raw[:GROUND_BYTES], raw[GROUND_BYTES:]))
    return out


def element(packet_id: int, packet: bytes, ground: bytes = bytes(GROUND_BYTES)) -> str:
    """One EDDS XML element holding ``packet`` behind a ground header."""
    text = (ground + packet).hex()
    return f'<PktRawResponseElement packetID="{packet_id}">\n    <Packet>{text}</Packet>\n</PktRawResponseElement>\n'


def with_extra_packets(source: Path, target: Path, packets: list[tuple[int, bytes]]) -> Path:
    """Copy ``source`` to ``target`` with ``(packet id, CCSDS bytes)`` elements appended."""
    text = Path(source).read_text()
    extra = "".join(element(packet_id, packet) for packet_id, packet in packets)
    at = text.rindex(_END)
    Path(target).write_text(text[:at] + extra + text[at:])
    return Path(target)


def truncated_copy(source: Path, target: Path, keep_elements: int) -> Path:
    """``source`` cut in the middle of the hex text of element number ``keep_elements`` (0-based)."""
    text = Path(source).read_text()
    matches = list(_ELEMENT.finditer(text))
    cut = matches[keep_elements].start(2) + 40
    Path(target).write_text(text[:cut])
    return Path(target)


def apid_of(packet: bytes) -> int:
    return ((packet[0] & 0x7) << 8) | packet[1]


def with_apid(packet: bytes, apid: int) -> bytes:
    """``packet`` with another APID (11 bits after version, type and header flag)."""
    return bytes([(packet[0] & 0xF8) | (apid >> 8), apid & 0xFF]) + packet[2:]


def service_of(packet: bytes) -> tuple[int, int]:
    return packet[7], packet[8]


def with_service(packet: bytes, service: int, subtype: int) -> bytes:
    return packet[:7] + bytes([service, subtype]) + packet[9:]


def coarse_of(packet: bytes) -> int:
    return int.from_bytes(packet[10:14], "big")


def with_coarse(packet: bytes, coarse: int) -> bytes:
    return packet[:10] + int(coarse).to_bytes(4, "big") + packet[14:]


def with_time(packet: bytes, btime: int) -> bytes:
    """``packet`` timed at binary SCET ``btime`` (``coarse << 16 | fine``)."""
    return packet[:10] + int(btime >> 16).to_bytes(4, "big") + int(btime & 0xFFFF).to_bytes(2, "big") + packet[16:]


def with_count(packet: bytes, count: int) -> bytes:
    """``packet`` with another source sequence count (grouping flag kept)."""
    return packet[:2] + ((packet[2] & 0xC0) << 8 | count).to_bytes(2, "big") + packet[4:]


def with_byte(packet: bytes, offset: int, value: int) -> bytes:
    return packet[:offset] + bytes([value]) + packet[offset + 1 :]


def short_tc_packet(length: int = 12) -> bytes:
    """A STIX TC packet (PID 90, category 12 = APID 1452) of ``length`` bytes (< 16: shorter than TM headers)."""
    body = length - 6
    return bytes([0x1D, 0xAC, 0xC0, 0x00]) + (body - 1).to_bytes(2, "big") + bytes([0x10, 17, 1, 0]) + bytes(body - 4)


def products(archive: Path) -> dict[str, Path]:
    """FITS products of an archive by path relative to it."""
    return {str(p.relative_to(archive)): p for p in sorted(Path(archive).rglob("*.fits"))}


def assert_products_equal(got: Path, clean: Path) -> None:
    """Every product of the clean archive exists in ``got`` with the same content (DATE/CHECKSUM aside)."""
    mine, theirs = products(got), products(clean)
    assert theirs, "the clean run produced nothing"
    missing = sorted(set(theirs) - set(mine))
    assert not missing, f"products of good files missing: {missing}"
    problems = [p for name in theirs for p in fits_differences(mine[name], theirs[name])]
    assert not problems, "\n".join(problems)


def lb_rows(path: Path) -> int:
    """Packets in an LB file (rows of its CONTROL table)."""
    with fits.open(path) as hdul:
        return len(hdul["CONTROL"].data)


#: Fixed DATE keyword of LB files (the L0/L1 DATE is ignored by the comparison).
FIXED_DATE = "2026-01-01T00:00:00.000"


@dataclass(frozen=True)
class Corpus:
    """Settings (kernels, STIX-CONF, IDB) and good telemetry files."""

    settings: Settings
    a: Path
    c: Path
    science: Path
    clean_a: Path

    def scet_day(self, tm: Path) -> int:
        return coarse_of(read_elements(tm)[0][2]) // 86400


def run_pipeline(settings: Settings, archive: Path, files: list[Path], **overrides):
    """``Pipeline.run`` of ``files`` into ``archive`` up to L1, configured from ``settings``."""
    from stix_lib.pipeline import PipelineOptions, build_pipeline

    pipeline = build_pipeline(settings, PipelineOptions(fits_dir=archive, end_level="L1"))
    pipeline.date = FIXED_DATE
    for name, value in overrides.items():
        setattr(pipeline, name, value)
    return pipeline.run(files, end_level="L1")
