"""Read and write Level Binary FITS files.

Layout: ``PRIMARY`` (header only), ``CONTROL`` (one row per packet: the CCSDS/PUS header fields,
``raw_file``, ``packet``, ``request_id``, ``index``, ``ssid`` when the type has one, ``time_sync``)
and ``DATA`` (``control_index``, ``data`` = hex string of the complete packet). Files are
serialised with CHECKSUM/DATASUM by :mod:`stix_lib.fits.writer` (``"lb"`` card style) and written
atomically (temporary file in the target folder + ``os.replace``), so a killed process never leaves
a partial product behind. Reading maps the tables with :mod:`stix_lib.fits.reader` (no astropy:
parsing through astropy cost ~15 ms per file, which dominated the LB -> L0 step); a daily file this
process has just written (and nobody replaced since) is not parsed at all: the writer's copy is
handed over (:class:`WrittenLB`).

Memory follows a piece, not the file (issue 16): packets are read :data:`LB_CHUNK_BYTES` at a time
(:func:`iter_lb_chunks`, also behind :func:`read_lb`) and the DATA table is packed and written
:data:`WRITE_CHUNK_BYTES` at a time, each row packed once (:func:`data_table_stream`).
"""

from __future__ import annotations

import binascii
import logging
import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from stix_lib.atomic import LatePart, atomic_write_bytes, atomic_write_parts, join_parts
from stix_lib.fits.cards import ones_complement_sum
from stix_lib.fits.reader import TableLayout, UnsupportedLayout, read_fits_tables, read_table_rows, table_layouts
from stix_lib.fits.writer import BLOCK, WriteColumn, bintable_header, bintable_parts, primary_bytes
from stix_lib.lb.header import lb_primary_cards
from stix_lib.lb.product import LENGTH_OFFSET, LBProduct
from stix_lib.tm.headers import HEADER_DTYPE

log = logging.getLogger(__name__)

#: Lock file serialising the read-merge-write of LB files in one folder.
LOCK_FILE = ".lb.lock"

#: CONTROL columns taken from the packet headers, in file order.
HEADER_COLUMNS: tuple[str, ...] = (
    "version",
    "packet_type",
    "header_flag",
    "process_id",
    "packet_category",
    "sequence_flag",
    "sequence_count",
    "data_length",
    "pus_version",
    "service_type",
    "service_subtype",
    "destination_id",
    "scet_coarse",
    "scet_fine",
)


class LBFileError(Exception):
    """An existing LB file cannot be read or is inconsistent."""


def control_columns(product: LBProduct) -> list[WriteColumn]:
    """The CONTROL columns of a product (rows in product order)."""
    columns = [WriteColumn(name, np.ascontiguousarray(product.headers[name])) for name in HEADER_COLUMNS]
    columns += [
        WriteColumn("raw_file", product.raw_file.astype(str)),
        WriteColumn("packet", product.packet.astype(np.int64)),
        WriteColumn(
            "request_id",
            product.request.astype(np.int64) if product.request is not None else np.zeros(len(product), dtype=bool),
        ),
        WriteColumn("index", np.arange(len(product), dtype=np.int64)),
    ]
    if product.ssid is not None:
        columns.append(WriteColumn("ssid", np.full(len(product), product.ssid, dtype=np.int64)))
    columns.append(WriteColumn("time_sync", product.time_sync))
    return columns


def hex_strings(packets: list[bytes]) -> np.ndarray:
    """The packets as lower-case hex ``S<longest>`` strings (NUL padded), without a bytes object per packet.

    Packets of equal length are converted together (a packet type has few lengths).
    """
    lengths = np.fromiter(map(len, packets), dtype=np.int64, count=len(packets))
    width = 2 * max(int(lengths.max()) if len(lengths) else 0, 1)
    if len(lengths) and 2 * int(lengths.min()) == width:  # one length (the usual case): no padding
        return np.frombuffer(binascii.hexlify(b"".join(packets)), dtype=f"S{width}")
    out = np.zeros((len(packets), width), dtype=np.uint8)
    for length in np.unique(lengths).tolist():
        rows = np.flatnonzero(lengths == length)
        text = binascii.hexlify(b"".join([packets[r] for r in rows.tolist()]))
        out[rows, : 2 * length] = np.frombuffer(text, dtype=np.uint8).reshape(len(rows), 2 * length)
    return out.view(f"S{width}").reshape(len(packets))


