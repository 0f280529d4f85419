"""TM XML -> Level Binary FITS: content, splitting, merging, order independence, error isolation."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from stix_lib import atomic
from stix_lib.decode import get_layout
from stix_lib.decode.encoder import encode_packet
from stix_lib.idb import IDBManager
from stix_lib.lb import fits_io, read_lb, tm_to_lb, tms_to_lb
from stix_lib.tm import read_packets
from tests.support.lb_support import shifted, snapshot

CONTROL_COLUMNS = [
    "version", "packet_type", "header_flag", "process_id", "packet_category", "sequence_flag",
    "sequence_count", "data_length", "pus_version", "service_type", "service_subtype", "destination_id",
    "scet_coarse", "scet_fine", "raw_file", "packet", "request_id", "index", "ssid", "time_sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def manager(reference_data: Path) -> IDBManager:
    return IDBManager(reference_data / "idb")


@pytest.fixture(scope="module")
def moc(reference_data: Path) -> list:
    packets, _ = read_packets(reference_data / "tm" / "moc_test.PktTmRaw.xml")
    return packets


def test_moc_test_to_lb(tmp_path: Path, reference_data: Path, manager: IDBManager, moc: list) -> None:
    tm = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    result = tm_to_lb(tm, tmp_path, manager, version=2, vers_cfg="v0.1.10")
    assert result.ok and result.packets_read == 16 and result.packets_used == 16
    assert result.by_type == {(21, 6, s): n for s, n in {30: 2, 31: 2, 32: 2, 33: 2, 34: 2, 41: 4, 43: 2}.items()}
    names = sorted(p.relative_to(tmp_path).as_posix() for p in result.written)
    assert names == [f"LB/21/6/{s}/solo_LB_stix-21-6-{s}_0628128000_V02.fits" for s in (30, 31, 32, 33, 34, 41, 43)]
    lc = tmp_path / "LB/21/6/30/solo_LB_stix-21-6-30_0628128000_V02.fits"
    with fits.open(lc, checksum=True) as hdul:  # checksum=True verifies CHECKSUM/DATASUM
        assert [h.name for h in hdul] == ["PRIMARY", "CONTROL", "DATA"]
        header = hdul[0].header
        assert header["FILENAME"] == lc.name and header["RAW_FILE"] == tm.name
        assert (header["LEVEL"], header["TIMESYS"], header["VERSION"], header["VERS_CFG"]) == (
            "LB", "OBT", "02", "v0.1.10",
        )  # fmt: skip
        assert header["OBT_BEG"] == "0628186276:03236" and header["OBT_END"] == "0628189995:37750"
        assert "CHECKSUM" in hdul[1].header and "DATASUM" in hdul[2].header
    control = Table.read(lc, hdu="CONTROL")
    data = Table.read(lc, hdu="DATA")
    assert control.colnames == CONTROL_COLUMNS
    assert data.colnames == ["control_index", "data"]
    originals = {p.packet_id: p.data for p in moc}
    for row, hex_row in zip(control, data, strict=True):
        packet = bytes.fromhex(hex_row["data"])
        assert packet == originals[int(row["packet"])]
        assert len(hex_row["data"]) // 2 == row["data_length"] + 7
        assert row["ssid"] == 30 and row["request_id"] == False  # noqa: E712
        assert row["time_sync"] and row["raw_file"] == tm.name
    assert control["index"].tolist() == [0, 1] == data["control_index"].tolist()


def test_rerun_changes_nothing(tmp_path: Path, reference_data: Path, manager: IDBManager) -> None:
    tm = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    first = tm_to_lb(tm, tmp_path, manager)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in first.written}
    again = tm_to_lb(tm, tmp_path, manager)
    assert again.written == [] and sorted(again.unchanged) == sorted(first.written)
    assert again.duplicates == 16
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in first.written} == before


def _deliveries(tmp_path: Path, tm_writer, moc: list) -> list[Path]:
    """Five XML files: moc packets spread over 3 days, with overlaps between files."""
    packets = []
    for day in range(3):
        for i, p in enumerate(moc):
            packets.append(shifted(p.data, seconds=day * 86400 + 1000 * i, count=(day * 16 + i) % 16384))
    rng = random.Random(7)
    rng.shuffle(packets)  # not time ordered
    files = []
    for n in range(5):
        chunk = packets[n * 10 : n * 10 + 14]  # 4 packets overlap with the next file
        files.append(tm_writer(tmp_path / f"f{n}.PktTmRaw.xml", [(k, d) for k, d in enumerate(chunk)]))
    return files


def test_delivery_order_and_batching_do_not_matter(tmp_path: Path, manager: IDBManager, moc: list, tm_writer) -> None:
    files = _deliveries(tmp_path, tm_writer, moc)
    one_by_one, all_at_once, shuffled = (tmp_path / n for n in ("a", "b", "c"))
    for f in files:
        tm_to_lb(f, one_by_one, manager)
    tms_to_lb(files, all_at_once, manager)
    order = files[:]
    random.Random(3).shuffle(order)
    for f in order:
        tm_to_lb(f, shuffled, manager)
    reference = snapshot(one_by_one)
    assert len(reference) == 3 * 7  # 7 packet types x 3 days
    assert snapshot(all_at_once) == reference
    assert snapshot(shuffled) == reference
    lc = read_lb(next(one_by_one.rglob("solo_LB_stix-21-6-30_*.fits")))
    keys = lc.dedup_keys()
    assert np.all(np.diff(keys) > 0)  # canonical order, no duplicates


def test_each_packet_goes_to_its_own_day(tmp_path: Path, manager: IDBManager, moc: list, tm_writer) -> None:
    lc = [p.data for p in moc if p.data[16] == 30]
    day = 86400
    packets = [shifted(lc[0], seconds=0), shifted(lc[1], seconds=day), shifted(lc[0], seconds=5, count=9)]
    tm = tm_writer(tmp_path / "x.PktTmRaw.xml", list(enumerate(packets)))
    result = tm_to_lb(tm, tmp_path / "arch", manager)
    assert result.ok
    counts = {p.name: len(read_lb(p)) for p in result.written}
    assert counts == {"solo_LB_stix-21-6-30_0628128000_V02.fits": 2, "solo_LB_stix-21-6-30_0628214400_V02.fits": 1}


def test_bsd_split_per_request(tmp_path: Path, manager: IDBManager, tm_writer) -> None:
    layout = get_layout(manager.get_idb("2.26.35"), 21, 6, 21)
    t = 700_000_000
    packets = [
        encode_packet(layout, {"NIX00002": 123, "NIX00037": 45678}, coarse=t, sequence_count=1, sequence_flag=1),
        encode_packet(layout, {"NIX00002": 124, "NIX00037": 45679}, coarse=t + 1, sequence_count=2),
        encode_packet(layout, {"NIX00002": 123, "NIX00037": 45678}, coarse=t + 2, sequence_count=3, sequence_flag=2),
        encode_packet(layout, {"NIX00002": 123, "NIX00037": 45678}, coarse=t + 3 + 86400 * 3, sequence_count=4),
    ]
    tm = tm_writer(tmp_path / "bsd.PktTmRaw.xml", list(enumerate(packets)))
    result = tm_to_lb(tm, tmp_path / "arch", manager)
    assert result.ok
    names = sorted(p.name for p in result.written)
    assert names == [
        "solo_LB_stix-21-6-21_0000000000-9999999999_V02_0000045678-00123.fits",
        "solo_LB_stix-21-6-21_0000000000-9999999999_V02_0000045679-00124.fits",
    ]
    path = tmp_path / "arch/LB/21/6/21" / names[0]
    with fits.open(path) as hdul:
        assert (hdul[0].header["SCI_RID"], hdul[0].header["SCI_TCC"]) == ("0000045678", "00123")
    control = Table.read(path, hdu="CONTROL")
    assert control["request_id"].tolist() == [[123, 45678]] * 3  # all days of the request together
    assert control["sequence_flag"].tolist() == [1, 2, 3]


def test_bad_packets_cost_only_themselves(tmp_path: Path, manager: IDBManager, moc: list, tm_writer) -> None:
    good = [p.data for p in moc]
    tc = bytearray(good[3])
    tc[0:2] = ((1 << 12) | (1 << 11) | (90 << 4) | 12).to_bytes(2, "big")  # a TC header
    tm = tm_writer(tmp_path / "mixed.PktTmRaw.xml", [*enumerate(good), (99, bytes(tc))])
    text = tm.read_text().replace(
        '<PktRawResponseElement packetID="5">\n    <Packet>', '<PktRawResponseElement packetID="5">\n    <Packet>zz'
    )
    tm.write_text(text)
    result = tm_to_lb(tm, tmp_path / "arch", manager)
    assert sorted(e.packet_id for e in result.errors) == [5, 99]
    assert result.packets_read == 17 and result.packets_used == 15
    assert sum(len(read_lb(p)) for p in result.written) == 15


def test_newest_delivery_wins(tmp_path: Path, manager: IDBManager, moc: list, tm_writer) -> None:
    lc = next(p.data for p in moc if p.data[16] == 30)
    changed = bytearray(lc)
    changed[40] ^= 0xFF  # same header/dedup key, different content
    old = tm_writer(tmp_path / "old.PktTmRaw.xml", [(1, lc)])
    new = tm_writer(tmp_path / "new.PktTmRaw.xml", [(1, bytes(changed))])
    archive = tmp_path / "arch"
    tm_to_lb(old, archive, manager)
    result = tm_to_lb(new, archive, manager)
    product = read_lb(result.written[0])
    assert product.data == [bytes(changed)] and product.raw_file.tolist() == ["new.PktTmRaw.xml"]
    both = tms_to_lb([old, new], tmp_path / "arch2", manager)
    assert read_lb(both.written[0]).data == [bytes(changed)]


def test_identical_redelivery_is_deterministic(tmp_path: Path, manager: IDBManager, moc: list, tm_writer) -> None:
    lc = next(p.data for p in moc if p.data[16] == 30)
    a = tm_writer(tmp_path / "a.PktTmRaw.xml", [(7, lc)])
    b = tm_writer(tmp_path / "b.PktTmRaw.xml", [(3, lc)])
    tms_to_lb([a, b], tmp_path / "x", manager)
    tms_to_lb([b, a], tmp_path / "y", manager)
    assert snapshot(tmp_path / "x") == snapshot(tmp_path / "y")
    product = read_lb(next((tmp_path / "x").rglob("*.fits")))
    assert product.raw_file.tolist() == ["a.PktTmRaw.xml"] and product.packet.tolist() == [7]


def test_unreadable_existing_file_is_left_alone(tmp_path: Path, reference_data: Path, manager: IDBManager) -> None:
    tm = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    archive = tmp_path / "arch"
    first = tm_to_lb(tm, archive, manager)
    broken = first.written[0]
    broken.write_bytes(b"not a FITS file")
    result = tm_to_lb(tm, archive, manager)
    assert len(result.file_errors) == 1 and broken.name in result.file_errors[0]
    assert broken.read_bytes() == b"not a FITS file"
    assert len(result.unchanged) == 6


def test_inconsistent_existing_file_is_rejected(tmp_path: Path, reference_data: Path, manager: IDBManager) -> None:
    tm = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    archive = tmp_path / "arch"
    path = tm_to_lb(tm, archive, manager).written[0]
    with fits.open(path, mode="update") as hdul:
        hdul["DATA"].data["data"][0] = hdul["DATA"].data["data"][0][:-2]  # one byte short
    with pytest.raises(fits_io.LBFileError, match="length"):
        read_lb(path)


def test_killed_writer_leaves_no_partial_file(
    tmp_path: Path, reference_data: Path, manager: IDBManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    tm = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    archive = tmp_path / "arch"

    def killed(src, dst):  # the process dies after writing the temporary file, before the rename
        assert Path(src).stat().st_size > 0
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(atomic.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        tm_to_lb(tm, archive, manager)
    assert [p for p in archive.rglob("*") if p.is_file() and p.name != ".lb.lock"] == []
    monkeypatch.undo()
    # a partial file left by a hard kill (no cleanup ran) is removed by the next writer
    folder = archive / "LB/21/6/30"
    stale = folder / ".solo_LB_stix-21-6-30_0628128000_V02.fits.abc123.partial"
    stale.write_bytes(b"half")
    result = tm_to_lb(tm, archive, manager)
    assert result.ok and not stale.exists()
    assert not [p for p in archive.rglob("*.partial")]
    assert all(p.stat().st_size % 2880 == 0 for p in result.written)


def test_stale_partials_swept_once_per_folder_and_run(
    tmp_path: Path, manager: IDBManager, moc: list, tm_writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partials of dead writers go (any LB file of the folder); the folder is scanned once per run, not per write."""
    lc = [p.data for p in moc if p.data[16] == 30]
    days = 4
    packets = [shifted(lc[0], seconds=day * 86400) for day in range(days)]
    tm = tm_writer(tmp_path / "x.PktTmRaw.xml", list(enumerate(packets)))
    archive = tmp_path / "arch"
    folder = archive / "LB/21/6/30"
    folder.mkdir(parents=True)
    stale = [
        folder / ".solo_LB_stix-21-6-30_0628128000_V02.fits.abc123.partial",  # a file this run writes
        folder / ".solo_LB_stix-21-6-30_0000086400_V02.fits.x_9.partial",  # a day this run does not write
    ]
    other = folder / ".notes.txt.abc.partial"  # not the temporary file of an LB file: left alone
    for path in [*stale, other]:
        path.write_bytes(b"half")
    scans: list[Path] = []
    real_scandir = os.scandir

    def counting(path):
        if archive in Path(path).parents:  # not the IDB manager's look-ups
            scans.append(Path(path))
        return real_scandir(path)

    monkeypatch.setattr(fits_io.os, "scandir", counting)
    result = tm_to_lb(tm, archive, manager)
    assert result.ok and len(result.written) == days
    assert not any(p.exists() for p in stale) and other.exists()
    assert scans == [folder]


