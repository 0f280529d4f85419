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

Reading is streamed, :data:`READ_CHUNK_BYTES` at a time, so memory stays bounded for files of
hundreds of MB. Files in the canonical SOC layout (as above: one ``packetID`` attribute, one
``Packet`` of bare hex digits per element, only whitespace or text between elements) are cut into
elements with bytes operations while expat, with no element handlers, checks everything but the
hex digits; any other file, or any error, is read from its start again by expat with element
handlers (only the start and end of elements and the ``Packet`` text reach Python), which gives
the same packets, errors and messages for every input. DTDs are forbidden as defusedxml forbids them
(callbacks raising its exceptions), so entity-expansion ("billion laughs") and external-entity
files are refused as soon as their DOCTYPE is seen, before anything is expanded or fetched.

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
  a file cut after its telemetry started with ``error.truncated``. :func:`iter_packet_batches`
  does the same in batches of bounded size (the exception carries the unfinished batch), so a
  caller can convert a file of hundreds of MB without holding all of its packets.
"""

from __future__ import annotations

import binascii
import operator
import re
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from xml.parsers import expat

from defusedxml.common import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from stix_lib.tm.errors import PacketError, TelemetryFileError
from stix_lib.tm.headers import LENGTH_OFFSET, TM_HEADERS_BYTES, packet_length_problem
from stix_lib.tm.hex_dump import read_hex_dump
from stix_lib.tm.hex_text import decode_hex
from stix_lib.tm.raw_packet import RawPacket

__all__ = [
    "GROUND_HEADER_BYTES",
    "SNIFF_BYTES",
    "FileKind",
    "RawPacket",
    "iter_packet_batches",
    "iter_packets",
    "read_hex_dump",
    "read_packets",
    "sniff_kind",
]

#: Length of the SCOS-2000 ground header in front of every packet of an XML file.
GROUND_HEADER_BYTES = 76
#: How much of a file :func:`sniff_kind` looks at.
SNIFF_BYTES = 4096
#: Bytes of XML read and parsed at a time.
READ_CHUNK_BYTES = 2**18

_TM_TAG = "PktRawResponse"
_TC_TAG = "PktTcReportResponse"
_ELEMENT_TAG = "PktRawResponseElement"
_PACKET_TAG = "Packet"


class FileKind(StrEnum):
    """Kind of SOC telemetry file."""

    TM = "TM"
    TC = "TC"


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


def _packet_of(name: str, raw_id: str | None, text: str | None) -> RawPacket | PacketError:
    """The packet of one ``PktRawResponseElement``: its ``packetID`` text and its ``Packet`` text
    (``None`` when absent), or why it is unusable."""
    if raw_id is None:
        return PacketError(name, None, "missing packetID attribute")
    try:
        packet_id = int(raw_id)
    except ValueError:
        return PacketError(name, None, f"packetID {raw_id!r} is not an integer")
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
    size = len(data)
    # the common case in one comparison; anything else gets the precise reason
    if size < TM_HEADERS_BYTES or size != ((data[4] << 8) | data[5]) + LENGTH_OFFSET:
        problem = packet_length_problem(data)
        if problem is not None:
            return PacketError(name, packet_id, f"{problem} (after the {GROUND_HEADER_BYTES}-byte ground header)")
    return RawPacket(packet_id, data)


def _refusing_parser() -> expat.XMLParserType:
    """A namespace-aware expat parser that refuses DTDs, entity declarations and external references."""
    parser = expat.ParserCreate(None, "}")
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_unparsed_entity
    parser.ExternalEntityRefHandler = _refuse_external
    return parser


class _TcReport(Exception):
    """Raised by the parser callbacks at the start of a ``PktTcReportResponse`` element."""


def _refuse_doctype(name: str, sysid: str | None, pubid: str | None, has_internal_subset: bool) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _refuse_entity(name: str, is_parameter: bool, value, base, sysid, pubid, notation_name) -> None:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def _refuse_unparsed_entity(name: str, base, sysid, pubid, notation_name) -> None:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)


def _refuse_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def _handler_item_chunks(path: Path) -> Iterator[list[RawPacket | PacketError]]:
    """The items of :func:`iter_packets`, a list per :data:`READ_CHUNK_BYTES` of the file (any layout).

    Drives expat directly: only the start/end of elements and the text of the ``Packet``
    elements reach Python. DTDs, entity declarations and external references are refused by
    callbacks raising the defusedxml exceptions (as defusedxml's parser does).
    """
    name = str(path)
    parser = _refusing_parser()
    parser.buffer_text = True
    parser.buffer_size = READ_CHUNK_BYTES
    items: list[RawPacket | PacketError] = []
    local_names: dict[str, str] = {}
    # open PktRawResponseElement elements: [depth, packetID text, Packet text parts or None]
    frames: list[list] = []
    depth = 0
    collecting = False  # inside the text of the first Packet child of the innermost frame
    seen_tm = False

    def start(tag: str, attributes: dict[str, str]) -> None:
        nonlocal depth, collecting, seen_tm
        depth += 1
        if collecting:  # a child element ends the Packet text
            parser.CharacterDataHandler = None
            collecting = False
        local = local_names.get(tag)
        if local is None:
            local = local_names[tag] = tag.rpartition("}")[2]
        if local == _PACKET_TAG:
            if frames:
                frame = frames[-1]
                if frame[2] is None and frame[0] == depth - 1:
                    parts: list[str] = []
                    frame[2] = parts
                    parser.CharacterDataHandler = parts.append
                    collecting = True
        elif local == _ELEMENT_TAG:
            frames.append([depth, attributes.get("packetID"), None])
        elif local == _TM_TAG:
            seen_tm = True
        elif local == _TC_TAG:
            raise _TcReport

    def end(tag: str) -> None:
        nonlocal depth, collecting
        if collecting:
            parser.CharacterDataHandler = None
            collecting = False
        if frames and frames[-1][0] == depth:
            _, raw_id, parts = frames.pop()
            items.append(_packet_of(name, raw_id, None if parts is None else "".join(parts)))
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with path.open("rb") as stream:
            while True:
                data = stream.read(READ_CHUNK_BYTES)
                failure: TelemetryFileError | None = None
                try:
                    parser.Parse(data, not data)
                except DefusedXmlException as exc:
                    failure = TelemetryFileError(path, f"XML with DTD/entity declarations is not accepted ({exc})")
                except _TcReport:
                    failure = TelemetryFileError(path, f"a TC report file ({_TC_TAG}), not TM")
                except expat.ExpatError as exc:
                    where = "truncated or broken XML" if seen_tm else "not a valid XML file"
                    failure = TelemetryFileError(path, f"{where}: {exc}", truncated=seen_tm)
                except LookupError as exc:  # the XML declaration names an encoding Python does not know
                    failure = TelemetryFileError(path, f"not a valid XML file: {exc}")
                if items:
                    yield items
                    items = []
                if failure is not None:
                    raise failure
                if not data:
                    break
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if not seen_tm:
        raise TelemetryFileError(path, f"no {_TM_TAG} element")


class _NotCanonical(Exception):
    """Raised by :func:`_canonical_item_chunks` when the file leaves the canonical SOC layout."""


_WS = rb"[ \t\r\n]*"
_PREFIX = rb"(?:[A-Za-z_][A-Za-z0-9_.-]*:)?"
#: Everything up to the ``PktRawResponse`` start tag of a canonical SOC file.
_CANONICAL_HEAD = re.compile(
    rb'(?:\xef\xbb\xbf)?<\?xml version="1\.0" encoding="(?:UTF|utf)-8"(?: standalone="(?:yes|no)")?\?>'
    + _WS
    + rb"<"
    + _PREFIX
    + rb'ResponsePart(?: xmlns:[A-Za-z_][A-Za-z0-9_.-]*="[^"<&]*")*>'
    + _WS
    + rb"<Response>"
    + _WS
    + rb"<PktRawResponse>"
)
#: The pieces of a canonical element between its four ``<``, each kind joined with NUL
#: (never in XML text): start tag (with whitespace), end of Packet (with whitespace), end tag
#: (with the text up to the next element).
_NUL = b"\x00"
_START = rb'PktRawResponseElement packetID="[0-9]+">' + _WS
_STARTS = re.compile(_START + rb"(?:\x00" + _START + rb")*")
_PACKET_IDS = re.compile(rb'packetID="([0-9]+)"')
_PACKET_ENDS = re.compile(rb"/Packet>" + _WS + rb"(?:\x00/Packet>" + _WS + rb")*")
_ELEMENT_ENDS = re.compile(rb"/PktRawResponseElement>[^\x00]*(?:\x00/PktRawResponseElement>[^\x00]*)*")
_PACKET_START = b"<Packet>"
_ELEMENT_END = b"</PktRawResponseElement>"
#: What may follow the last element of a canonical file.
_CANONICAL_TAIL = re.compile(
    _WS + rb"</PktRawResponse>" + _WS + rb"</Response>" + _WS + rb"</" + _PREFIX + rb"ResponsePart>" + _WS
)
#: A carried-over tail longer than this (no element end in sight) leaves the fast path.
_MAX_TAIL_BYTES = 4 * READ_CHUNK_BYTES
#: ``Packet>`` in front of the hex text of a piece.
_TEXT_OFFSET = len(_PACKET_START) - 1
_TEXT_START = operator.itemgetter(slice(0, _TEXT_OFFSET))


def _canonical_items(name: str, region: bytes) -> tuple[list[RawPacket | PacketError], bytes]:
    """The items of a run of canonical elements (text without markup between them).

    Parameters
    ----------
    name
        The file name for packet errors.
    region
        Whitespace or text, then canonical elements separated by text, ending with an element end tag.

    Returns
    -------
    items, skeleton
        The items, and ``region`` without the ``Packet`` texts that are hex digits only (which
        cannot make XML ill-formed): what expat must still accept before the items are used.

    Raises
    ------
    _NotCanonical
        Any markup or reference in ``region`` that is not part of a canonical element.
    """
    pieces = region.split(b"<")
    count = (len(pieces) - 1) // 4
    starts = _NUL.join(pieces[1::4])
    texts = pieces[2::4]  # "Packet>" + the Packet text
    if (
        len(pieces) != 4 * count + 1
        or b"&" in region
        or b"".join(map(_TEXT_START, texts)) != _PACKET_START[1:] * count
        or _STARTS.fullmatch(starts) is None
        or _PACKET_ENDS.fullmatch(_NUL.join(pieces[3::4])) is None
        or _ELEMENT_ENDS.fullmatch(_NUL.join(pieces[4::4])) is None
    ):
        raise _NotCanonical
    pieces[2::4] = [_PACKET_START[1:]] * count
    items: list[RawPacket | PacketError] = []
    append = items.append
    unhexlify = binascii.unhexlify
    for index, (raw_id, piece) in enumerate(zip(_PACKET_IDS.findall(starts), texts, strict=True)):
        try:
            raw = unhexlify(memoryview(piece)[_TEXT_OFFSET:])
        except (binascii.Error, ValueError):
            pieces[4 * index + 2] = piece  # not only hex digits: expat must see it
            raw = b""
        if len(raw) > GROUND_HEADER_BYTES:
            data = raw[GROUND_HEADER_BYTES:]
            if len(data) >= TM_HEADERS_BYTES and len(data) == ((data[4] << 8) | data[5]) + LENGTH_OFFSET:
                append(RawPacket(int(raw_id), data))
                continue
        append(_packet_of(name, raw_id.decode(), piece[_TEXT_OFFSET:].decode()))
    return items, b"<".join(pieces)


def _canonical_item_chunks(path: Path) -> Iterator[list[RawPacket | PacketError]]:
    """The items of :func:`iter_packets` for a file in the canonical SOC layout.

    The file is cut into runs of whole elements, recognised with bytes operations; expat (no
    element handlers, DTDs refused) checks the whole file except the ``Packet`` texts made of hex
    digits only, and the items of a run are yielded once expat has accepted it.

    Raises
    ------
    _NotCanonical
        As soon as anything differs from the canonical layout or expat finds an error; the items
        yielded so far are those :func:`_handler_item_chunks` yields first.
    """
    name = str(path)
    parser = _refusing_parser()
    # a quarter of the handler path's chunks: fewer and smaller transient copies, faster
    chunk_bytes = max(1, READ_CHUNK_BYTES // 4)

    def check(xml: bytes, final: bool = False) -> None:
        try:
            parser.Parse(xml, final)
        except (DefusedXmlException, expat.ExpatError) as exc:
            raise _NotCanonical from exc

    tail = b""
    in_body = False
    try:
        with path.open("rb") as stream:
            while True:
                data = stream.read(chunk_bytes)
                buffer = tail + data if tail else data
                if not in_body:
                    head = _CANONICAL_HEAD.match(buffer)
                    if head is None:
                        if data and len(buffer) < SNIFF_BYTES:  # the head may not be complete yet
                            tail = buffer
                            continue
                        raise _NotCanonical
                    check(buffer[: head.end()])
                    buffer = buffer[head.end() :]
                    in_body = True
                if not data:
                    if _CANONICAL_TAIL.fullmatch(buffer) is None:
                        raise _NotCanonical
                    check(buffer, True)
                    return
                end = buffer.rfind(_ELEMENT_END)
                if end < 0:
                    tail = buffer
                else:
                    end += len(_ELEMENT_END)
                    tail = buffer[end:]
                    items, skeleton = _canonical_items(name, buffer[:end])
                    check(skeleton)
                    if items:
                        yield items
                if len(tail) > _MAX_TAIL_BYTES:
                    raise _NotCanonical
    except OSError as exc:
        raise _unreadable(path, exc) from exc


def _item_chunks(path: Path) -> Iterator[list[RawPacket | PacketError]]:
    """The items of :func:`iter_packets`, in lists.

    The canonical fast path first; when the file leaves the canonical layout, the general
    handler path from the start of the file, skipping the items already yielded (the same ones).
    """
    done = 0
    try:
        for items in _canonical_item_chunks(path):
            done += len(items)
            yield items
        return
    except _NotCanonical:
        pass
    for items in _handler_item_chunks(path):
        if done:
            skip = min(done, len(items))
            done -= skip
            items = items[skip:]
            if not items:
                continue
        yield items


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
    for items in _item_chunks(path):
        yield from items


def iter_packet_batches(
    path: Path, batch_bytes: int | None = None
) -> Iterator[tuple[list[RawPacket], list[PacketError]]]:
    """Stream the packets of a TM XML file in batches, in document order.

    Parameters
    ----------
    path
        A ``PktRawResponse`` XML file.
    batch_bytes
        A batch ends with the packet that brings its packet bytes to at least this many;
        ``None``: the whole file is one batch.

    Yields
    ------
    packets, errors
        The good packets and the per-packet errors of one batch. The last batch (possibly empty)
        is yielded at the end of the file.

    Raises
    ------
    TelemetryFileError
        For file-level problems (see :func:`iter_packets`); ``error.packets`` / ``error.errors``
        hold what was read since the last batch yielded.
    """
    path = Path(path)
    packets: list[RawPacket] = []
    errors: list[PacketError] = []
    size = 0
    limit = batch_bytes if batch_bytes is not None else -1
    try:
        _check_file(path)
        for items in _item_chunks(path):
            for item in items:
                if isinstance(item, PacketError):
                    errors.append(item)
                    continue
                packets.append(item)
                if limit >= 0:
                    size += len(item.data)
                    if size >= limit:
                        yield packets, errors
                        packets, errors, size = [], [], 0
    except TelemetryFileError as exc:
        raise TelemetryFileError(exc.path, exc.reason, packets=packets, errors=errors, truncated=exc.truncated) from exc
    yield packets, errors


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
    return next(iter_packet_batches(path))
