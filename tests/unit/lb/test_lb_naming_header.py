"""LB file names, folders, primary header and packet sequences."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix_lib.lb import extract_sequences, lb_directory, lb_file_name, lb_primary_header, parse_lb_file_name


def test_daily_names() -> None:
    assert lb_file_name(21, 6, 20, version=1, day=0) == "solo_LB_stix-21-6-20_0000000000_V01.fits"
    assert lb_file_name(21, 6, 30, version=1, day=664156800 // 86400) == "solo_LB_stix-21-6-30_0664156800_V01.fits"
    assert lb_file_name(1, 1, None, version=2, day=1) == "solo_LB_stix-1-1_0000086400_V02.fits"


def test_request_names() -> None:
    assert (
        lb_file_name(21, 6, 20, version=1, request=(123, 45678))
        == "solo_LB_stix-21-6-20_0000000000-9999999999_V01_0000045678-00123.fits"
    )
    assert (
        lb_file_name(21, 6, 21, version=2, request=(53879, 2312148821))
        == "solo_LB_stix-21-6-21_0000000000-9999999999_V02_2312148821-53879.fits"
    )
    with pytest.raises(ValueError):
        lb_file_name(21, 6, 21, version=2)
    with pytest.raises(ValueError):
        lb_file_name(21, 6, 21, version=2, day=1, request=(1, 2))


def test_parse_round_trip() -> None:
    name = lb_file_name(21, 6, 24, version=2, request=(51667, 1266516544))
    assert parse_lb_file_name(name) == {
        "service_type": 21,
        "service_subtype": 6,
        "ssid": 24,
        "version": 2,
        "day": None,
        "psc": 51667,
        "rid": 1266516544,
    }
    assert parse_lb_file_name(lb_file_name(3, 25, 2, version=2, day=7412))["day"] == 7412
    assert parse_lb_file_name(lb_file_name(1, 7, None, version=2, day=3))["ssid"] is None
    with pytest.raises(ValueError):
        parse_lb_file_name("solo_L1_stix-hk-maxi_20200501_V01.fits")


def test_directories() -> None:
    assert lb_directory(Path("/a"), 21, 6, 30) == Path("/a/LB/21/6/30")
    assert lb_directory(Path("/a"), 1, 7, None) == Path("/a/LB/1/7")


def test_primary_header() -> None:
    header = lb_primary_header(
        filename="x.fits",
        service_type=21,
        service_subtype=6,
        ssid=21,
        version=2,
        obt_begin=(640000000, 5),
        obt_end=(640000100, 65535),
        raw_files=["b.xml", "a.xml", "b.xml"],
        vers_cfg="v0.1.10",
        request=(53879, 2312148821),
        date="2024-01-01T00:00:00.000",
    )
    assert header["FILENAME"] == "x.fits"
    assert header["RAW_FILE"] == header["PARENT"] == "a.xml;b.xml"
    assert (header["LEVEL"], header["TIMESYS"], header["VERSION"]) == ("LB", "OBT", "02")
    assert (header["OBT_BEG"], header["OBT_END"]) == ("0640000000:00005", "0640000100:65535")
    assert header["DATE-OBS"] == header["DATE-BEG"] == "0640000000:00005"
    assert header["DATE-END"] == "0640000100:65535"
    assert (header["STYPE"], header["SSTYPE"], header["SSID"]) == (21, 6, 21)
    assert (header["SCI_RID"], header["SCI_TCC"]) == ("2312148821", "53879")
    assert header["VERS_CFG"] == "v0.1.10" and header["DATE"] == "2024-01-01T00:00:00.000"
    for keyword in ("ORIGIN", "CREATOR", "VERS_SW", "OBSRVTRY", "TELESCOP", "INSTRUME"):
        assert header[keyword]
    assert "Processed by stix_lib LB" in str(header["HISTORY"])
    plain = lb_primary_header(
        filename="y.fits",
        service_type=1,
        service_subtype=1,
        ssid=None,
        version=2,
        obt_begin=(1, 0),
        obt_end=(1, 0),
        raw_files=["a.xml"],
    )
    # processing spec §3.4: STIXCore formats the boolean request id of non-request LB files
    assert (plain["SSID"], plain["SCI_RID"], plain["SCI_TCC"]) == ("", "0000000000", "")
    # processing spec §6.2: BLANK follows DATE; VERSION is the processing version (§6.1)
    keys = list(header.keys())
    assert keys.index("BLANK") == keys.index("DATE") + 1 and header["BLANK"] == 2**32 - 1


def test_sequences_walk_flags() -> None:
    # standalone, FIRST-MIDDLE-LAST, orphan MIDDLE, orphan LAST
    flags = [3, 1, 0, 2, 0, 0, 2, 2]
    counts = [10, 11, 12, 13, 20, 21, 22, 30]
    sequences = extract_sequences(flags, counts)
    assert [s.rows for s in sequences] == [(0,), (1, 2, 3), (4, 5, 6), (7,)]
    assert [s.complete for s in sequences] == [True, True, False, False]


def test_sequences_count_span_rule() -> None:
    assert extract_sequences([1, 0, 0, 2], [100, 101, 102, 103])[0].complete
    assert extract_sequences([1, 0, 0, 2], [100, 101, 103, 104])[0].complete  # a gap
    # more packets than the count span allows (span 2 < 4 - 1)
    assert not extract_sequences([1, 0, 0, 2], [5, 5, 5, 6])[0].complete
    assert extract_sequences([1, 0, 2], [5, 5, 6])[0].complete  # span 2 >= 3 - 1
    # 14-bit counter wrap: 16382, 16383, 0, 1 -> last + max = 16384 -> span 3
    assert extract_sequences([1, 0, 0, 2], [16382, 16383, 0, 1])[0].complete
    assert not extract_sequences([1, 0, 0, 0, 0, 2], [16382, 16383, 0, 1, 1, 0])[0].complete
    assert not extract_sequences([1, 0, 0], [1, 2, 3])[0].complete  # no LAST
    assert extract_sequences([], []) == []


def test_sequences_whole_product_types() -> None:
    sequences = extract_sequences([0, 0, 2], [5, 9, 1], key=(21, 6, 30))
    assert [(s.rows, s.complete) for s in sequences] == [((0, 1, 2), True)]
    assert len(extract_sequences([3, 3], [1, 2], key=(21, 6, 21))) == 2
