"""EDDS ``PktRawResponse`` XML files as the SOC delivers them: ground header, naming, atomic writes.

File structure (spec 1.1)::

    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <ns2:ResponsePart xmlns:ns2="http://edds.egos.esa/model">
        <Response>
            <PktRawResponse>
    <PktRawResponseElement packetID="1">
        <Packet>HEX</Packet>
    </PktRawResponseElement>
    ...

Each ``Packet`` is the lower-case hex of a 76-byte SCOS-2000 ground header followed by the CCSDS
packet. No reader interprets the ground header; it is filled like the real ones: words of zeros
and ones, the packet's generation and reception times (Unix seconds + microseconds), the total
length (76 + packet bytes), the SPID (twice), the APID and the source sequence count.

File names follow the SOC pattern
``<prefix>.PktTmRaw.SOL.0.<first packet UTC>.<XXXX>@<creation UTC>.1.xml`` with UTC as
``YYYY.DDD.HH.MM.SS.mmm`` (day of year) and ``XXXX`` four letters.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from stix_lib.atomic import atomic_write_text

#: Length of the SCOS-2000 ground header.
GROUND_HEADER_BYTES = 76
#: Default file-name prefix of simulated deliveries.
FILE_PREFIX = "solo_BatchRequest"

_XML_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<ns2:ResponsePart xmlns:ns2="http://edds.egos.esa/model">\n'
    "    <Response>\n"
    "        <PktRawResponse>\n"
)
_XML_TAIL = "        </PktRawResponse>\n    </Response>\n</ns2:ResponsePart>\n"
_UNIX_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")


def _unix(utc: np.datetime64) -> tuple[int, int]:
    nanos = int((np.datetime64(utc).astype("M8[ns]") - _UNIX_EPOCH).astype(np.int64))
    return nanos // 1_000_000_000, (nanos % 1_000_000_000) // 1000


def ground_header(packet: bytes, *, spid: int, generated: np.datetime64, received: np.datetime64) -> bytes:
    """The 76-byte ground header of ``packet`` (see the module docstring)."""
    apid = int.from_bytes(packet[0:2], "big") & 0x7FF if len(packet) >= 2 else 0
    count = int.from_bytes(packet[2:4], "big") & 0x3FFF if len(packet) >= 4 else 0
    gen_s, gen_us = _unix(generated)
    rec_s, rec_us = _unix(received)
    header = struct.pack(
        ">IIIIIIHHIHHIIIHHIHIHIHHH",
        0,
        gen_s,
        gen_us,
        rec_s,
        rec_us,
        1,
        0x028A,
        0x00CA,
        GROUND_HEADER_BYTES + len(packet),
        0x1836,
        0x03EB,
        0,
        spid,
        0,
        0x028A,
        0,
        0x80FB,
        0x028B,
        0x30,
        0x0003,
        spid,
        0xFF10,
        apid,
        count,
    )
    return header.ljust(GROUND_HEADER_BYTES, b"\0")[:GROUND_HEADER_BYTES]


def soc_time(utc: np.datetime64) -> str:
    """UTC as ``YYYY.DDD.HH.MM.SS.mmm`` (day of year, milliseconds truncated)."""
    stamp = np.datetime64(utc).astype("M8[ms]")
    day = stamp.astype("datetime64[D]")
    year = day.astype("datetime64[Y]")
    doy = int((day - year).astype(np.int64)) + 1
    ms = int((stamp - day).astype(np.int64))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{int(year.astype(np.int64)) + 1970:04d}.{doy:03d}.{hours:02d}.{minutes:02d}.{seconds:02d}.{millis:03d}"


def soc_file_name(first: np.datetime64, created: np.datetime64, letters: str, prefix: str = FILE_PREFIX) -> str:
    """SOC-style telemetry file name.

    Raises
    ------
    ValueError
        If ``letters`` is not four ASCII letters.
    """
    if len(letters) != 4 or not letters.isascii() or not letters.isalpha():
        raise ValueError(f"need four letters, got {letters!r}")
    return f"{prefix}.PktTmRaw.SOL.0.{soc_time(first)}.{letters}@{soc_time(created)}.1.xml"


def random_letters(rng: np.random.Generator) -> str:
    """Four random ASCII letters (upper and lower case, like ``AuYP``)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "".join(alphabet[int(i)] for i in rng.integers(0, len(alphabet), 4))


def xml_text(elements: Iterable[tuple[int, bytes]]) -> str:
    """The XML document for ``(packetID, ground header + packet bytes)`` elements."""
    parts = [_XML_HEAD]
    for packet_id, raw in elements:
        parts.append(f'<PktRawResponseElement packetID="{packet_id}">\n')
        parts.append(f"    <Packet>{raw.hex()}</Packet>\n</PktRawResponseElement>\n")
    parts.append(_XML_TAIL)
    return "".join(parts)


def write_xml(path: Path, elements: Sequence[tuple[int, bytes]]) -> None:
    """Write one EDDS XML file atomically."""
    atomic_write_text(path, xml_text(elements))
