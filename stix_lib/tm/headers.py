"""CCSDS / PUS packet headers, decoded vectorised for many packets at once.

A STIX TM source packet starts with the 6-byte CCSDS primary header followed by the 10-byte PUS
TM data-field header (16 bytes in total); TC packets carry a 4-byte PUS TC data-field header
instead. All fields are big-endian bit fields:

======================  ====  ======================================================
field                   bits  notes
======================  ====  ======================================================
version                 3
packet_type             1     0 TM, 1 TC
header_flag             1     secondary header present
process_id              7     STIX PID = 90
packet_category         4     APID = process_id << 4 | packet_category
sequence_flag           2     see :class:`SequenceFlag`
sequence_count          14    wraps at 16383
data_length             16    packet length in bytes = data_length + 7
(spare)                 1     TM data-field header from here
pus_version             3
(spare)                 4
service_type            8
service_subtype         8
destination_id          8
scet_coarse             32
scet_fine               16
======================  ====  ======================================================

Decoding copies the first bytes of every packet into one ``(N, 16)`` ``uint8`` array and extracts
all fields with shifts and masks, so it costs a handful of numpy operations whatever ``N`` is.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

import numpy as np
import numpy.typing as npt

PRIMARY_HEADER_BYTES = 6
TM_DATA_HEADER_BYTES = 10
TC_DATA_HEADER_BYTES = 4
#: Primary + TM data-field header.
TM_HEADERS_BYTES = PRIMARY_HEADER_BYTES + TM_DATA_HEADER_BYTES
#: Primary + TC data-field header.
TC_HEADERS_BYTES = PRIMARY_HEADER_BYTES + TC_DATA_HEADER_BYTES
#: Bytes of a packet not counted by ``data_length`` (primary header + 1).
LENGTH_OFFSET = 7

STIX_PROCESS_ID = 90
TC_PACKET_CATEGORY = 12


class SequenceFlag(IntEnum):
    """CCSDS sequence (grouping) flag."""

    CONTINUATION = 0
    MIDDLE = 0  # alias of CONTINUATION
    FIRST = 1
    LAST = 2
    STANDALONE = 3


_PRIMARY_FIELDS: list[tuple[str, str]] = [
    ("version", "u1"),
    ("packet_type", "u1"),
    ("header_flag", "u1"),
    ("process_id", "u1"),
    ("packet_category", "u1"),
    ("sequence_flag", "u1"),
    ("sequence_count", "u2"),
    ("data_length", "u2"),
]

#: Decoded primary + TM data-field header, one record per packet.
HEADER_DTYPE = np.dtype(
    _PRIMARY_FIELDS
    + [
        ("pus_version", "u1"),
        ("service_type", "u1"),
        ("service_subtype", "u1"),
        ("destination_id", "u1"),
        ("scet_coarse", "u4"),
        ("scet_fine", "u2"),
    ]
)

#: Decoded primary + TC data-field header, one record per packet.
TC_HEADER_DTYPE = np.dtype(
    _PRIMARY_FIELDS
    + [
        ("ccsds_flag", "u1"),
        ("pus_version", "u1"),
        ("ack_request", "u1"),
        ("service_type", "u1"),
        ("service_subtype", "u1"),
        ("source_id", "u1"),
    ]
)


def leading_bytes(
    buffer: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64], nbytes: int
) -> npt.NDArray[np.uint8]:
    """``(N, nbytes)`` ``uint8``: the first ``nbytes`` bytes of every packet, zero past a packet's end.

    Parameters
    ----------
    buffer
        The packets one after the other (as in :class:`stix_lib.decode.bits.BitBuffer`).
    starts, lengths
        Offset and length in bytes of every packet in ``buffer``.
    nbytes
        Bytes wanted per packet.
    """
    if not len(buffer):
        return np.zeros((len(starts), nbytes), dtype=np.uint8)
    columns = np.arange(nbytes)
    where = starts[:, None] + columns
    np.minimum(where, len(buffer) - 1, out=where)  # past the last packet: zeroed below
    raw = buffer[where]
    short = np.flatnonzero(lengths < nbytes)
    if len(short):
        raw[short] = np.where(columns < lengths[short, None], raw[short], 0)
    return raw


def _leading_bytes(packets: Sequence[bytes], nbytes: int, pad: bool = False) -> np.ndarray:
    """Stack the first ``nbytes`` bytes of every packet into an ``(N, nbytes)`` uint8 array.

    With ``pad`` shorter packets are padded with zero bytes, else they raise ``ValueError``.
    """
    if not pad:
        for index, packet in enumerate(packets):
            if len(packet) < nbytes:
                raise ValueError(f"packet {index} has {len(packet)} bytes, fewer than the {nbytes} header bytes")
    heads = [bytes(packet[:nbytes]) for packet in packets]
    lengths = np.fromiter(map(len, heads), dtype=np.int64, count=len(heads))
    buffer = np.frombuffer(b"".join(heads), dtype=np.uint8)
    return leading_bytes(buffer, np.cumsum(lengths) - lengths, lengths, nbytes)


def _decode_primary(raw: np.ndarray, out: np.ndarray) -> None:
    b0, b1, b2 = raw[:, 0], raw[:, 1], raw[:, 2]
    out["version"] = b0 >> 5
    out["packet_type"] = (b0 >> 4) & 0x1
    out["header_flag"] = (b0 >> 3) & 0x1
    out["process_id"] = ((b0 & 0x7) << 4) | (b1 >> 4)
    out["packet_category"] = b1 & 0xF
    out["sequence_flag"] = b2 >> 6
    out["sequence_count"] = ((b2.astype(np.uint16) & 0x3F) << 8) | raw[:, 3]
    out["data_length"] = (raw[:, 4].astype(np.uint16) << 8) | raw[:, 5]


def decode_headers(packets: Sequence[bytes], *, pad_short: bool = False) -> np.ndarray:
    """Decode the CCSDS primary and PUS TM data-field headers of many packets.

    Parameters
    ----------
    packets
        CCSDS packets (ground header already removed), each at least 16 bytes long.
    pad_short
        Decode shorter packets (e.g. STIX TC packets, 10 bytes of headers) as if padded with zero
        bytes instead of raising; the caller must not trust their TM fields.

    Returns
    -------
    numpy.ndarray
        Structured array of dtype :data:`HEADER_DTYPE`, one record per packet.

    Raises
    ------
    ValueError
        If a packet is shorter than 16 bytes and not ``pad_short`` (the message gives its index).
    """
    return decode_header_bytes(_leading_bytes(packets, TM_HEADERS_BYTES, pad_short))


def decode_header_bytes(raw: np.ndarray) -> np.ndarray:
    """:func:`decode_headers` of the leading bytes of the packets, already stacked.

    Parameters
    ----------
    raw
        ``(N, 16)`` ``uint8``: the first :data:`TM_HEADERS_BYTES` bytes of every packet.

    Returns
    -------
    numpy.ndarray
        Structured array of dtype :data:`HEADER_DTYPE`, one record per row of ``raw``.
    """
    out = np.zeros(len(raw), dtype=HEADER_DTYPE)
    if not len(raw):
        return out
    _decode_primary(raw, out)
    out["pus_version"] = (raw[:, 6] >> 4) & 0x7
    out["service_type"] = raw[:, 7]
    out["service_subtype"] = raw[:, 8]
    out["destination_id"] = raw[:, 9]
    coarse = raw[:, 10:14].astype(np.uint32)
    out["scet_coarse"] = (coarse[:, 0] << 24) | (coarse[:, 1] << 16) | (coarse[:, 2] << 8) | coarse[:, 3]
    out["scet_fine"] = (raw[:, 14].astype(np.uint16) << 8) | raw[:, 15]
    return out


def decode_tc_headers(packets: Sequence[bytes]) -> np.ndarray:
    """Decode the CCSDS primary and PUS TC data-field headers of many TC packets.

    Parameters
    ----------
    packets
        CCSDS TC packets, each at least 10 bytes long.

    Returns
    -------
    numpy.ndarray
        Structured array of dtype :data:`TC_HEADER_DTYPE`, one record per packet
        (``ccsds_flag:1, pus_version:3, ack_request:4, service_type:8, service_subtype:8,
        source_id:8``).

    Raises
    ------
    ValueError
        If a packet is shorter than 10 bytes.
    """
    raw = _leading_bytes(packets, TC_HEADERS_BYTES)
    out = np.zeros(len(packets), dtype=TC_HEADER_DTYPE)
    if not len(packets):
        return out
    _decode_primary(raw, out)
    out["ccsds_flag"] = raw[:, 6] >> 7
    out["pus_version"] = (raw[:, 6] >> 4) & 0x7
    out["ack_request"] = raw[:, 6] & 0xF
    out["service_type"] = raw[:, 7]
    out["service_subtype"] = raw[:, 8]
    out["source_id"] = raw[:, 9]
    return out


def apid(headers: np.ndarray) -> np.ndarray:
    """Application process id ``process_id << 4 | packet_category`` (uint16 array)."""
    return (headers["process_id"].astype(np.uint16) << 4) | headers["packet_category"]


def packet_id(headers: np.ndarray) -> np.ndarray:
    """CCSDS packet id ``version << 13 | packet_type << 12 | header_flag << 11 | apid``."""
    return (
        (headers["version"].astype(np.uint16) << 13)
        | (headers["packet_type"].astype(np.uint16) << 12)
        | (headers["header_flag"].astype(np.uint16) << 11)
        | apid(headers)
    )


def is_tc(headers: np.ndarray) -> np.ndarray:
    """True where a packet is a STIX TC (``process_id == 90`` and ``packet_category == 12``)."""
    return (headers["process_id"] == STIX_PROCESS_ID) & (headers["packet_category"] == TC_PACKET_CATEGORY)


def packet_length_problem(packet: bytes) -> str | None:
    """Check one CCSDS packet against its own length field.

    Parameters
    ----------
    packet
        The packet bytes (ground header removed).

    Returns
    -------
    str or None
        ``None`` when the packet is long enough for its headers (16 bytes for TM, 10 for a STIX
        TC) and its length equals ``data_length + 7``; otherwise the reason it is not.
    """
    size = len(packet)
    if size < PRIMARY_HEADER_BYTES:
        return f"packet has {size} bytes, shorter than the {PRIMARY_HEADER_BYTES}-byte CCSDS primary header"
    process_id = ((packet[0] & 0x7) << 4) | (packet[1] >> 4)
    tc = process_id == STIX_PROCESS_ID and (packet[1] & 0xF) == TC_PACKET_CATEGORY
    needed = TC_HEADERS_BYTES if tc else TM_HEADERS_BYTES
    if size < needed:
        kind = "TC" if tc else "TM"
        return f"packet has {size} bytes, shorter than the {needed}-byte CCSDS + PUS {kind} headers"
    expected = ((packet[4] << 8) | packet[5]) + LENGTH_OFFSET
    if size != expected:
        relation = "shorter" if size < expected else "longer"
        return (
            f"packet has {size} bytes, {relation} than its length field says "
            f"(data_length + {LENGTH_OFFSET} = {expected})"
        )
    return None
