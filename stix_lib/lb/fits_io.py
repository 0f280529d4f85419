"""Read and write Level Binary FITS files.

Layout: ``PRIMARY`` (header only), ``CONTROL`` (one row per packet: the CCSDS/PUS header fields,
``raw_file``, ``packet``, ``request_id``, ``index``, ``ssid`` when the type has one, ``time_sync``)
and ``DATA`` (``control_index``, ``data`` = hex string of the complete packet). Files are
serialised with CHECKSUM/DATASUM by :mod:`stix_lib.lb.fits_writer` and written atomically
(temporary file in the target folder + ``os.replace``), so a killed process never leaves a partial
product behind. Reading uses astropy.
"""

from __future__ import annotations

import binascii
import contextlib
import fcntl
import os
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stix_lib.atomic import atomic_write_bytes, remove_stale_temps
from stix_lib.lb.fits_writer import TableColumn, TableHDU, fits_bytes
from stix_lib.lb.header import lb_primary_cards
from stix_lib.lb.product import LBProduct
from stix_lib.tm.headers import HEADER_DTYPE

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


def control_columns(product: LBProduct) -> list[TableColumn]:
    """The CONTROL columns of a product (rows in product order)."""
    columns = [TableColumn(name, np.ascontiguousarray(product.headers[name])) for name in HEADER_COLUMNS]
    columns += [
        TableColumn("raw_file", product.raw_file.astype(str)),
        TableColumn("packet", product.packet.astype(np.int64)),
        TableColumn(
            "request_id",
            product.request.astype(np.int64) if product.request is not None else np.zeros(len(product), dtype=bool),
        ),
        TableColumn("index", np.arange(len(product), dtype=np.int64)),
    ]
    if product.ssid is not None:
        columns.append(TableColumn("ssid", np.full(len(product), product.ssid, dtype=np.int64)))
    columns.append(TableColumn("time_sync", product.time_sync))
    return columns


def data_columns(product: LBProduct) -> list[TableColumn]:
    """The DATA columns: ``control_index`` and the packets as lower-case hex strings."""
    return [
        TableColumn("control_index", np.arange(len(product), dtype=np.int64)),
        TableColumn("data", np.array([d.hex().encode("ascii") for d in product.data])),
    ]


def lb_file_bytes(product: LBProduct, filename: str, *, version: int, vers_cfg: str, date: str | None) -> bytes:
    """Serialise ``product`` as a complete LB FITS file (PRIMARY, CONTROL, DATA with checksums)."""
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
    tables = [TableHDU("CONTROL", control_columns(product)), TableHDU("DATA", data_columns(product))]
    return fits_bytes(cards, tables, history)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Exclusive lock on ``folder/.lb.lock`` serialising read-merge-write of LB files there."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lb.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_lb(path: Path) -> LBProduct:
    """Read an LB file back into an :class:`LBProduct` (rows in file order).

    Raises
    ------
    LBFileError
        Unreadable file, missing HDUs/columns, or packets that do not match their length field.
    """
    from astropy.io import fits  # LB files are written without astropy: TM -> LB does not import it

    try:
        with fits.open(path, memmap=False) as hdul:
            header = hdul[0].header
            service_type, service_subtype = int(header["STYPE"]), int(header["SSTYPE"])
            ssid_value = header.get("SSID", "")
            control = hdul["CONTROL"].data
            data = hdul["DATA"].data
            columns = {name: np.asarray(control[name]) for name in (*HEADER_COLUMNS, "raw_file", "packet", "index")}
            request_col = np.asarray(control["request_id"])
            control_index = np.asarray(data["control_index"]).tolist()
            hexes = np.asarray(data["data"])
            rows = len(control)
    except (OSError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise LBFileError(f"{path}: cannot read LB file: {exc}") from exc
    try:
        headers = np.zeros(rows, dtype=HEADER_DTYPE)
        for name in HEADER_COLUMNS:
            headers[name] = columns[name]
        by_index = {int(i): row for row, i in enumerate(control_index)}
        packets = [binascii.unhexlify(hexes[by_index[int(i)]].strip()) for i in columns["index"].tolist()]
        request = request_col.astype(np.int64).reshape(rows, 2) if request_col.ndim == 2 else None
        raw_file = columns["raw_file"]
        product = LBProduct(
            service_type,
            service_subtype,
            None if ssid_value in ("", None) else int(ssid_value),
            headers,
            np.char.decode(raw_file, "ascii") if raw_file.dtype.kind == "S" else raw_file.astype(str),
            columns["packet"].astype(np.int64),
            packets,
            request,
        )
        product.check_lengths()
    except (KeyError, ValueError, TypeError, binascii.Error) as exc:
        raise LBFileError(f"{path}: inconsistent LB file: {exc}") from exc
    return product


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
    write_atomic(lb_file_bytes(product, path.name, version=version, vers_cfg=vers_cfg, date=date), path)
    if handover is not None and product.request is None:
        handover.remember(path, product)


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
            np.cumsum([len(d) for d in product.data], dtype=np.int64),
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


def remove_stale_partials(path: Path) -> None:
    """Delete temporary files of ``path`` left behind by killed writers (call under the lock)."""
    remove_stale_temps(path)