def lb_file_bytes(product: LBProduct, filename: str, *, version: int, vers_cfg: str, date: str | None) -> bytes:
    """Serialise ``product`` as a complete LB FITS file (PRIMARY, CONTROL, DATA with checksums)."""
    return join_parts(lb_file_parts(product, filename, version=version, vers_cfg=vers_cfg, date=date))


def lb_file_parts(
    product: LBProduct, filename: str, *, version: int, vers_cfg: str, date: str | None
) -> Iterator[bytes | bytearray | memoryview | LatePart]:
    """:func:`lb_file_bytes` in pieces (headers and table data), made one at a time while they are written.

    The DATA header is a :class:`~stix_lib.atomic.LatePart` (see :func:`data_table_stream`).
    """
    request = None
    if product.request is not None:
        psc, rid = (int(v) for v in product.request[0])
        request = (psc, rid)
    cards, history = lb_primary_cards(
        filename=filename,
        service_type=product.service_type,
        service_subtype=product.service_subtype,
        ssid=product.ssid,
        version=version,
        obt_begin=product.obt_range[0],
        obt_end=product.obt_range[1],
        raw_files=sorted(set(product.raw_file.astype(str).tolist())),
        vers_cfg=vers_cfg,
        request=request,
        date=date,
    )
    yield primary_bytes(cards, history)
    yield from bintable_parts("CONTROL", control_columns(product), style="lb")
    yield from data_table_stream(product, WRITE_CHUNK_BYTES)


#: Packets packed at a time into the DATA table by :func:`data_table_stream`.
WRITE_CHUNK_BYTES = 4 * 2**20


