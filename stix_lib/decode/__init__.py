"""Packet decoding: IDB layouts, vectorised parameter extraction, decompression, calibration.

Modules: :mod:`~stix_lib.decode.layout` (IDB structure -> layout), :mod:`~stix_lib.decode.bits`
(bit extraction), :mod:`~stix_lib.decode.decoder` (decode one layout), :mod:`~stix_lib.decode.classify`
(SSID, IDB version, request id per packet), :mod:`~stix_lib.decode.batch` (decode a mixed stream),
:mod:`~stix_lib.decode.compression` and :mod:`~stix_lib.decode.skm` (decompression),
:mod:`~stix_lib.decode.engineering` (raw -> engineering).
"""

from stix_lib.decode.batch import DecodeResult, decode_packets
from stix_lib.decode.bits import BitBuffer
from stix_lib.decode.classify import BSD_SSIDS, NO_SSID, PacketIndex, classify_packets, request_ids
from stix_lib.decode.compression import CompressionError, compress, decompress
from stix_lib.decode.decoder import DecodedPackets, decode_layout
from stix_lib.decode.engineering import CalibrationError, EngineeringValues, calibrate, evaluate_curve
from stix_lib.decode.layout import (
    FixedLayout,
    LayoutError,
    Node,
    PacketKey,
    PacketLayout,
    VariableLayout,
    compile_layout,
    get_layout,
)
from stix_lib.decode.skm import COMPRESSED_PARAMETERS, SKM_GROUPS, compression_sources, decompress_packets

__all__ = [
    "BSD_SSIDS",
    "COMPRESSED_PARAMETERS",
    "NO_SSID",
    "SKM_GROUPS",
    "BitBuffer",
    "CalibrationError",
    "CompressionError",
    "DecodeResult",
    "DecodedPackets",
    "EngineeringValues",
    "FixedLayout",
    "LayoutError",
    "Node",
    "PacketIndex",
    "PacketKey",
    "PacketLayout",
    "VariableLayout",
    "calibrate",
    "classify_packets",
    "compile_layout",
    "compress",
    "compression_sources",
    "decode_layout",
    "decode_packets",
    "decompress",
    "decompress_packets",
    "evaluate_curve",
    "get_layout",
    "request_ids",
]