def test_lb_product_round_trip(tmp_path: Path, reference_data: Path, manager: IDBManager) -> None:
    tm = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    for path in tm_to_lb(tm, tmp_path, manager).written:
        product = read_lb(path)
        again = tmp_path / "copy.fits"
        fits_io.write_lb(product, again, version=2, date="2000-01-01T00:00:00.000")
        assert read_lb(again).same_content(product)
        os.remove(again)


def test_just_written_lb_file_is_handed_over_unless_replaced(
    tmp_path: Path, reference_data: Path, manager: IDBManager
) -> None:
    handover = fits_io.WrittenLB()
    tm = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    written = tm_to_lb(tm, tmp_path, manager, handover=handover).written
    path = written[0]
    on_disk = read_lb(path)
    handed = read_lb(path, handover)  # the writer's copy, equal to the file
    assert handed.same_content(on_disk) and handed.key == on_disk.key
    assert handover.take(path) is None  # handed over once
    parsed = read_lb(written[1], fits_io.WrittenLB())  # remembered by another object: parsed
    with fits.open(written[1]) as hdul:  # astropy as the independent reader of the same file
        hexes = dict(zip(hdul["DATA"].data["control_index"].tolist(), hdul["DATA"].data["data"], strict=True))
        assert parsed.data == [bytes.fromhex(hexes[i]) for i in hdul["CONTROL"].data["index"].tolist()]
        assert parsed.packet.tolist() == hdul["CONTROL"].data["packet"].tolist()
    # written again here, then replaced by another writer: the remembered product is not used
    changed = on_disk.combine(on_disk)
    changed.packet = changed.packet + 1
    fits_io.write_lb(changed, path, version=2, handover=handover)
    replacement = tmp_path / "replacement.fits"
    replacement.write_bytes(path.read_bytes())
    os.replace(replacement, path)
    assert handover.take(path) is None
    assert np.array_equal(read_lb(path, handover).packet, changed.packet)
    # bounded: a hand-over object that may hold no bytes keeps nothing
    tiny = fits_io.WrittenLB(max_bytes=0)
    fits_io.write_lb(changed, path, version=2, handover=tiny)
    assert tiny.take(path) is None