def data_table_stream(
    product: LBProduct, chunk_bytes: int = WRITE_CHUNK_BYTES
) -> Iterator[bytes | memoryview | LatePart]:
    """The DATA table as its header and pieces of about ``chunk_bytes`` of rows, each row packed once.

    Columns ``control_index`` (row number) and ``data`` (the packet as lower-case hex, NUL padded
    to the longest): the bytes ``bintable_parts`` would pack, without the whole table in memory.
    The header comes first as a :class:`~stix_lib.atomic.LatePart`: its ``DATASUM`` and
    ``CHECKSUM`` are summed over the pieces as they are made (the header's length does not depend
    on them), so it can be filled in once the last piece has been made.
    """
    lengths = np.fromiter(map(len, product.data), dtype=np.int64, count=len(product.data))
    width = 2 * max(int(lengths.max()) if len(lengths) else 0, 1)
    record = np.dtype([("control_index", ">i8"), ("data", f"S{width}")])
    # an even number of rows per piece: rows are 8 + an even width bytes long, so every piece but
    # the last is a multiple of 4 bytes, as the ones' complement sum of a piece needs
    step = max(2, chunk_bytes // record.itemsize // 2 * 2)
    templates = [
        WriteColumn("control_index", np.zeros(0, dtype=np.int64)),
        WriteColumn("data", np.zeros(0, dtype=f"S{width}")),
    ]
    datasum = [0]

    def header(value: int) -> bytes:
        return bintable_header("DATA", templates, len(lengths), value, style="lb")

    yield LatePart(len(header(0)), lambda: header(datasum[0]))
    for start in range(0, len(lengths), step):
        stop = min(start + step, len(lengths))
        rows = np.empty(stop - start, dtype=record)  # every byte is set: shorter texts are NUL padded
        rows["control_index"] = np.arange(start, stop)
        rows["data"] = hex_strings(product.data[start:stop])
        data = rows.view(np.uint8).data
        pad = -len(data) % 4  # the last piece only
        datasum[0] = ones_complement_sum(data.tobytes() + bytes(pad) if pad else data, datasum[0])
        del rows
        yield data
    size = record.itemsize * len(lengths)
    yield bytes(-size % BLOCK)


def data_table_parts(product: LBProduct, chunk_bytes: int = WRITE_CHUNK_BYTES) -> list[bytes]:
    """:func:`data_table_stream` with the header filled in (all pieces in memory)."""
    parts = list(data_table_stream(product, chunk_bytes))
    return [p.content() if isinstance(p, LatePart) else bytes(p) for p in parts]


def read_lb(path: Path, handover: WrittenLB | None = None) -> LBProduct:
    """An LB file as :class:`LBProduct`, rows in CONTROL order.

    From ``handover`` when this process has just written the file (and nobody replaced it since).

    Packets come from the hex strings of DATA matched by ``index``; their length fields are checked.

    Raises
    ------
    LBFileError
        Unreadable file, a FITS layout LB files do not have, missing HDUs/columns, or packets that
        do not match their length field.
    """
    written = handover.take(Path(path)) if handover is not None else None
    if written is not None:  # this process has just written the file: no need to parse it
        return written
    return LBProduct.concatenate(list(iter_lb_chunks(path)))


def _product_of_control(primary: Mapping[str, Any], control: Mapping[str, Any], packets: list[bytes]) -> LBProduct:
    """The LB product of a primary header, the CONTROL columns and the packets of its rows."""
    rows = len(control["index"])
    headers = np.zeros(rows, dtype=HEADER_DTYPE)
    for name in HEADER_COLUMNS:
        headers[name] = control[name]
    request_col = np.asarray(control["request_id"])
    ssid_value = primary.get("SSID", "")
    return LBProduct(
        int(primary["STYPE"]),
        int(primary["SSTYPE"]),
        None if ssid_value in ("", None) else int(ssid_value),
        headers,
        np.asarray(control["raw_file"]).astype(str),
        np.asarray(control["packet"], dtype=np.int64),
        packets,
        request_col.astype(np.int64).reshape(rows, 2) if request_col.ndim == 2 else None,
    )


def _read_lb_whole(path: Path) -> LBProduct:
    """:func:`read_lb` of a file parsed at once (any row order of DATA; the text of all packets in memory)."""
    try:
        primary, tables = read_fits_tables(path)
        control, data = tables["CONTROL"].columns, tables["DATA"].columns
    except UnsupportedLayout as exc:
        raise LBFileError(f"{path}: not an LB file layout: {exc}") from exc
    except (OSError, KeyError, ValueError) as exc:
        raise LBFileError(f"{path}: cannot read LB file: {exc}") from exc
    try:
        order = np.argsort(np.asarray(data["control_index"], dtype=np.int64), kind="stable")
        sorted_index = np.asarray(data["control_index"], dtype=np.int64)[order]
        wanted = np.asarray(control["index"], dtype=np.int64)
        position = np.searchsorted(sorted_index, wanted)
        if np.any(position >= len(sorted_index)) or np.any(
            sorted_index[np.minimum(position, len(order) - 1)] != wanted
        ):
            raise KeyError("DATA lacks packets of some CONTROL rows")
        hexes = data["data"]
        packets = [binascii.unhexlify(hexes[i]) for i in order[position].tolist()]
        product = _product_of_control(primary, control, packets)
        product.check_lengths()
    except (KeyError, ValueError, TypeError, binascii.Error) as exc:
        raise LBFileError(f"{path}: inconsistent LB file: {exc}") from exc
    return product


#: Packet bytes per chunk of :func:`iter_lb_chunks`.
LB_CHUNK_BYTES = 2**19


def chunk_bounds(lengths: np.ndarray, chunk_bytes: int) -> list[tuple[int, int]]:
    """Consecutive row ranges of about ``chunk_bytes`` packet bytes each (at least one row each;
    one empty range when there are no rows)."""
    if not len(lengths):
        return [(0, 0)]
    if int(np.sum(lengths)) <= chunk_bytes:  # the usual case: one chunk
        return [(0, len(lengths))]
    bounds, start, total = [], 0, 0
    for row, length in enumerate(np.asarray(lengths, dtype=np.int64).tolist()):
        if total and total + length > chunk_bytes:
            bounds.append((start, row))
            start, total = row, 0
        total += length
    if start < len(lengths):
        bounds.append((start, len(lengths)))
    return bounds


def _hex_digit_table() -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(b"0123456789abcdefABCDEF", dtype=np.uint8)] = True
    return table


