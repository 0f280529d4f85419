"""CCSDS/PUS header decoding: worked example, real packets, and a bit-by-bit cross-check."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stix_lib.tm.headers import (
    HEADER_DTYPE,
    SequenceFlag,
    apid,
    decode_headers,
    decode_tc_headers,
    is_tc,
    packet_id,
    packet_length_problem,
)
from stix_lib.tm.hex_dump import read_hex_dump
from stix_lib.tm.xml_reader import read_packets

WORKED_EXAMPLE = bytes.fromhex("0da1c066000d100101782628a9c4e71e1dacc0a0")
#: A real STIX TC fragment (service 236/1), 14 bytes.
TC_EXAMPLE = bytes.fromhex("1dacc1da000719ec010003000b3d")


def _bits(data: bytes, start: int, width: int) -> int:
    """Independent reference: read ``width`` bits from bit ``start`` of a big-endian byte string."""
    value = int.from_bytes(data, "big")
    total = len(data) * 8
    return (value >> (total - start - width)) & ((1 << width) - 1)


TM_LAYOUT = {
    "version": (0, 3),
    "packet_type": (3, 1),
    "header_flag": (4, 1),
    "process_id": (5, 7),
    "packet_category": (12, 4),
    "sequence_flag": (16, 2),
    "sequence_count": (18, 14),
    "data_length": (32, 16),
    "pus_version": (49, 3),
    "service_type": (56, 8),
    "service_subtype": (64, 8),
    "destination_id": (72, 8),
    "scet_coarse": (80, 32),
    "scet_fine": (112, 16),
}
TC_LAYOUT = {name: TM_LAYOUT[name] for name in list(TM_LAYOUT)[:8]} | {
    "ccsds_flag": (48, 1),
    "pus_version": (49, 3),
    "ack_request": (52, 4),
    "service_type": (56, 8),
    "service_subtype": (64, 8),
    "source_id": (72, 8),
}


def test_worked_example() -> None:
    header = decode_headers([WORKED_EXAMPLE])[0]
    assert header["version"] == 0
    assert header["packet_type"] == 0
    assert header["header_flag"] == 1
    assert header["process_id"] == 90
    assert header["packet_category"] == 1
    assert apid(decode_headers([WORKED_EXAMPLE]))[0] == 0x5A1
    assert header["sequence_flag"] == SequenceFlag.STANDALONE
    assert header["sequence_count"] == 0x66
    assert header["data_length"] == 13
    assert header["data_length"] + 7 == len(WORKED_EXAMPLE) == 20
    assert header["pus_version"] == 1
    assert (header["service_type"], header["service_subtype"]) == (1, 1)
    assert header["destination_id"] == 0x78
    assert (header["scet_coarse"], header["scet_fine"]) == (640199108, 59166)
    assert packet_length_problem(WORKED_EXAMPLE) is None
    assert packet_id(decode_headers([WORKED_EXAMPLE]))[0] == 0x0DA1


def test_sequence_flag_values() -> None:
    assert SequenceFlag.STANDALONE == 3
    assert SequenceFlag.FIRST == 1
    assert SequenceFlag.LAST == 2
    assert SequenceFlag.CONTINUATION == SequenceFlag.MIDDLE == 0


def test_tc_header_of_real_tc_fragment() -> None:
    headers = decode_tc_headers([TC_EXAMPLE])
    assert apid(headers)[0] == 1452
    assert is_tc(headers)[0]
    tc = headers[0]
    assert (tc["packet_type"], tc["header_flag"], tc["sequence_flag"], tc["sequence_count"]) == (1, 1, 3, 0x1DA)
    assert tc["data_length"] + 7 == len(TC_EXAMPLE)
    assert (tc["ccsds_flag"], tc["pus_version"], tc["ack_request"]) == (0, 1, 9)
    assert (tc["service_type"], tc["service_subtype"], tc["source_id"]) == (236, 1, 0)
    # a 14-byte TC is complete although it is shorter than the 16 TM header bytes
    assert packet_length_problem(TC_EXAMPLE) is None
    assert not is_tc(decode_headers([WORKED_EXAMPLE]))[0]


@given(st.lists(st.binary(min_size=16, max_size=24), min_size=1, max_size=40))
def test_vectorised_decode_matches_bit_reader(packets: list[bytes]) -> None:
    headers = decode_headers(packets)
    tc_headers = decode_tc_headers(packets)
    for index, packet in enumerate(packets):
        for name, (start, width) in TM_LAYOUT.items():
            assert headers[name][index] == _bits(packet[:16], start, width), name
        for name, (start, width) in TC_LAYOUT.items():
            assert tc_headers[name][index] == _bits(packet[:10], start, width), name


def test_decode_headers_edge_cases() -> None:
    empty = decode_headers([])
    assert empty.dtype == HEADER_DTYPE and empty.shape == (0,)
    with pytest.raises(ValueError, match="packet 1 has 15 bytes"):
        decode_headers([WORKED_EXAMPLE, WORKED_EXAMPLE[:15]])
    # memoryviews/bytearrays work as well as bytes
    assert decode_headers([bytearray(WORKED_EXAMPLE)])[0]["scet_coarse"] == 640199108


def test_packet_length_problem_messages() -> None:
    assert "shorter than the 6-byte" in packet_length_problem(WORKED_EXAMPLE[:4])
    assert "shorter than the 16-byte CCSDS + PUS TM headers" in packet_length_problem(WORKED_EXAMPLE[:12])
    shorter = packet_length_problem(WORKED_EXAMPLE[:-1])
    assert "19 bytes, shorter than its length field" in shorter and "= 20" in shorter
    assert "21 bytes, longer than its length field" in packet_length_problem(WORKED_EXAMPLE + b"\0")


def test_moc_test_packet_headers(reference_data) -> None:
    packets, errors = read_packets(reference_data / "tm" / "moc_test.PktTmRaw.xml")
    assert errors == []
    headers = decode_headers([p.data for p in packets])
    assert len(headers) == 16
    assert set(apid(headers)) == {1500}
    assert not is_tc(headers).any()
    assert set(headers["service_type"]) == {21} and set(headers["service_subtype"]) == {6}
    assert set(headers["sequence_flag"]) == {SequenceFlag.STANDALONE}
    assert list(headers["sequence_count"]) == list(range(8)) * 2
    assert np.array_equal(headers["data_length"].astype(int) + 7, [len(p.data) for p in packets])
    assert headers["scet_coarse"].min() == 628184120 and headers["scet_coarse"].max() == 628189995
    ssids = Counter(p.data[16] for p in packets)  # PI1 = first data byte for 21/6
    assert ssids == {41: 4, 43: 2, 33: 2, 30: 2, 31: 2, 34: 2, 32: 2}


def test_esa_2018_packet_services(reference_data) -> None:
    packets = read_hex_dump(reference_data / "tm" / "esa_2018_packets.hex")
    headers = decode_headers([p.data for p in packets])
    assert len(headers) == 426
    services = Counter(zip(headers["service_type"].tolist(), headers["service_subtype"].tolist(), strict=True))
    assert services == {(3, 25): 333, (1, 1): 26, (1, 7): 26, (5, 1): 32, (5, 2): 8, (6, 6): 1}
    hk = [p for p, h in zip(packets, headers, strict=True) if (h["service_type"], h["service_subtype"]) == (3, 25)]
    hk_kinds = Counter((p.data[16], len(p.data)) for p in hk)  # SSID 2 = maxi, 1 = mini
    assert hk_kinds == {(2, 107): 329, (1, 48): 4}
    assert set(headers["process_id"]) == {90}
    assert not is_tc(headers).any()