def test_lb_file_that_cannot_be_put_in_place_is_an_error_and_not_handed_over(
    tmp_path: Path, reference_data: Path, manager: IDBManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flush of every LB file fails (disk error): each file is reported, the batch goes on, nothing is left."""

    def broken(handle: int) -> None:
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", broken)
    handover = fits_io.WrittenLB()
    result = tm_to_lb(reference_data / "tm" / "moc_test.PktTmRaw.xml", tmp_path, manager, handover=handover)
    assert result.written == [] and not result.ok and len(handover) == 0
    assert len(result.file_errors) == 7
    assert all("not written: I/O error" in error and "solo_LB_stix-21-6-" in error for error in result.file_errors)
    assert sorted(p.name for p in (tmp_path / "LB").rglob("*") if p.is_file()) == [".lb.lock"] * 7
    monkeypatch.undo()
    again = tm_to_lb(reference_data / "tm" / "moc_test.PktTmRaw.xml", tmp_path, manager)  # locks were released
    assert again.ok and len(again.written) == 7


def test_hand_over_that_fails_after_the_write_costs_nothing_but_the_hand_over(
    tmp_path: Path, reference_data: Path, manager: IDBManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files are in place when remembering them fails: they are reported written, readable, and
    equal to those of a run without hand-over."""

    def broken(self, path: Path, product) -> None:
        raise OSError("stat failed")

    monkeypatch.setattr(fits_io.WrittenLB, "remember", broken)
    handover = fits_io.WrittenLB()
    result = tm_to_lb(reference_data / "tm" / "moc_test.PktTmRaw.xml", tmp_path / "a", manager, handover=handover)
    monkeypatch.undo()
    plain = tm_to_lb(reference_data / "tm" / "moc_test.PktTmRaw.xml", tmp_path / "b", manager)
    assert result.ok and len(result.written) == len(plain.written) == 7 and len(handover) == 0
    for path in result.written:
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert read_lb(path).data == read_lb(twin).data