_HEX_DIGITS = _hex_digit_table()


def hex_of_lengths(hexes: np.ndarray, lengths: np.ndarray) -> bool:
    """Whether every string of ``hexes`` is the hex text of a packet of its length in ``lengths``.

    That is, what ``[len(binascii.unhexlify(h)) for h in hexes.tolist()] == lengths`` tells
    (trailing NULs stripped; digits of either case), decided with numpy over the characters
    instead of decoding every packet.
    """
    rows = len(hexes)
    if not rows:
        return True
    if hexes.dtype.kind not in "SU":
        return False
    width = hexes.dtype.itemsize // (4 if hexes.dtype.kind == "U" else 1)
    lengths = np.asarray(lengths, dtype=np.int64)
    if width == 0 or np.any(2 * lengths > width) or np.any(lengths < 0):
        return False
    unit = np.uint32 if hexes.dtype.kind == "U" else np.uint8
    codes: npt.NDArray[Any] = np.ascontiguousarray(hexes).view(unit).reshape(rows, width)
    digits = _HEX_DIGITS[np.minimum(codes, 255)] & (codes < 256)
    inside = np.arange(width) < 2 * lengths[:, None]
    return bool(np.all(np.where(inside, digits, codes == 0)))


class _NotPlain(Exception):
    """The file is not laid out as :func:`write_lb` writes it: read it whole (:func:`_read_lb_whole`)."""


#: DATA tables of at most this many bytes are read, checked and decoded in one read (:func:`iter_lb_chunks`).
ONE_PASS_BYTES = 2**20


def _plain_rows(handle: BinaryIO) -> tuple[LBProduct, npt.NDArray[np.int64], TableLayout]:
    """The rows of an LB file without packets, their CONTROL ``index`` and the DATA table layout.

    Raises :class:`_NotPlain` unless the file has the HDUs and columns of an LB file and as many
    DATA as CONTROL rows.
    """
    try:
        primary, tables = table_layouts(handle)
        control_table, data_table = tables["CONTROL"], tables["DATA"]
        control = read_table_rows(handle, control_table, 0, control_table.rows)
        rows = len(control["index"])
        skeleton = _product_of_control(primary, control, [b""] * rows)
        index = np.asarray(control["index"], dtype=np.int64)
    except (UnsupportedLayout, OSError, KeyError, ValueError, TypeError) as exc:
        raise _NotPlain from exc
    if data_table.rows != rows:
        raise _NotPlain
    return skeleton, index, data_table


