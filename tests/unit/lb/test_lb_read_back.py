"""Reading LB files back in chunks (:func:`stix_lib.lb.fits_io.iter_lb_chunks`), checked against astropy.

Small files are read, checked and decoded in one read, larger ones (more than
:data:`~stix_lib.lb.fits_io.ONE_PASS_BYTES` of DATA) checked chunk by chunk first; both must give
the packets astropy reads from the file, and for a damaged file the error of the whole read
(:func:`~stix_lib.lb.fits_io.read_lb`) before any chunk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from stix_lib.idb import IDBManager
from stix_lib.lb import fits_io, read_lb, tm_to_lb
from stix_lib.lb.fits_io import LBFileError, iter_lb_chunks
from stix_lib.lb.product import LBProduct

#: Packet bytes per chunk: several chunks per file.
CHUNK = 3000


@pytest.fixture(scope="module")
def lb_files(reference_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("lb")
    tm = reference_data / "tm" / "moc_test.PktTmRaw.xml"
    return sorted(tm_to_lb(tm, folder, IDBManager(reference_data / "idb")).written)


@pytest.fixture(params=["one pass", "checked in chunks"])
def one_pass(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param != "one pass":
        monkeypatch.setattr(fits_io, "ONE_PASS_BYTES", 0)
    return str(request.param)


def _astropy_packets(path: Path) -> list[bytes]:
    """The packets of ``path`` in CONTROL order, as astropy reads the file."""
    with fits.open(path) as hdul:
        hexes = dict(zip(hdul["DATA"].data["control_index"].tolist(), hdul["DATA"].data["data"], strict=True))
        return [bytes.fromhex(hexes[i]) for i in hdul["CONTROL"].data["index"].tolist()]


def _lengths(path: Path) -> set[int]:
    return {len(p) for p in _astropy_packets(path)}


def test_the_reference_files_have_one_and_several_packet_lengths(lb_files: list[Path]) -> None:
    """Both ways of decoding DATA (one length filling the column, padded rows) are exercised."""
    kinds = {len(_lengths(p)) > 1 for p in lb_files}
    assert kinds == {True, False}


def test_chunks_are_the_packets_of_the_file(lb_files: list[Path], one_pass: str) -> None:
    for path in lb_files:
        chunks = list(iter_lb_chunks(path, chunk_bytes=CHUNK))
        assert all(len(c) == 1 or sum(len(d) for d in c.data) <= CHUNK for c in chunks)
        whole = LBProduct.concatenate(chunks)
        assert whole.data == _astropy_packets(path)
        assert whole.same_content(fits_io._read_lb_whole(path))  # the parser that reads any layout


def _data_rows(raw: bytes) -> tuple[int, int, int]:
    """``(first row offset, row bytes, hex width)`` of the DATA table of an LB file."""
    start = raw.index(b"EXTNAME = 'DATA ")
    header_start = raw.rindex(b"XTENSION", 0, start)
    end = raw.index(b"END" + b" " * 77, header_start)
    data_start = header_start + (end - header_start) // 2880 * 2880 + 2880
    naxis1 = int(raw[raw.index(b"NAXIS1  =", header_start) + 10 : raw.index(b"NAXIS1  =", header_start) + 30])
    return data_start, naxis1, naxis1 - 8


def _damaged(path: Path, tmp_path: Path, kind: str) -> Path:
    raw = bytearray(path.read_bytes())
    first, row_bytes, width = _data_rows(bytes(raw))
    rows = len(_astropy_packets(path))
    last = first + (rows - 1) * row_bytes
    if kind == "bad digit":
        raw[first + 8 + 4 : first + 8 + 6] = b"zz"
    elif kind == "NUL inside":
        raw[last + 8 + 2] = 0
    elif kind == "upper case":  # still valid hex: read like the original
        text = bytes(raw[last + 8 : last + 8 + width]).rstrip(b"\0")
        raw[last + 8 : last + 8 + len(text)] = text.upper()
    elif kind == "short text":  # one packet's text ends early (NUL padded): its length does not match
        text = bytes(raw[last + 8 : last + 8 + width]).rstrip(b"\0")
        raw[last + 8 + len(text) - 2 : last + 8 + len(text)] = b"\0\0"
    elif kind == "rows swapped":  # valid, but not in CONTROL order: read whole
        a, b = bytes(raw[first : first + row_bytes]), bytes(raw[last : last + row_bytes])
        raw[first : first + row_bytes], raw[last : last + row_bytes] = b, a
    elif kind == "wrong index":
        raw[last : last + 8] = (10**6).to_bytes(8, "big")
    damaged = tmp_path / path.name
    damaged.write_bytes(bytes(raw))
    return damaged


@pytest.mark.parametrize("kind", ["bad digit", "NUL inside", "short text", "wrong index"])
def test_a_damaged_file_raises_the_whole_read_error_before_any_chunk(
    lb_files: list[Path], tmp_path: Path, one_pass: str, kind: str
) -> None:
    for path in (lb_files[0], max(lb_files, key=lambda p: len(_lengths(p)))):
        damaged = _damaged(path, tmp_path, kind)
        with pytest.raises(LBFileError) as whole:
            fits_io._read_lb_whole(damaged)  # the parser that reads any layout
        chunks = iter_lb_chunks(damaged, chunk_bytes=CHUNK)
        with pytest.raises(LBFileError) as parts:
            next(chunks)  # the first chunk already fails
        assert str(parts.value) == str(whole.value)


@pytest.mark.parametrize("kind", ["upper case", "rows swapped"])
def test_unusual_but_valid_files_read_like_the_whole_read(
    lb_files: list[Path], tmp_path: Path, one_pass: str, kind: str
) -> None:
    for path in (lb_files[0], max(lb_files, key=lambda p: len(_lengths(p)))):
        damaged = _damaged(path, tmp_path, kind)
        chunks = LBProduct.concatenate(list(iter_lb_chunks(damaged, chunk_bytes=CHUNK)))
        assert chunks.same_content(fits_io._read_lb_whole(damaged))
        assert chunks.data == _astropy_packets(path)


def test_a_large_file_has_one_chunk_of_packets_in_memory(
    lb_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above ONE_PASS_BYTES the DATA table is never read whole (memory follows a chunk)."""
    path = max(lb_files, key=lambda p: len(read_lb(p)))
    monkeypatch.setattr(fits_io, "ONE_PASS_BYTES", 0)
    monkeypatch.setattr(fits_io, "LB_CHUNK_BYTES", CHUNK)  # the size of the checked pieces
    reads: list[int] = []
    records = fits_io._data_records

    def spy(handle, table, start, stop):
        reads.append(stop - start)
        return records(handle, table, start, stop)

    monkeypatch.setattr(fits_io, "_data_records", spy)
    chunks = list(iter_lb_chunks(path, chunk_bytes=CHUNK))
    assert len(chunks) > 2 and max(reads) < sum(len(c) for c in chunks)
    assert np.array_equal(LBProduct.concatenate(chunks).packet, fits_io._read_lb_whole(path).packet)
