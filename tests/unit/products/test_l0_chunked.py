"""LB -> L0 in chunks of packets (issue 16, streaming memory): same products as the whole build.

The reference is :func:`stix_lib.products.l0.build_l0` on the whole LB file (the one-shot build
the L0 tests anchor in the real moc_test packets); the chunked build must give the same product,
errors and notes whatever the chunk size, and must really decode one chunk at a time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stix_lib.fits.reader import read_fits_tables
from stix_lib.fits.writer import WriteColumn, bintable_parts
from stix_lib.idb import IDBManager
from stix_lib.lb import fits_io, read_lb, tm_to_lb
from stix_lib.lb.fits_io import LBFileError, iter_lb_chunks
from stix_lib.lb.product import LBProduct
from stix_lib.products.l0 import build_l0, chunked
from stix_lib.products.l0.chunked import build_l0_chunked
from tests.support.products_support import DAY_2020_05_06, hk_stream, moc_templates, ql_stream, retimed, write_tm_xml

#: Small enough that every LB file below is cut into many chunks (packets are 0.1-2 kB).
TINY = 1500


def _spectra_pairs(templates, start: int, count: int) -> list[bytes]:
    """Pairs of spectra packets of one accumulation: the first packet's last row runs on into the second.

    The 64 entries of the real packet (detectors 0-31 twice) are split 48 + 16 between two packets
    with the same base time (NIX00445), the second sent a second later: the row of detectors
    0-15 of the first packet continues with detectors 16-31 of the second
    (:func:`stix_lib.products.l0.quicklook.spectra_rows`).
    """
    template = next(t for t in templates if t.key == (21, 6, 32))
    entry_fields = [k for k, v in template.values.items() if len(v) == 64]
    packets = []
    for number in range(count):
        shift = start + 600 * number - template.values["NIX00445"][0]
        base = template.values["NIX00445"][0] + shift
        for part, (a, b) in enumerate(((0, 48), (48, 64))):
            changes = {name: template.values[name][a:b] for name in entry_fields}
            changes["NIX00089"] = [b - a]
            changes["NIX00445"] = [base]
            packets.append(retimed(template, shift + part, sequence_count=2 * number + part, changes=changes))
    return packets


@pytest.fixture(scope="module")
def lb_files(reference_data: Path, idb_manager: IDBManager, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """LB files of quick-look (all types, random counts), joined spectra pairs and HK packets."""
    templates = moc_templates(reference_data, idb_manager)
    packets = ql_stream(templates, DAY_2020_05_06 + 60, 8.0, cadence=300)
    packets += _spectra_pairs(templates, DAY_2020_05_06 + 40000, 12)
    packets += hk_stream(idb_manager, DAY_2020_05_06 + 600, 6.0, cadence=120)
    tmp = tmp_path_factory.mktemp("chunked")
    result = tm_to_lb(write_tm_xml(tmp / "t.PktTmRaw.xml", packets), tmp / "archive", idb_manager)
    assert not result.errors
    return {read_lb(path).key: path for path in result.written}


def _same(whole, parts) -> None:
    assert [str(e) for e in parts.errors] == [str(e) for e in whole.errors]
    assert parts.notes == whole.notes
    assert parts.product is not None and whole.product is not None
    assert parts.product.same_content(whole.product)
    assert parts.product.control["parent"].tolist() == whole.product.control["parent"].tolist()


@pytest.mark.parametrize("chunk_bytes", [1, TINY, 20_000])
def test_chunked_build_equals_whole_build(lb_files: dict, idb_manager: IDBManager, chunk_bytes: int) -> None:
    assert {(21, 6, 30), (21, 6, 31), (21, 6, 32), (21, 6, 33), (21, 6, 34), (3, 25, 2)} <= set(lb_files)
    for path in lb_files.values():
        whole = build_l0(read_lb(path), idb_manager, parent=path.name)
        chunks = lambda p=path: iter_lb_chunks(p, chunk_bytes=chunk_bytes)  # noqa: E731
        parts = build_l0_chunked(chunks, idb_manager, parent=path.name)
        _same(whole, parts)


def test_spectra_rows_run_on_across_a_chunk_end(lb_files: dict, idb_manager: IDBManager) -> None:
    """Joined rows exist (12 pairs: one row of detectors 0-15 + 16-31 each) and survive one-packet chunks."""
    path = lb_files[(21, 6, 32)]
    whole = build_l0(read_lb(path), idb_manager, parent=path.name).product
    assert whole is not None
    control_of_row = whole.data["control_index"]
    packets_of_row = whole.control["packet"][control_of_row]
    filled = (whole.data["num_integrations"] > 0) | (whole.data["spectra"].sum(axis=2) > 0)
    full_rows = np.flatnonzero(filled.all(axis=1))
    assert len(full_rows) >= 12 + 12  # every first packet holds one complete row, every pair one joined row
    parts = build_l0_chunked(lambda: iter_lb_chunks(path, chunk_bytes=1), idb_manager, parent=path.name).product
    assert parts is not None and parts.same_content(whole)
    assert len(packets_of_row) == len(parts.data)


def test_chunk_size_is_respected(lb_files: dict, idb_manager: IDBManager, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each decoding step sees one chunk (at most ``chunk_bytes`` of packets, or a single packet)."""
    seen: list[LBProduct] = []
    decode = chunked.decode_lb_rows

    def spy(lb: LBProduct, manager: IDBManager):
        seen.append(lb)
        return decode(lb, manager)

    monkeypatch.setattr(chunked, "decode_lb_rows", spy)
    for key in [(21, 6, 30), (21, 6, 33), (3, 25, 2)]:
        path = lb_files[key]
        seen.clear()
        build_l0_chunked(lambda p=path: iter_lb_chunks(p, chunk_bytes=TINY), idb_manager, parent=path.name)
        sizes = [sum(len(d) for d in c.data) for c in seen]
        assert len(seen) > 5 and sum(len(c) for c in seen) == len(read_lb(path))
        assert all(len(c) == 1 or size <= TINY for c, size in zip(seen, sizes, strict=True))
        # and not smaller than needed: the next packet would not have fitted
        assert all(size + len(c.data[0]) > TINY for size, c in zip(sizes, seen[1:], strict=False))


