"""Streaming reader for SOC/EDDS telemetry XML files (``*PktTmRaw*.xml``).

File structure (tags are matched ignoring namespaces)::

    <ns2:ResponsePart xmlns:ns2="http://edds.egos.esa/model">
      <Response>
        <PktRawResponse>
          <PktRawResponseElement packetID="123">
            <Packet>0A1B...hex...</Packet>
          </PktRawResponseElement>
          ...

Each ``Packet`` holds the hex text of a 76-byte SCOS-2000 ground header followed by the CCSDS
source packet; the ground header is dropped here.

Reading is streamed (``iterparse``): every packet element is cleared and detached as soon as it
has been handled, so memory stays bounded for files of hundreds of MB. The parser is defusedxml
with DTDs forbidden, so entity-expansion ("billion laughs") and external-entity files are refused
as soon as their DOCTYPE is seen, before anything is expanded or fetched.

Error model
-----------
* Per-packet problems (bad hex, odd-length hex, missing/non-integer ``packetID``, packet too short
  for ground + CCSDS/PUS headers, length different from ``data_length + 7``) become a
  :class:`~stix_lib.tm.errors.PacketError` in the output stream; reading continues.
* File-level problems raise :class:`~stix_lib.tm.errors.TelemetryFileError` (missing, empty or
  unreadable file (no permission, I/O error), not XML, truncated XML, TC report instead of TM,
  DTD/entities, no ``PktRawResponse``).
  :func:`iter_packets` raises it *after* yielding every packet that was complete before the
  problem, so a truncated file loses nothing that was readable; :func:`read_packets` attaches
  those packets and packet errors to the exception (``error.packets``, ``error.errors``) and marks
  a file cut after its telemetry started with ``error.truncated``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as SafeElementTree

from stix_lib.tm.errors import PacketError, TelemetryFileError
from stix_lib.tm.headers import packet_length_problem
from stix_lib.tm.hex_dump import read_hex_dump
from stix_lib.tm.hex_text import decode_hex
from stix_lib.tm.raw_packet import RawPacket

__all__ = [
    "GROUND_HEADER_BYTES",
    "SNIFF_BYTES",
    "FileKind",
    "RawPacket",
    "iter_packets",
    "read_hex_dump",
    "read_packets",
    "sniff_kind",
]

#: Length of the SCOS-2000 ground header in front of every packet of an XML file.
GROUND_HEADER_BYTES = 76
#: How much of a file :func:`sniff_kind` looks at.
SNIFF_BYTES = 4096

_TM_TAG = "PktRawResponse"
_TC_TAG = "PktTcReportResponse"
_ELEMENT_TAG = "PktRawResponseElement"
_PACKET_TAG = "Packet"


class FileKind(StrEnum):
    """Kind of SOC telemetry file."""

    TM = "TM"
    TC = "TC"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _check_file(path: Path) -> None:
    try:
        if not path.exists():
            raise TelemetryFileError(path, "file not found")
        if not path.is_file():
            raise TelemetryFileError(path, "not a regular file")
        if path.stat().st_size == 0:
            raise TelemetryFileError(path, "empty file")
    except OSError as exc:
        raise TelemetryFileError(path, f"cannot access the file: {exc.strerror or exc}") from exc


def _unreadable(path: Path, exc: OSError) -> TelemetryFileError:
    return TelemetryFileError(path, f"cannot read the file: {exc.strerror or exc}")


def sniff_kind(path: Path) -> FileKind:
    """Tell a TM file from a TC report file by looking at the head of the file only.

    Parameters
    ----------
    path
        The XML file.

    Returns
    -------
    FileKind
        ``TM`` if ``PktRawResponse`` occurs first in the first :data:`SNIFF_BYTES` bytes, ``TC`` if
        ``PktTcReportResponse`` does.

    Raises
    ------
    TelemetryFileError
        Missing or empty file, head not starting like XML, a DTD/entity declaration, or neither
        marker in the head.
    """
    path = Path(path)
    _check_file(path)
    try:
        with path.open("rb") as stream:
            head = stream.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if not head.lstrip("\ufeff \t\r\n").startswith("<"):
        raise TelemetryFileError(path, "not an XML file (does not start with '<')")
    if "<!DOCTYPE" in head or "<!ENTITY" in head:
        raise TelemetryFileError(path, "XML with DTD/entity declarations is not accepted")
    found = {kind: head.find(tag) for kind, tag in ((FileKind.TM, _TM_TAG), (FileKind.TC, _TC_TAG))}
    present = {kind: pos for kind, pos in found.items() if pos >= 0}
    if not present:
        raise TelemetryFileError(path, f"neither {_TM_TAG} (TM) nor {_TC_TAG} (TC) in the first {SNIFF_BYTES} bytes")
    return min(present, key=present.__getitem__)


def _packet_from_element(path: Path, element: ElementTree.Element) -> RawPacket | PacketError:
    name = str(path)
    raw_id = element.get("packetID")
    packet_id: int | None
    try:
        packet_id = int(raw_id) if raw_id is not None else None
    except ValueError:
        packet_id = None
    if packet_id is None:
        what = "missing packetID attribute" if raw_id is None else f"packetID {raw_id!r} is not an integer"
        return PacketError(name, None, what)
    text = None
    for child in element:
        if _local(child.tag) == _PACKET_TAG:
            text = child.text or ""
            break
    if text is None:
        return PacketError(name, packet_id, f"no {_PACKET_TAG} element")
    try:
        raw = decode_hex(text)
    except ValueError as exc:
        return PacketError(name, packet_id, str(exc))
    if len(raw) <= GROUND_HEADER_BYTES:
        return PacketError(
            name,
            packet_id,
            f"packet has {len(raw)} bytes, no more than the {GROUND_HEADER_BYTES}-byte ground header",
        )
    data = raw[GROUND_HEADER_BYTES:]
    problem = packet_length_problem(data)
    if problem is not None:
        return PacketError(name, packet_id, f"{problem} (after the {GROUND_HEADER_BYTES}-byte ground header)")
    return RawPacket(packet_id, data)


def iter_packets(path: Path) -> Iterator[RawPacket | PacketError]:
    """Stream the packets of a TM XML file in document order.

    Parameters
    ----------
    path
        A ``PktRawResponse`` XML file.

    Yields
    ------
    RawPacket or PacketError
        One item per ``PktRawResponseElement``: the packet, or why it is unusable.

    Raises
    ------
    TelemetryFileError
        For file-level problems (see the module docstring). When the problem is found part way
        through (truncated or broken XML), every complete packet before it has been yielded first.
    """
    path = Path(path)
    _check_file(path)
    seen_tm = False
    stack: list[ElementTree.Element] = []
    try:
        with path.open("rb") as stream:
            events = SafeElementTree.iterparse(stream, events=("start", "end"), forbid_dtd=True)
            for event, element in events:
                tag = _local(element.tag)
                if event == "start":
                    stack.append(element)
                    if tag == _TM_TAG:
                        seen_tm = True
                    elif tag == _TC_TAG:
                        raise TelemetryFileError(path, f"a TC report file ({_TC_TAG}), not TM")
                    continue
                stack.pop()
                if tag == _ELEMENT_TAG:
                    yield _packet_from_element(path, element)
                    element.clear()
                    if stack:
                        stack[-1].remove(element)
    except defusedxml.DefusedXmlException as exc:
        raise TelemetryFileError(path, f"XML with DTD/entity declarations is not accepted ({exc})") from exc
    except ElementTree.ParseError as exc:
        where = "truncated or broken XML" if seen_tm else "not a valid XML file"
        raise TelemetryFileError(path, f"{where}: {exc}", truncated=seen_tm) from exc
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if not seen_tm:
        raise TelemetryFileError(path, f"no {_TM_TAG} element")


def read_packets(path: Path) -> tuple[list[RawPacket], list[PacketError]]:
    """Read a whole TM XML file.

    Parameters
    ----------
    path
        A ``PktRawResponse`` XML file.

    Returns
    -------
    packets, errors
        The good packets and the per-packet errors, each in document order.

    Raises
    ------
    TelemetryFileError
        For file-level problems; ``error.packets`` / ``error.errors`` hold what was read before
        the problem was found.
    """
    packets: list[RawPacket] = []
    errors: list[PacketError] = []
    try:
        for item in iter_packets(path):
            if isinstance(item, RawPacket):
                packets.append(item)
            else:
                errors.append(item)
    except TelemetryFileError as exc:
        raise TelemetryFileError(exc.path, exc.reason, packets=packets, errors=errors, truncated=exc.truncated) from exc
    return packets, errors
