"""TM -> LB streams a file in batches: same archive as one pass, bounded batches, truncation."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from stix_lib.idb import IDBManager
from stix_lib.lb import convert, read_lb, tm_to_lb
from stix_lib.tm import RawPacket, TelemetryFileError, iter_packet_batches, read_packets
from tests.support.lb_support import shifted, snapshot


@pytest.fixture(scope="module")
def manager(reference_data: Path) -> IDBManager:
    return IDBManager(reference_data / "idb")


@pytest.fixture(scope="module")
def moc(reference_data: Path) -> list[RawPacket]:
    packets, _ = read_packets(reference_data / "tm" / "moc_test.PktTmRaw.xml")
    return packets


def _file_with_late_duplicates(tmp_path: Path, moc: list[RawPacket], tm_writer) -> tuple[Path, bytes, bytes]:
    """moc packets over 3 days, shuffled; near the end a changed copy and an exact copy of the first packets."""
    packets = [
        shifted(p.data, seconds=day * 86400 + 1000 * i, count=day * 16 + i)
        for day in range(3)
        for i, p in enumerate(moc)
    ]
    random.Random(5).shuffle(packets)
    first = packets[0]
    changed = bytearray(first)
    changed[-3] ^= 0xFF  # same dedup key (time, sequence count), different content
    packets += [bytes(changed), packets[1]]
    return tm_writer(tmp_path / "late.PktTmRaw.xml", list(enumerate(packets))), first, bytes(changed)


def test_batches_give_the_archive_of_one_pass(
    tmp_path: Path, manager: IDBManager, moc: list, tm_writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tm, first, changed = _file_with_late_duplicates(tmp_path, moc, tm_writer)
    whole = tm_to_lb(tm, tmp_path / "whole", manager)
    calls = []
    original = convert.packets_to_lb
    monkeypatch.setattr(convert, "BATCH_BYTES", 4000)  # a few packets per batch

    def recording(deliveries, *args, **kwargs):
        calls.append(len(deliveries[0][1]))
        return original(deliveries, *args, **kwargs)

    monkeypatch.setattr(convert, "packets_to_lb", recording)
    batched = tm_to_lb(tm, tmp_path / "batched", manager)
    assert len(calls) > 10 and max(calls) <= 4000 // min(len(p.data) for p in moc) + 1
    assert snapshot(tmp_path / "batched") == snapshot(tmp_path / "whole")
    assert batched.written and batched.unchanged == []
    assert sorted(p.name for p in batched.written) == sorted(p.name for p in whole.written)
    for field in ("packets_read", "packets_used", "duplicates", "by_type"):
        assert getattr(batched, field) == getattr(whole, field), field
    assert whole.duplicates == 2
    # the first occurrence in the file wins, whatever batch the later copy falls in
    kept = [d for p in batched.written for d in read_lb(p).data]
    assert first in kept and changed not in kept


def test_truncated_file_converts_its_earlier_batches(
    tmp_path: Path, manager: IDBManager, moc: list, tm_writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tm, _, _ = _file_with_late_duplicates(tmp_path, moc, tm_writer)
    text = tm.read_bytes()
    cut = text.rindex(b"<PktRawResponseElement", 0, len(text) * 2 // 3) + 40  # mid-element, 2/3 into the file
    tm.write_bytes(text[:cut])
    complete = text[:cut].count(b"</PktRawResponseElement>")
    monkeypatch.setattr(convert, "BATCH_BYTES", 4000)
    batches = iter_packet_batches(tm, 4000)
    seen = 0
    with pytest.raises(TelemetryFileError) as caught:
        for packets, errors in batches:
            assert not errors
            seen += len(packets)
            assert seen < complete  # batches come before the broken part is reached
    assert caught.value.truncated and seen + len(caught.value.packets) == complete
    result = tm_to_lb(tm, tmp_path / "arch", manager)
    assert len(result.truncated) == 1 and "truncated" in result.truncated[0]
    assert sum(len(read_lb(p)) for p in result.written) == complete
