"""Completeness of science request sequences: explained gaps, 14-bit wrap, missing packets."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from stix_lib.decode.batch import decode_packets
from stix_lib.dev.simulate.reference import encode_reference
from stix_lib.idb.manager import IDBManager
from stix_lib.lb.request_sequences import (
    COUNT_MODULUS,
    count_steps,
    is_complete_sequence,
    missing_counts,
    request_sequences,
)
from stix_lib.lb.sequences import FIRST, LAST, MIDDLE, STANDALONE, extract_sequences
from stix_lib.tm.xml_reader import read_packets

SCIENCE = {"sci-xray-rpd": 20, "sci-xray-cpd": 21, "sci-xray-scpd": 22}


def flags_of(n: int) -> list[int]:
    """Grouping flags of a request of ``n`` packets."""
    return [STANDALONE] if n == 1 else [FIRST] + [MIDDLE] * (n - 2) + [LAST]


def test_consecutive_counts_are_complete() -> None:
    assert is_complete_sequence(flags_of(5), [100, 101, 102, 103, 104])
    assert is_complete_sequence([STANDALONE], [7])
    assert is_complete_sequence([FIRST, LAST], [7, 8])


def test_a_missing_count_makes_the_request_incomplete_unless_tolerated() -> None:
    assert not is_complete_sequence(flags_of(4), [10, 11, 13, 14])  # a lost middle packet (issue 16)
    assert is_complete_sequence(flags_of(4), [10, 11, 13, 14], tolerance=1)  # the reference's leniency
    assert not is_complete_sequence(flags_of(4), [10, 11, 14, 15], tolerance=1)  # two counts missing at once
    assert not is_complete_sequence(flags_of(5), [10, 12, 13, 15, 16], tolerance=1)  # two separate gaps
    assert is_complete_sequence(flags_of(4), [10, 11, 14, 15], tolerance=2)


def test_a_gap_explained_by_a_packet_of_another_type_is_complete() -> None:
    times = np.array([100, 200, 300, 400]) << 16
    other = {12: 250 << 16}  # another type's packet of the same APID took count 12 at t=250

    def explain(missing, before, after):
        return np.array([c in other and b < other[c] < a for c, b, a in zip(missing, before, after, strict=True)])

    assert is_complete_sequence(flags_of(4), [10, 11, 12 + 1, 14], times=times, explain=explain)
    assert not is_complete_sequence(flags_of(4), [10, 12, 13, 14], times=times, explain=explain)  # 11 unexplained
    late = {12: 350 << 16}  # count 12 sent after the packet following the gap: not in it
    assert not is_complete_sequence(
        flags_of(4), [10, 11, 13, 14], times=times, explain=lambda m, b, a: np.array([b[0] < late[12] < a[0]])
    )
    report = request_sequences(flags_of(4), [10, 12, 13, 14], (21, 6, 21), times=times, explain=explain)
    (incomplete,) = report.incomplete
    assert "1 sequence counts missing (11), 1 not explained" in incomplete.reason


def test_missing_middle_packet_beyond_tolerance_is_detected() -> None:
    # FIRST 10, MIDDLE 11, (12, 13, 14 lost), LAST 15: the reference formula calls it complete
    flags, counts = flags_of(3), [10, 11, 15]
    (legacy,) = extract_sequences(flags, counts, (21, 6, 21))
    assert legacy.complete
    assert not is_complete_sequence(flags, counts)
    report = request_sequences(flags, counts, (21, 6, 21))
    assert report.complete == []
    (incomplete,) = report.incomplete
    assert incomplete.rows == (0, 1, 2)
    assert (incomplete.first_count, incomplete.last_count) == (10, 15)
    assert "3 sequence counts missing" in incomplete.reason
    (line,) = report.messages("sci-xray-cpd")
    assert line.startswith("sci-xray-cpd: incomplete sequence of 3 packets (counts 10..15)")


def test_14_bit_wrap() -> None:
    top = COUNT_MODULUS - 1
    assert count_steps([top - 1, top, 0, 1]).tolist() == [1, 1, 1]
    assert is_complete_sequence(flags_of(4), [top - 1, top, 0, 1])
    assert is_complete_sequence(flags_of(4), [top - 1, top, 1, 2], tolerance=1)  # the gap at the wrap
    assert is_complete_sequence(flags_of(4), [top - 1, 0, 1, 2], tolerance=1)  # 16383 missing
    assert not is_complete_sequence(flags_of(4), [top - 1, 1, 2, 3], tolerance=1)  # 16383 and 0 missing
    assert missing_counts([top, 2]) == 2


def test_duplicates_and_bad_flags_are_incomplete() -> None:
    assert missing_counts([5, 5, 6]) == -1
    assert not is_complete_sequence(flags_of(3), [5, 5, 6])
    assert not is_complete_sequence([MIDDLE, MIDDLE, LAST], [1, 2, 3])  # FIRST lost
    assert not is_complete_sequence([FIRST, MIDDLE], [1, 2])  # LAST not yet delivered
    assert not is_complete_sequence([LAST], [1])
    assert not is_complete_sequence([], [])


def test_report_splits_requests() -> None:
    flags = flags_of(3) + [STANDALONE] + flags_of(4) + [FIRST, MIDDLE]
    counts = [1, 2, 3, 4, 5, 6, 7, 10, 11, 12]
    report = request_sequences(flags, counts, (21, 6, 20))
    assert [s.rows for s in report.complete] == [(0, 1, 2), (3,)]
    assert [(s.rows, s.reason) for s in report.incomplete] == [
        ((4, 5, 6, 7), "2 sequence counts missing (8, 9), 2 not explained by packets of other types of the same APID"
                       " (tolerated: 0)"),
        ((8, 9), "does not end with a LAST packet"),
    ]
    assert report.complete_rows.tolist() == [0, 1, 2, 3]


def test_whole_product_types_stay_one_complete_sequence() -> None:
    report = request_sequences([MIDDLE, MIDDLE], [1, 9], (21, 6, 30))
    assert [s.rows for s in report.complete] == [(0, 1)] and report.incomplete == []


@pytest.fixture(scope="module")
def science_headers(
    tmp_path_factory: pytest.TempPathFactory, reference_data: Path, idb_dir: Path, idb_manager: IDBManager
) -> dict[int, np.ndarray]:
    """CCSDS headers of the packets of the reference rpd/cpd/scpd requests re-encoded as TM."""
    source = tmp_path_factory.mktemp("science-l1")
    for path in (reference_data / "reference" / "l1").glob("solo_L1_stix-sci-xray-*pd_*.fits"):
        shutil.copy(path, source / path.name)
    encoding = encode_reference(source, tmp_path_factory.mktemp("science-tm"), idb_dir)
    assert encoding.skipped == {}
    out: dict[int, np.ndarray] = {}
    for path in encoding.tm_files:
        packets, errors = read_packets(path)
        assert errors == []
        result = decode_packets(packets, idb_manager)
        assert result.errors == []
        (key,) = result.groups  # one request of one packet type per file
        assert key[:2] == (21, 6) and key[2] in SCIENCE.values()
        out[key[2]] = result.index.headers
    return out


def test_reference_requests_are_complete_and_a_lost_packet_is_reported(science_headers) -> None:
    assert set(science_headers) == set(SCIENCE.values())
    for ssid, headers in science_headers.items():
        flags = np.asarray(headers["sequence_flag"])
        counts = np.asarray(headers["sequence_count"])
        report = request_sequences(flags, counts, (21, 6, ssid))
        assert report.incomplete == [] and len(report.complete) == 1, ssid
        assert report.complete_rows.tolist() == list(range(len(flags)))
        assert len(flags) >= 4  # FIRST, two MIDDLE to lose, LAST (the reference: rpd/scpd 6, cpd 16 packets)
        keep = np.ones(len(flags), dtype=bool)
        keep[[1, 2]] = False  # two middle packets lost
        lost = request_sequences(flags[keep], counts[keep], (21, 6, ssid))
        assert lost.complete == [] and len(lost.incomplete) == 1
        assert extract_sequences(flags[keep], counts[keep], (21, 6, ssid))[0].complete  # the legacy formula
        keep = np.ones(len(flags), dtype=bool)
        keep[1] = False  # one middle packet lost: no packet of another type explains it (issue 16)
        one_lost = request_sequences(flags[keep], counts[keep], (21, 6, ssid))
        assert one_lost.complete == [] and len(one_lost.incomplete) == 1
        assert len(request_sequences(flags[keep], counts[keep], (21, 6, ssid), tolerance=1).complete) == 1