def _data_records(handle: BinaryIO, table: TableLayout, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of a DATA table as :func:`data_table_stream` lays it out, undecoded:
    ``control_index`` (big-endian int64) and ``data`` (the hex text as ``S<width>``).

    Raises :class:`_NotPlain` for any other column layout.
    """
    keywords = table.keywords
    width = table.row_bytes - 8
    if (
        keywords.get("TFIELDS") != 2
        or (keywords.get("TTYPE1"), keywords.get("TTYPE2")) != ("control_index", "data")
        or (str(keywords.get("TFORM1", "")).strip(), str(keywords.get("TFORM2", "")).strip()) != ("K", f"{width}A")
        or width < 1
        or any(f"{key}{n}" in keywords for key in ("TZERO", "TSCAL", "TDIM") for n in (1, 2))
        or keywords.get("PCOUNT", 0)
    ):
        raise _NotPlain
    stop = min(stop, table.rows)
    count = max(stop - start, 0)
    try:
        handle.seek(table.offset + start * table.row_bytes)
        data = handle.read(count * table.row_bytes)
    except OSError as exc:
        raise _NotPlain from exc
    if len(data) != count * table.row_bytes:
        raise _NotPlain
    return np.frombuffer(data, dtype=[("control_index", ">i8"), ("data", f"S{width}")], count=count)


def _plain_packets(
    handle: BinaryIO, data_table: TableLayout, index: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64], rows: slice
) -> list[bytes]:
    """The packets of DATA rows ``rows``, checked: raises :class:`_NotPlain` unless they are the packets
    of CONTROL rows ``index[rows]`` in that order, each a valid hex string of its length in ``lengths``.

    What :func:`hex_of_lengths` tells, decided by decoding: ``unhexlify`` refuses a non-hex digit
    (a NUL inside the text too) and an odd count, and the text of a wrong length decodes to a
    packet of another length.
    """
    lengths = lengths[rows]
    records = _data_records(handle, data_table, rows.start, rows.stop)
    if not np.array_equal(records["control_index"], index[rows]):
        raise _NotPlain
    hexes = records["data"]
    size = hexes.dtype.itemsize // 2
    try:
        if len(lengths) and hexes.dtype.itemsize % 2 == 0 and bool(np.all(lengths == size)):
            # one packet length filling the column (the usual case): one decoding of all rows
            joined = binascii.unhexlify(np.ascontiguousarray(hexes).tobytes())
            return [joined[at : at + size] for at in range(0, len(joined), size)]
        packets = [binascii.unhexlify(h) for h in hexes.tolist()]
    except (ValueError, binascii.Error) as exc:
        raise _NotPlain from exc
    if not np.array_equal(np.fromiter(map(len, packets), dtype=np.int64, count=len(packets)), lengths):
        raise _NotPlain
    return packets


def _check_plain_data(
    handle: BinaryIO, data_table: TableLayout, index: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> None:
    """Raise :class:`_NotPlain` unless DATA holds the packets of CONTROL rows ``index`` in that order,
    each a valid hex string of its length in ``lengths``; checked without decoding
    (:func:`hex_of_lengths`), :data:`LB_CHUNK_BYTES` of packets at a time."""
    for start, stop in chunk_bounds(lengths, LB_CHUNK_BYTES):
        records = _data_records(handle, data_table, start, stop)
        if not np.array_equal(records["control_index"], index[start:stop]):
            raise _NotPlain
        if not hex_of_lengths(records["data"], lengths[start:stop]):
            raise _NotPlain


def _iter_plain_chunks(path: Path, chunk_bytes: int) -> Iterator[LBProduct] | None:
    """The chunks of an LB file laid out as :func:`write_lb` writes it; ``None`` for any other file.

    Every row is checked before the first chunk is made: a file of at most :data:`ONE_PASS_BYTES`
    of DATA is read, checked and decoded at once (its packets are then in memory), a larger one is
    checked chunk by chunk (:func:`_check_plain_data`) and then read again one chunk at a time.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - kept open while the chunks are read
    except OSError:
        return None
    try:
        skeleton, index, data_table = _plain_rows(handle)
        lengths = skeleton.headers["data_length"].astype(np.int64) + LENGTH_OFFSET
        if data_table.rows * data_table.row_bytes <= ONE_PASS_BYTES:
            skeleton.data = _plain_packets(handle, data_table, index, lengths, slice(0, len(lengths)))
            handle.close()
            return _product_chunks(skeleton, lengths, chunk_bytes)
        _check_plain_data(handle, data_table, index, lengths)
    except _NotPlain:
        handle.close()
        return None
    except BaseException:
        handle.close()
        raise

    def chunks() -> Iterator[LBProduct]:
        with handle:
            for start, stop in chunk_bounds(lengths, chunk_bytes):
                chunk = skeleton.take(np.arange(start, stop))
                try:
                    chunk.data = _plain_packets(handle, data_table, index, lengths, slice(start, stop))
                except _NotPlain as exc:  # the file changed between the check and now
                    raise LBFileError(f"{path}: LB file changed while it was read") from exc
                yield chunk

    return chunks()


def _product_chunks(product: LBProduct, lengths: npt.NDArray[np.int64], chunk_bytes: int) -> Iterator[LBProduct]:
    bounds = chunk_bounds(lengths, chunk_bytes)
    if len(bounds) == 1:  # one chunk: the product itself
        yield product
        return
    for start, stop in bounds:
        yield product.take(np.arange(start, stop))


def iter_lb_chunks(
    path: Path, handover: WrittenLB | None = None, chunk_bytes: int = LB_CHUNK_BYTES
) -> Iterator[LBProduct]:
    """The rows of an LB file (as :func:`read_lb` gives them) in consecutive chunks.

    Chunks hold about ``chunk_bytes`` of packets (at least one row); a file with more than
    :data:`ONE_PASS_BYTES` of DATA read from disk has only one chunk's packets in memory at a time
    (a product in ``handover`` is sliced). A file that :func:`write_lb` did not lay out (packets in
    another order, bad hex, lengths) is parsed at once, which raises the :class:`LBFileError` of
    :func:`read_lb` before any chunk.
    """
    product = handover.take(Path(path)) if handover is not None else None
    if product is None:
        plain = _iter_plain_chunks(path, chunk_bytes)
        if plain is not None:
            yield from plain
            return
        product = _read_lb_whole(path)
    lengths = np.fromiter(map(len, product.data), dtype=np.int64, count=len(product.data))
    yield from _product_chunks(product, lengths, chunk_bytes)


def write_lb(
    product: LBProduct,
    path: Path,
    *,
    version: int,
    vers_cfg: str = "",
    date: str | None = None,
    handover: WrittenLB | None = None,
) -> None:
    """Write ``product`` (already merged and in canonical order) atomically to ``path``.

    A daily product is also remembered in ``handover`` (see :class:`WrittenLB`).
    """
    product.check_lengths()
    atomic_write_parts(path, lb_file_parts(product, path.name, version=version, vers_cfg=vers_cfg, date=date))
    if handover is not None and product.request is None:
        try:
            handover.remember(path, product)
        except Exception:  # the file is in place: not remembering costs a re-read only
            log.exception("not handing over %s", path)


#: Packet bytes a :class:`WrittenLB` holds at most (older entries are dropped first).
WRITTEN_LB_MAX_BYTES = 32 * 2**20


@dataclass(frozen=True)
class _Written:
    identity: tuple[int, ...]
    key: tuple[int, int, int | None]
    headers: np.ndarray
    raw_file: np.ndarray
    packet: np.ndarray
    packets: bytes
    ends: np.ndarray

    def product(self) -> LBProduct:
        bounds = [0, *self.ends.tolist()]
        data = [self.packets[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return LBProduct(*self.key, self.headers.copy(), self.raw_file.copy(), self.packet.copy(), data, None)


def _file_identity(path: Path) -> tuple[int, ...]:
    stat = os.stat(path)
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


class WrittenLB:
    """Daily LB products one pipeline wrote, handed to its LB -> L0 step instead of parsing the files.

    :func:`write_lb` remembers a product here (when given this object), :meth:`take` returns it
    once, and only while the file on disk is still that write (same inode, size and times).
    Packets are kept as one joined ``bytes`` (few objects: pages stay shared with forked
    workers); at most ``max_bytes`` of packets are held, the oldest entries are dropped first.
    """

    def __init__(self, max_bytes: int = WRITTEN_LB_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, _Written] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        """Products held."""
        return len(self._entries)

    def _forget(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.packets)

    def remember(self, path: Path, product: LBProduct) -> None:
        """Keep ``product``, just written to ``path``."""
        key = os.path.abspath(path)
        self._forget(key)
        packets = b"".join(product.data)
        if len(packets) > self.max_bytes:
            return
        self._entries[key] = _Written(
            _file_identity(path),
            product.key,
            product.headers.copy(),
            product.raw_file.astype(str),
            product.packet.astype(np.int64),
            packets,
            np.cumsum(np.fromiter(map(len, product.data), dtype=np.int64, count=len(product.data))),
        )
        self._bytes += len(packets)
        while self._bytes > self.max_bytes:
            self._forget(next(iter(self._entries)))

    def take(self, path: Path) -> LBProduct | None:
        """The product last written to ``path``, if the file is still that write; forgotten after.

        ``None`` when it was not remembered here or the file was replaced since.
        """
        key = os.path.abspath(path)
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._forget(key)
        try:
            identity = _file_identity(path)
        except OSError:
            return None
        return entry.product() if identity == entry.identity else None


def write_atomic(content: bytes, path: Path) -> None:
    """Write ``content`` to ``path`` atomically (see :mod:`stix_lib.atomic`)."""
    atomic_write_bytes(path, content)
