"""Fast reading of product FITS files: header keywords and fixed-size binary-table columns.

Reads the file once, parses the 80-character header cards it needs and maps every binary table
onto a numpy record array (``np.frombuffer``). Supported: the column types the product writer
produces (``L``, ``B``, ``I``, ``J``, ``K``, ``E``, ``D``, ``nA``, vectors with ``TDIM``,
unsigned integers through ``TZERO``). Anything else (variable-length arrays, bit columns,
scaled columns, compressed HDUs) raises :class:`UnsupportedLayout` so that callers can fall
back to astropy. Long-string ``CONTINUE`` values are not joined (only the keywords products need
are read: short ones).

The serialized-columns YAML block (column ``meta``/``description``) is parsed with the libyaml
safe loader when available; YAML it cannot handle is left to astropy's parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import yaml

BLOCK = 2880
BEGIN_SERIALIZED = "--BEGIN-ASTROPY-SERIALIZED-COLUMNS--"
END_SERIALIZED = "--END-ASTROPY-SERIALIZED-COLUMNS--"

_TYPES = {"L": "u1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
_UNSIGNED = {("I", 32768): np.uint16, ("J", 2**31): np.uint32, ("K", 2**63): np.uint64}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UnsupportedLayout(ValueError):
    """The file uses FITS features this reader does not handle."""


@dataclass
class TableData:
    """One binary-table extension: keywords, COMMENT lines and columns (native dtypes).

    Attributes
    ----------
    keywords
        Single-valued keywords (last value wins).
    comments
        COMMENT card texts in order.
    columns
        Column name -> values (rows first; unsigned and bool columns already converted).
    units
        Column name -> TUNIT (``None`` when absent or blank).
    """

    keywords: dict[str, Any] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    units: dict[str, str | None] = field(default_factory=dict)


def _value(field_text: str) -> Any:
    text = field_text.strip()
    if text.startswith("'"):
        out, i = [], 1
        while i < len(text):
            if text[i] == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    out.append("'")
                    i += 2
                    continue
                break
            out.append(text[i])
            i += 1
        return "".join(out).rstrip()
    text = text.split("/", 1)[0].strip()
    if text in ("T", "F"):
        return text == "T"
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text.replace("D", "E"))
        except ValueError:
            return text


def _header(raw: bytes, start: int) -> tuple[dict[str, Any], list[str], int]:
    keywords: dict[str, Any] = {}
    comments: list[str] = []
    position = start
    while True:
        if position + BLOCK > len(raw):
            raise ValueError("truncated FITS header")
        block = raw[position : position + BLOCK].decode("ascii", "replace")
        position += BLOCK
        for offset in range(0, BLOCK, 80):
            card = block[offset : offset + 80]
            key = card[:8].rstrip()
            if key == "END":
                return keywords, comments, position
            if key == "COMMENT":
                comments.append(card[8:].rstrip())
            elif key and key not in ("HISTORY", "CONTINUE") and card[8:10] == "= ":
                keywords[key] = _value(card[10:])


def _columns(keywords: dict[str, Any], data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str | None]]:
    rows, width = int(keywords.get("NAXIS2", 0)), int(keywords.get("NAXIS1", 0))
    if int(keywords.get("PCOUNT", 0)):
        raise UnsupportedLayout("heap data (variable-length arrays)")
    fields, specials, units = [], [], {}
    for number in range(1, int(keywords.get("TFIELDS", 0)) + 1):
        name = str(keywords[f"TTYPE{number}"])
        form = str(keywords[f"TFORM{number}"]).strip()
        repeat_text, letter = form[:-1], form[-1]
        repeat = int(repeat_text) if repeat_text else 1
        if keywords.get(f"TSCAL{number}", 1) != 1:
            raise UnsupportedLayout(f"scaled column {name}")
        shape: tuple[int, ...] = ()
        if letter == "A":
            dtype = np.dtype(f"S{repeat}")
        elif letter in _TYPES:
            dtype = np.dtype(_TYPES[letter])
            dim = keywords.get(f"TDIM{number}")
            if dim:
                shape = tuple(int(n) for n in reversed(str(dim).strip("() ").split(",")))
            else:
                shape = () if repeat == 1 else (repeat,)
        else:
            raise UnsupportedLayout(f"column type {form} of {name}")
        fields.append((name, dtype, shape))
        specials.append((name, letter, keywords.get(f"TZERO{number}")))
        unit = keywords.get(f"TUNIT{number}")
        units[name] = str(unit).strip() or None if unit is not None else None
    record = np.dtype([(n, (d, s)) if s else (n, d) for n, d, s in fields])
    if record.itemsize != width:
        raise UnsupportedLayout(f"row width {record.itemsize} != NAXIS1 {width}")
    records = np.frombuffer(data, dtype=record, count=rows)
    columns = {}
    for name, letter, zero in specials:
        values = records[name]
        if letter == "L":
            values = values == ord("T")
        elif letter == "A":
            values = np.char.rstrip(np.char.decode(values, "ascii", "replace"))
        elif zero is not None and zero != 0:
            target = _UNSIGNED.get((letter, int(zero)))
            if target is None:
                raise UnsupportedLayout(f"TZERO {zero} of {name}")
            if target == np.uint64:
                values = values.astype(np.int64).view(np.uint64) + np.uint64(2**63)
            else:
                values = (values.astype(np.int64) + int(zero)).astype(target)
        else:
            values = values.astype(values.dtype.newbyteorder("="))
        columns[name] = values
    return columns, units


def read_fits_tables(path: Path) -> tuple[dict[str, Any], dict[str, TableData]]:
    """Primary keywords and every binary table (by ``EXTNAME``) of a FITS file.

    Raises
    ------
    UnsupportedLayout
        For features this reader does not handle (callers fall back to astropy).
    ValueError, OSError
        For unreadable or truncated files.
    """
    raw = Path(path).read_bytes()
    primary, _, position = _header(raw, 0)
    if primary.get("SIMPLE") is not True or int(primary.get("NAXIS", 0)) != 0:
        raise UnsupportedLayout("primary HDU with data")
    tables: dict[str, TableData] = {}
    while position < len(raw):
        keywords, comments, data_start = _header(raw, position)
        if keywords.get("XTENSION") != "BINTABLE":
            raise UnsupportedLayout(f"extension {keywords.get('XTENSION')}")
        size = int(keywords.get("NAXIS1", 0)) * int(keywords.get("NAXIS2", 0)) + int(keywords.get("PCOUNT", 0))
        if data_start + size > len(raw):
            raise ValueError("truncated FITS data")
        columns, units = _columns(keywords, raw[data_start : data_start + size])
        tables[str(keywords.get("EXTNAME", len(tables)))] = TableData(keywords, comments, columns, units)
        position = data_start + size + (-size % BLOCK)
    return primary, tables


def _as_dict(value: Any) -> Any:
    if isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {k: _as_dict(v) for k, v in value}
    if isinstance(value, dict):
        return {k: _as_dict(v) for k, v in value.items()}
    return value


def serialized_columns(comments: list[str], cache: dict | None = None) -> dict[str, dict[str, Any]]:
    """Column name -> ``{"meta": ..., "description": ...}`` from a serialized-columns block.

    ``cache`` (a dict kept by the caller) memoises the parse per block text; YAML parsing is the
    slow part of reading. Callers must not modify the returned entries.
    """
    try:
        first, last = comments.index(BEGIN_SERIALIZED), comments.index(END_SERIALIZED)
    except ValueError:
        return {}
    key = tuple(comments[first:last])
    if cache is not None and key in cache:
        return cache[key]
    lines: list[str] = []
    continued = False
    for line in comments[first + 1 : last]:
        if continued:
            lines[-1] += line[:70]
        else:
            lines.append(line[:70])
        continued = len(line) == 71
    try:
        document = yaml.load("\n".join(lines), Loader=_LOADER)
        entries = document.get("datatype", [])
    except (yaml.YAMLError, AttributeError):
        from astropy.table import meta as table_meta

        entries = table_meta.get_header_from_yaml(lines).get("datatype", [])
    out = {}
    for entry in entries:
        entry = dict(entry)
        if "meta" in entry:
            entry["meta"] = _as_dict(entry["meta"])
        out[entry["name"]] = entry
    if cache is not None:
        cache[key] = out
    return out


@dataclass
class TableLayout:
    """Where a binary table lies in a file (:func:`table_layouts`), for reading its rows in parts.

    Attributes
    ----------
    keywords, comments
        As in :class:`TableData`.
    offset
        Byte offset of the table's first row.
    """

    keywords: dict[str, Any]
    comments: list[str]
    offset: int

    @property
    def rows(self) -> int:
        """Number of rows."""
        return int(self.keywords.get("NAXIS2", 0))

    @property
    def row_bytes(self) -> int:
        """Bytes of one row."""
        return int(self.keywords.get("NAXIS1", 0))


def _read_header(handle: BinaryIO, start: int) -> tuple[dict[str, Any], list[str], int]:
    """The header at byte ``start`` of an open file (read block by block)."""
    handle.seek(start)
    raw = b""
    while True:
        block = handle.read(BLOCK)
        if len(block) < BLOCK:
            raise ValueError("truncated FITS header")
        raw += block
        if any(block[o : o + 8] == b"END     " for o in range(0, BLOCK, 80)):
            keywords, comments, size = _header(raw, 0)
            return keywords, comments, start + size


def table_layouts(handle: BinaryIO) -> tuple[dict[str, Any], dict[str, TableLayout]]:
    """Primary keywords and the layout of every binary table of an open file (no data read).

    Raises
    ------
    UnsupportedLayout, ValueError
        As :func:`read_fits_tables`.
    """
    size = handle.seek(0, 2)
    primary, _, position = _read_header(handle, 0)
    if primary.get("SIMPLE") is not True or int(primary.get("NAXIS", 0)) != 0:
        raise UnsupportedLayout("primary HDU with data")
    tables: dict[str, TableLayout] = {}
    while position < size:
        keywords, comments, data_start = _read_header(handle, position)
        if keywords.get("XTENSION") != "BINTABLE":
            raise UnsupportedLayout(f"extension {keywords.get('XTENSION')}")
        length = int(keywords.get("NAXIS1", 0)) * int(keywords.get("NAXIS2", 0)) + int(keywords.get("PCOUNT", 0))
        if data_start + length > size:
            raise ValueError("truncated FITS data")
        tables[str(keywords.get("EXTNAME", len(tables)))] = TableLayout(keywords, comments, data_start)
        position = data_start + length + (-length % BLOCK)
    return primary, tables


def read_table_rows(handle: BinaryIO, table: TableLayout, start: int, stop: int) -> dict[str, np.ndarray]:
    """Columns of rows ``start:stop`` of a table (as :func:`read_fits_tables` converts them)."""
    stop = min(stop, table.rows)
    count = max(stop - start, 0)
    handle.seek(table.offset + start * table.row_bytes)
    data = handle.read(count * table.row_bytes)
    if len(data) != count * table.row_bytes:
        raise ValueError("truncated FITS data")
    columns, _ = _columns({**table.keywords, "NAXIS2": count}, data)
    return columns
