"""Telemetry input: SOC/EDDS XML and hex-dump readers, CCSDS/PUS header decoding."""

from stix_lib.tm.errors import PacketError, TelemetryFileError
from stix_lib.tm.headers import (
    HEADER_DTYPE,
    TC_HEADER_DTYPE,
    SequenceFlag,
    apid,
    decode_headers,
    decode_tc_headers,
    is_tc,
)
from stix_lib.tm.xml_reader import (
    GROUND_HEADER_BYTES,
    FileKind,
    RawPacket,
    iter_packet_batches,
    iter_packets,
    read_hex_dump,
    read_packets,
    sniff_kind,
)

__all__ = [
    "GROUND_HEADER_BYTES",
    "HEADER_DTYPE",
    "TC_HEADER_DTYPE",
    "FileKind",
    "PacketError",
    "RawPacket",
    "SequenceFlag",
    "TelemetryFileError",
    "apid",
    "decode_headers",
    "decode_tc_headers",
    "is_tc",
    "iter_packet_batches",
    "iter_packets",
    "read_hex_dump",
    "read_packets",
    "sniff_kind",
]
