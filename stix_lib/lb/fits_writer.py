"""A small, fast writer for FITS files made of a header-only primary HDU and binary tables.

astropy's table machinery costs tens of milliseconds per file, which dominates when a telemetry
delivery produces dozens of LB files. LB tables only need scalar or fixed-length vector columns
of a few types, so they are serialised directly from numpy:

=============  ======  ===============================================
numpy           TFORM   stored as
=============  ======  ===============================================
bool            L       ``'T'`` / ``'F'``
uint8           B
int16/int32/64  I/J/K   big-endian
uint16/uint32   I/J     big-endian signed with ``TZERO`` 32768 / 2**31
str / bytes     nA      NUL padded to the longest value
=============  ======  ===============================================

Header cards are formatted by :func:`stix_lib.fits_cards.format_card` (astropy for the
``CONTINUE`` long string convention). Every HDU gets ``CHECKSUM`` and ``DATASUM`` (FITS checksum convention:
32-bit ones' complement sums, ASCII-encoded complement). Files are readable by astropy, which
verifies the checksums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from stix_lib.fits_cards import encode_checksum, format_card, ones_complement_sum

BLOCK = 2880
_CHECKSUM_PLACEHOLDER = "0" * 16


@dataclass
class TableColumn:
    """One binary-table column: a name and a 1-D (or 2-D for vectors) numpy array."""

    name: str
    values: np.ndarray
    unit: str | None = None


@dataclass
class TableHDU:
    """A binary table extension."""

    name: str
    columns: list[TableColumn]
    cards: list[tuple[str, object, str]] = field(default_factory=list)


def _header_bytes(cards: Sequence[tuple[str, object, str]]) -> bytes:
    text = "".join(format_card(keyword, value, comment) for keyword, value, comment in cards)
    text += "END".ljust(80)
    text += " " * (-len(text) % BLOCK)
    return text.encode("ascii")


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK)


def _with_checksum(cards: list[tuple[str, object, str]], data: bytes) -> bytes:
    datasum = ones_complement_sum(data)
    cards = [
        *cards,
        ("CHECKSUM", _CHECKSUM_PLACEHOLDER, "HDU checksum"),
        ("DATASUM", str(datasum), "data unit checksum"),
    ]
    header = _header_bytes(cards)
    total = ones_complement_sum(header, datasum)
    encoded = encode_checksum(total)
    placeholder = f"'{_CHECKSUM_PLACEHOLDER}'".encode()
    position = header.index(b"CHECKSUM= " + placeholder)
    header = header[: position + 10] + f"'{encoded}'".encode() + header[position + 10 + len(placeholder) :]
    return header + data


def _column_layout(column: TableColumn) -> tuple[np.dtype, str, int | None, np.ndarray]:
    """Return (stored dtype, TFORM, TZERO, stored values) of a column."""
    values = np.asarray(column.values)
    repeat = 1 if values.ndim == 1 else int(np.prod(values.shape[1:]))
    shape = () if values.ndim == 1 else values.shape[1:]
    prefix = "" if repeat == 1 else str(repeat)
    kind = values.dtype
    if kind == np.bool_:
        stored = np.where(values, ord("T"), ord("F")).astype(np.uint8)
        return np.dtype((np.uint8, shape)), prefix + "L", None, stored
    if kind.kind in "US":
        data = np.char.encode(values, "ascii") if kind.kind == "U" else values
        width = max(1, data.dtype.itemsize)
        return np.dtype(f"S{width}"), f"{width}A", None, data.astype(f"S{width}")
    table = {
        np.dtype(np.uint8): ("B", None, ">u1"),
        np.dtype(np.int16): ("I", None, ">i2"),
        np.dtype(np.int32): ("J", None, ">i4"),
        np.dtype(np.int64): ("K", None, ">i8"),
        np.dtype(np.uint16): ("I", 32768, ">i2"),
        np.dtype(np.uint32): ("J", 2147483648, ">i4"),
    }
    if kind.newbyteorder("=") not in table:
        raise TypeError(f"column {column.name}: unsupported dtype {kind}")
    tform, tzero, stored_type = table[kind.newbyteorder("=")]
    stored = values.astype(np.int64) - (tzero or 0)
    return np.dtype((stored_type, shape)), prefix + tform, tzero, stored.astype(stored_type)


def _table_bytes(hdu: TableHDU) -> bytes:
    layouts = [_column_layout(c) for c in hdu.columns]
    rows = len(hdu.columns[0].values) if hdu.columns else 0
    dtype = np.dtype([(c.name, layout[0]) for c, layout in zip(hdu.columns, layouts, strict=True)])
    records = np.zeros(rows, dtype=dtype)
    for column, (_, _, _, stored) in zip(hdu.columns, layouts, strict=True):
        records[column.name] = stored  # strings are NUL padded (FITS: a NUL ends the string)
    data = _pad(records.tobytes())
    cards: list[tuple[str, object, str]] = [
        ("XTENSION", "BINTABLE", "binary table extension"),
        ("BITPIX", 8, "array data type"),
        ("NAXIS", 2, "number of array dimensions"),
        ("NAXIS1", dtype.itemsize, "length of dimension 1"),
        ("NAXIS2", rows, "length of dimension 2"),
        ("PCOUNT", 0, "number of group parameters"),
        ("GCOUNT", 1, "number of groups"),
        ("TFIELDS", len(hdu.columns), "number of table fields"),
    ]
    for number, (column, (_, tform, tzero, _)) in enumerate(zip(hdu.columns, layouts, strict=True), start=1):
        cards.append((f"TTYPE{number}", column.name, ""))
        cards.append((f"TFORM{number}", tform, ""))
        if tzero is not None:
            cards.append((f"TZERO{number}", tzero, ""))
            cards.append((f"TSCAL{number}", 1, ""))
        if column.unit:
            cards.append((f"TUNIT{number}", column.unit, ""))
    cards.append(("EXTNAME", hdu.name, "extension name"))
    cards.extend(hdu.cards)
    return _with_checksum(cards, data)


def fits_bytes(
    primary_cards: Sequence[tuple[str, object, str]], tables: Sequence[TableHDU], history: Sequence[str] = ()
) -> bytes:
    """Serialise a header-only primary HDU (with ``primary_cards``) and binary tables."""
    cards: list[tuple[str, object, str]] = [
        ("SIMPLE", True, "conforms to FITS standard"),
        ("BITPIX", 8, "array data type"),
        ("NAXIS", 0, "number of array dimensions"),
        ("EXTEND", True, ""),
        *primary_cards,
        *(("HISTORY", text, "") for text in history),
    ]
    out = [_with_checksum(cards, b"")]
    out.extend(_table_bytes(table) for table in tables)
    return b"".join(out)