def test_iter_lb_chunks_reads_the_file_in_parts(lb_files: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chunks are the rows of :func:`read_lb`, in order, and the file is never read whole."""
    path = lb_files[(21, 6, 30)]
    whole = read_lb(path)
    monkeypatch.setattr(fits_io, "_read_lb_whole", lambda *a, **k: pytest.fail("read whole"))
    chunks = list(iter_lb_chunks(path, chunk_bytes=TINY))
    assert len(chunks) > 5
    assert all(len(c) == 1 or sum(len(d) for d in c.data) <= TINY for c in chunks)
    assert LBProduct.concatenate(chunks).same_content(whole)


def test_a_damaged_lb_file_gives_the_error_of_the_whole_read(lb_files: dict, tmp_path: Path) -> None:
    damaged = tmp_path / lb_files[(21, 6, 30)].name
    raw = bytearray(lb_files[(21, 6, 30)].read_bytes())
    data_start = raw.index(b"EXTNAME = 'DATA ")
    at = raw.index(b"0d", data_start + 2880)  # a hex digit pair inside the first packet
    raw[at : at + 2] = b"zz"
    damaged.write_bytes(bytes(raw))
    with pytest.raises(LBFileError) as whole:
        read_lb(damaged)
    with pytest.raises(LBFileError) as parts:
        list(iter_lb_chunks(damaged, chunk_bytes=TINY))
    assert str(parts.value) == str(whole.value)


def test_check_failures_fall_back_to_the_whole_build(
    reference_data: Path, idb_manager: IDBManager, tmp_path: Path
) -> None:
    """Light curves whose number of energies changes between chunks: the majority rule is global."""
    templates = moc_templates(reference_data, idb_manager)
    template = next(t for t in templates if t.key == (21, 6, 30))
    packets = ql_stream(templates, DAY_2020_05_06 + 60, 6.0, ssids=(30,), cadence=600)
    n_e, n_s = template.values["NIX00270"][0], template.values["NIX00271"][-1]
    fewer = {
        "NIX00270": [n_e - 1],
        "NIX00271": template.values["NIX00271"][: n_e - 1],
        "NIX00272": template.values["NIX00272"][: (n_e - 1) * n_s],
        "NIX00266": template.values["NIX00266"],
    }
    shift = DAY_2020_05_06 + 30000 - template.values["NIX00445"][0]
    packets += [retimed(template, shift + 600 * i, sequence_count=9000 + i, changes=fewer) for i in range(4)]
    result = tm_to_lb(write_tm_xml(tmp_path / "t.PktTmRaw.xml", packets), tmp_path / "archive", idb_manager)
    path = next(p for p in result.written if "21-6-30" in p.name)
    whole = build_l0(read_lb(path), idb_manager, parent=path.name)
    assert len(whole.errors) == 4 and all("NIX00270" in str(e) for e in whole.errors)
    parts = build_l0_chunked(lambda: iter_lb_chunks(path, chunk_bytes=TINY), idb_manager, parent=path.name)
    _same(whole, parts)


def test_lb_data_table_written_in_pieces(lb_files: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The DATA table packed piece by piece is the table packed at once (hex of every packet)."""
    for path in lb_files.values():
        product = read_lb(path)
        whole = b"".join(
            bintable_parts(
                "DATA",
                [
                    WriteColumn("control_index", np.arange(len(product), dtype=np.int64)),
                    WriteColumn("data", np.array([d.hex().encode("ascii") for d in product.data])),
                ],
                style="lb",
            )
        )
        assert path.read_bytes().endswith(whole)  # as write_lb wrote it
        for chunk_bytes in (1, TINY, 10**9):
            assert b"".join(fits_io.data_table_parts(product, chunk_bytes)) == whole
    packed: list[int] = []
    hex_strings = fits_io.hex_strings
    monkeypatch.setattr(fits_io, "hex_strings", lambda packets: packed.append(len(packets)) or hex_strings(packets))
    product = read_lb(lb_files[(21, 6, 30)])
    b"".join(fits_io.data_table_parts(product, 4 * TINY))
    assert len(packed) > 5 and max(packed) * min(len(d) for d in product.data) <= 4 * TINY


def test_write_lb_packs_every_row_once(lb_files: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """write_lb sums the DATA checksum over the pieces it writes: no second packing pass, same bytes."""
    source = lb_files[(21, 6, 30)]
    product = read_lb(source)
    packed: list[int] = []
    hex_strings = fits_io.hex_strings
    monkeypatch.setattr(fits_io, "hex_strings", lambda packets: packed.append(len(packets)) or hex_strings(packets))
    monkeypatch.setattr(fits_io, "WRITE_CHUNK_BYTES", 4 * TINY)
    target = tmp_path / source.name
    header, _ = read_fits_tables(source)
    fits_io.write_lb(product, target, version=int(header["VERSION"]), vers_cfg=header["VERS_CFG"], date=header["DATE"])
    assert len(packed) > 1 and sum(packed) == len(product)
    assert target.read_bytes() == source.read_bytes()
