"""Fast serialisation of FITS files (LB and products): a header-only primary HDU plus binary tables.

Astropy's table writer costs tens of milliseconds per extension (per-column byte swapping,
configuration look-ups, checksums in Python loops), which dominated LB and product writing.
Their tables need only fixed-size columns, so they are packed directly into one big-endian numpy
record array:

===============  =====  ===========================================
numpy             TFORM  stored as
===============  =====  ===========================================
bool              L      ``'T'`` / ``'F'``
uint8             B
int16/32/64       I/J/K  big-endian two's complement
uint16/32/64      I/J/K  with ``TZERO`` 2**15 / 2**31 / 2**63
float32/float64   E/D    IEEE big-endian
str/bytes         nA     ASCII, NUL padded to the longest value
===============  =====  ===========================================

Vector columns get a repeat count and ``TDIM`` (FITS axis order, i.e. reversed numpy shape),
units are written in the FITS unit syntax (astropy's formatter), and every HDU carries
``CHECKSUM``/``DATASUM`` (32-bit ones' complement sums). The column metadata block
(``--BEGIN-ASTROPY-SERIALIZED-COLUMNS--``) is what astropy's YAML writer makes of zero-row
columns of the same dtype/shape (:mod:`stix_lib.fits.column_meta`, astropy itself for unusual
columns), so astropy and stixpy read it back unchanged. The output is a
pure function of the inputs.

Three card conventions exist (``style``, described by :class:`CardLayout`): ``"product"``
(``TUNIT``, ``TSCAL``, ``TZERO``, ``TDIM``: astropy's order), ``"lb"`` (``TZERO`` before
``TSCAL``, then ``TUNIT``, no ``TDIM``), the layout LB files have always been written with, and
``"science"`` (the layout of science request files, as astropy's ``HDUList.writeto`` writes
them: repeat count always in ``TFORM``, ``TUNIT`` as given, ``TZERO`` without ``TSCAL``, ``TDIM``
only for multi-axis or one-element vectors and, with the width first, string vectors;
``CHECKSUM``/``DATASUM`` before trailing ``COMMENT``/``HISTORY`` cards, their comments stamped
``updated <time>``, and cards without room for a comment written without one).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from stix_lib.fits.cards import encode_checksum, format_card, ones_complement_sum
from stix_lib.fits.column_meta import serialized_yaml, unit_forms

BLOCK = 2880
_PLACEHOLDER = "0" * 16
_UNSIGNED = {
    np.dtype(np.uint16): ("I", 2**15, ">i2"),
    np.dtype(np.uint32): ("J", 2**31, ">i4"),
    np.dtype(np.uint64): ("K", 2**63, ">i8"),
}
_SIGNED = {
    np.dtype(np.uint8): ("B", "u1"),
    np.dtype(np.int16): ("I", ">i2"),
    np.dtype(np.int32): ("J", ">i4"),
    np.dtype(np.int64): ("K", ">i8"),
    np.dtype(np.float32): ("E", ">f4"),
    np.dtype(np.float64): ("D", ">f8"),
}

Card = tuple[str, Any, str]
#: Card convention of a file (see the module docstring and :class:`CardLayout`).
TableStyle = Literal["product", "lb", "science"]
_COMMENTARY = frozenset({"COMMENT ", "HISTORY ", " " * 8})
_END = "END".ljust(80)


@dataclass(frozen=True)
class CardLayout:
    """How one style lays out column cards, long strings and checksums.

    Attributes
    ----------
    fits_units
        ``TUNIT`` in FITS unit syntax (:func:`fits_unit`); otherwise as given.
    unit_first
        ``TUNIT`` before the scaling cards; otherwise after them.
    scaling
        The scaling cards of an unsigned column, in order (``TSCAL`` is 1).
    repeat_always
        ``TFORM`` always with a repeat count (``1J``, and ``width * count`` for strings).
    tdim
        ``"none"``; ``"vectors"`` (every vector column); ``"science"`` (multi-axis or one-element
        numeric vectors, string vectors with the width as first axis).
    checksum_before_commentary
        ``CHECKSUM``/``DATASUM`` after the last keyword card, before trailing ``COMMENT``/``HISTORY``
        (astropy's placement); otherwise at the end.
    bare_when_full
        Cards without room for a comment (long ``CONTINUE`` strings, values reaching column 77)
        are written without one; otherwise the comment is cut at column 80.
    """

    fits_units: bool
    unit_first: bool
    scaling: tuple[str, ...]
    repeat_always: bool
    tdim: Literal["none", "vectors", "science"]
    checksum_before_commentary: bool
    bare_when_full: bool

    def card(self, keyword: str, value: Any, comment: str) -> str:
        """Card image(s) in this layout."""
        if self.bare_when_full and comment and keyword not in ("COMMENT", "HISTORY"):
            bare = format_card(keyword, value)
            if len(bare) > 80 or len(bare.rstrip()) >= 77:  # no room for " / " and a character
                return bare
        return format_card(keyword, value, comment)


LAYOUTS: dict[TableStyle, CardLayout] = {
    "product": CardLayout(True, True, ("TSCAL", "TZERO"), False, "vectors", False, False),
    "lb": CardLayout(True, False, ("TZERO", "TSCAL"), False, "none", False, False),
    "science": CardLayout(False, True, ("TZERO",), True, "science", True, True),
}


@dataclass
class WriteColumn:
    """A column to write: name, values (rows first), unit, description and meta."""

    name: str
    values: np.ndarray
    unit: str | None = None
    description: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _header_block(text: str, datasum: int, *, layout: CardLayout, stamp: str | None = None) -> bytes:
    """Header (padded) of the card images ``text`` with ``CHECKSUM``/``DATASUM`` for data of checksum ``datasum``.

    ``layout`` says where the checksum cards go (at the end, or before trailing commentary);
    ``stamp`` the time in their comments (``updated ...``).
    """
    at = len(text)
    if layout.checksum_before_commentary:
        while at and text[at - 80 : at - 72] in _COMMENTARY:
            at -= 80
    note = f" updated {stamp}" if stamp else ""
    checksums = format_card("CHECKSUM", _PLACEHOLDER, "HDU checksum" + note)
    checksums += format_card("DATASUM", str(datasum), "data unit checksum" + note)
    images = text[:at] + checksums + text[at:] + _END
    header = (images + " " * (-len(images) % BLOCK)).encode("ascii")
    encoded = encode_checksum(ones_complement_sum(header, datasum)).encode("ascii")
    value_at = at + len("CHECKSUM= '")  # the placeholder's place in the card just formatted
    return header[:value_at] + encoded + header[value_at + len(_PLACEHOLDER) :]


def fits_unit(unit: str | None) -> str | None:
    """A unit string in FITS syntax (``ct`` -> ``count``, ``%`` -> ``10**-2``); unknown units as given."""
    if not unit:
        return None
    return unit_forms(unit)[1]


def ascii_bytes(values: np.ndarray) -> np.ndarray:
    """``np.char.encode(values, "ascii", "replace")``: bytes as wide as the longest value.

    ASCII text (the usual case) is converted in one numpy cast of the character codes (numpy's
    own ``U`` to ``S`` cast is several times slower) instead of one Python call per value.
    """
    chars = values.dtype.itemsize // 4
    if values.size and chars:
        codes = np.ascontiguousarray(values).reshape(-1).view(np.uint32).reshape(-1, chars)
        if int(codes.max()) < 128:
            # the used width: the longest value without its trailing NULs
            width = max(int(np.strings.str_len(values).max()), 1)
            return codes[:, :width].astype(np.uint8).view(f"S{width}").reshape(values.shape)
        try:
            data = values.astype(f"S{chars}")
        except UnicodeEncodeError:
            return np.char.encode(values, "ascii", "replace")
        used = np.flatnonzero((data.reshape(-1).view(np.uint8).reshape(-1, chars) != 0).any(axis=0))
        return data.astype(f"S{int(used[-1]) + 1 if used.size else 1}")
    return np.char.encode(values, "ascii", "replace")


@lru_cache(maxsize=64)
def _numeric_layout(kind: np.dtype) -> tuple[str, int | None, np.dtype, str]:
    """``(TFORM letter, TZERO, stored base dtype, conversion)`` of a numeric or boolean dtype (pure, memoised)."""
    if kind == np.bool_:
        return "L", None, np.dtype("u1"), "bool"
    native = kind.newbyteorder("=")
    if native in _UNSIGNED:
        letter, zero, stored = _UNSIGNED[native]
        return letter, zero, np.dtype(stored), "flip"
    if native in _SIGNED:
        letter, stored = _SIGNED[native]
        return letter, None, np.dtype(stored), "same"
    if native == np.dtype(np.int8):
        return "I", None, np.dtype(">i2"), "int16"
    raise TypeError(f"unsupported column dtype {kind}")


def _layout(values: np.ndarray) -> tuple[str, int | None, np.dtype, np.ndarray]:
    """``(TFORM letter with width, TZERO, stored base dtype, stored values)`` of a column."""
    kind = values.dtype
    if kind.kind in "US":
        data = ascii_bytes(values) if kind.kind == "U" else values
        width = max(1, data.dtype.itemsize)
        return f"{width}A", None, np.dtype(f"S{width}"), data.astype(f"S{width}", copy=False)
    letter, zero, stored, conversion = _numeric_layout(kind)
    if conversion == "same":
        return letter, zero, stored, values
    if conversion == "flip":  # value - zero in two's complement is the value with its top bit flipped
        native = kind.newbyteorder("=")
        flipped = values.astype(native, copy=False) ^ native.type(zero)
        return letter, zero, stored, flipped.view(stored.newbyteorder("="))
    if conversion == "bool":
        return letter, zero, stored, np.where(values, np.uint8(ord("T")), np.uint8(ord("F")))
    return letter, zero, stored, values.astype(np.int16)


def serialized_comments(columns: Sequence[WriteColumn], cache: dict | None = None) -> list[str]:
    """The serialized-columns COMMENT lines (empty when no column has meta or a description).

    ``cache`` (any dict owned by the caller) memoises the lines per column signature (name,
    dtype, shape, unit, description, meta): YAML generation is the slow part of writing.
    """
    if not any(c.meta or c.description for c in columns):
        return []
    key = tuple((c.name, c.values.dtype.str, c.values.shape[1:], c.unit, c.description, repr(c.meta)) for c in columns)
    if cache is not None and key in cache:
        return cache[key]
    yaml_lines = serialized_yaml(columns)
    if yaml_lines is None:
        yaml_lines = _astropy_yaml(columns)
    lines = ["--BEGIN-ASTROPY-SERIALIZED-COLUMNS--"]
    for line in yaml_lines:
        pieces = [line[i : i + 70] for i in range(0, len(line), 70)] or [""]
        lines.extend(piece + "\\" for piece in pieces[:-1])
        lines.append(pieces[-1])
    lines.append("--END-ASTROPY-SERIALIZED-COLUMNS--")
    if cache is not None:
        cache[key] = lines
    return lines


def _astropy_yaml(columns: Sequence[WriteColumn]) -> list[str]:
    """The serialized-columns YAML by astropy's table writer (columns :func:`serialized_yaml` does not handle)."""
    from astropy.table import Column as AstropyColumn
    from astropy.table import Table, meta
    from astropy.utils.exceptions import AstropyWarning

    table = Table(
        [
            AstropyColumn(
                np.zeros((0, *c.values.shape[1:]), dtype=c.values.dtype),
                name=c.name,
                unit=c.unit or None,
                description=c.description,
                meta=dict(c.meta),
            )
            for c in columns
        ],
        meta={"__serialized_columns__": {}},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        return meta.get_yaml_from_table(table)


def bintable_bytes(
    extname: str,
    columns: Sequence[WriteColumn],
    cache: dict | None = None,
    *,
    style: TableStyle = "product",
    stamp: str | None = None,
) -> bytes:
    """One binary-table extension (header, data, checksums).

    ``cache`` see :func:`serialized_comments`; ``style`` the card convention (module docstring);
    ``stamp`` the time in the checksum comments (``updated <stamp>``; none by default).
    """
    return b"".join(bintable_parts(extname, columns, cache, style=style, stamp=stamp))


def bintable_parts(
    extname: str,
    columns: Sequence[WriteColumn],
    cache: dict | None = None,
    *,
    style: TableStyle = "product",
    stamp: str | None = None,
) -> tuple[bytes, memoryview]:
    """:func:`bintable_bytes` as ``(header, padded data)``, the data packed in place (no copies).

    The data buffer is not zero-filled first: the columns cover every byte of a row (the record
    dtype is packed), so only the padding after the last row is zeroed.
    """
    rows = len(columns[0].values) if columns else 0
    layouts = [_layout(np.asarray(c.values)) for c in columns]
    template = _template(extname, columns, layouts, cache, style)
    size = template.dtype.itemsize * rows
    data = np.empty(size + (-size % BLOCK), dtype=np.uint8)
    data[size:] = 0
    if columns:
        records = data[:size].view(template.dtype)
        for column, (_, _, _, stored) in zip(columns, layouts, strict=True):
            records[column.name] = stored
        del records
    view = data.data
    return template.header(rows, ones_complement_sum(view), stamp), view


def bintable_header(
    extname: str,
    columns: Sequence[WriteColumn],
    rows: int,
    datasum: int,
    cache: dict | None = None,
    *,
    style: TableStyle = "product",
    stamp: str | None = None,
) -> bytes:
    """The header of a binary table of ``rows`` rows whose data has checksum ``datasum``.

    For tables written in pieces: ``columns`` give names, dtypes (string widths), shapes, units
    and meta (any number of rows, e.g. none); the data rows are packed as :func:`bintable_parts`
    packs them.
    """
    layouts = [_layout(np.asarray(c.values)) for c in columns]
    return _template(extname, columns, layouts, cache, style).header(rows, datasum, stamp)


@dataclass(frozen=True)
class _TableTemplate:
    """What a binary table's columns fix: the record layout and the header cards around ``NAXIS2``."""

    dtype: np.dtype
    head: str  # XTENSION .. NAXIS1
    tail: str  # PCOUNT .. the serialized-columns comments
    layout: CardLayout

    def header(self, rows: int, datasum: int, stamp: str | None) -> bytes:
        text = self.head + format_card("NAXIS2", rows, "length of dimension 2") + self.tail
        return _header_block(text, datasum, layout=self.layout, stamp=stamp)


def _template(
    extname: str,
    columns: Sequence[WriteColumn],
    layouts: list[tuple[str, int | None, np.dtype, np.ndarray]],
    cache: dict | None,
    style: TableStyle,
) -> _TableTemplate:
    """The :class:`_TableTemplate` of these columns.

    Memoised per column signature: in ``cache``, or, for columns without meta and description
    (whose signature is all the template depends on), by :func:`_plain_template`.
    """
    if not any(c.meta or c.description for c in columns):
        signature = tuple(
            [
                (c.name, c.values.dtype.str, c.values.shape[1:], letter, zero, stored.str, c.unit)
                for c, (letter, zero, stored, _) in zip(columns, layouts, strict=True)
            ]
        )
        return _plain_template(style, extname, signature)
    key = (
        "columns",
        style,
        extname,
        tuple(
            [
                (c.name, c.values.dtype.str, c.values.shape[1:], letter, c.unit, c.description, repr(c.meta))
                for c, (letter, _, _, _) in zip(columns, layouts, strict=True)
            ]
        ),
    )
    template = cache.get(key) if cache is not None else None
    if template is None:
        template = _make_template(extname, columns, layouts, cache, style)
        if cache is not None:
            cache[key] = template
    return template


@lru_cache(maxsize=1024)
def _plain_template(
    style: TableStyle,
    extname: str,
    signature: tuple[tuple[str, str, tuple[int, ...], str, int | None, str, str | None], ...],
) -> _TableTemplate:
    """The template of columns without meta or description, from ``(name, dtype, row shape, TFORM
    letter, TZERO, stored dtype, unit)`` of each."""
    columns = [WriteColumn(name, np.zeros((0, *shape), dtype=kind), unit) for name, kind, shape, *_, unit in signature]
    layouts = [(letter, zero, np.dtype(stored), np.zeros(0)) for _, _, _, letter, zero, stored, _ in signature]
    return _make_template(extname, columns, layouts, None, style)


def _make_template(
    extname: str,
    columns: Sequence[WriteColumn],
    layouts: list[tuple[str, int | None, np.dtype, np.ndarray]],
    cache: dict | None,
    style: TableStyle,
) -> _TableTemplate:
    fields = [(c.name, (stored, c.values.shape[1:])) for c, (_, _, stored, _) in zip(columns, layouts, strict=True)]
    dtype = np.dtype(fields)
    head: list[Card] = [
        ("XTENSION", "BINTABLE", "binary table extension"),
        ("BITPIX", 8, "array data type"),
        ("NAXIS", 2, "number of array dimensions"),
        ("NAXIS1", dtype.itemsize, "length of dimension 1"),
    ]
    tail: list[Card] = [
        ("PCOUNT", 0, "number of group parameters"),
        ("GCOUNT", 1, "number of groups"),
        ("TFIELDS", len(columns), "number of table fields"),
    ]
    return _TableTemplate(
        dtype,
        "".join(format_card(*card) for card in head),
        "".join(format_card(*card) for card in tail) + _column_cards(extname, columns, layouts, cache, style),
        LAYOUTS[style],
    )


def _column_cards(
    extname: str, columns: Sequence[WriteColumn], layouts: list, cache: dict | None, style: TableStyle
) -> str:
    """Card images describing the columns, ``EXTNAME`` and the serialized-columns comments."""
    layout = LAYOUTS[style]
    cards: list[Card] = []
    for number, (column, (letter, zero, stored, _)) in enumerate(zip(columns, layouts, strict=True), start=1):
        shape = column.values.shape[1:]
        repeat = int(np.prod(shape)) if shape else 1
        cards.append((f"TTYPE{number}", column.name, ""))
        if letter.endswith("A"):
            form = f"{stored.itemsize * repeat}A" if layout.repeat_always else letter
        else:
            form = f"{repeat}{letter}" if layout.repeat_always or repeat != 1 else letter
        cards.append((f"TFORM{number}", form, ""))
        unit = fits_unit(column.unit) if layout.fits_units else column.unit or None
        scaling = [(f"{key}{number}", 1 if key == "TSCAL" else zero, "") for key in layout.scaling]
        units = [(f"TUNIT{number}", unit, "")] if unit else []
        cards += units + scaling * (zero is not None) if layout.unit_first else scaling * (zero is not None) + units
        dims = _tdim(layout, shape, stored.itemsize if letter.endswith("A") else None)
        if dims:
            cards.append((f"TDIM{number}", "(" + ",".join(str(n) for n in dims) + ")", ""))
    cards.append(("EXTNAME", extname, "extension name"))
    cards.extend(("COMMENT", line, "") for line in serialized_comments(columns, cache))
    return "".join(format_card(key, value, comment) for key, value, comment in cards)


def _tdim(layout: CardLayout, shape: tuple[int, ...], width: int | None) -> tuple[int, ...]:
    """``TDIM`` axes (FITS order) of a column of row shape ``shape`` (``width``: of a string column); empty: none."""
    axes = tuple(reversed(shape))
    if layout.tdim == "vectors":
        return axes
    if layout.tdim == "science":
        if width is not None:
            return (width, *axes) if axes else ()
        return axes if len(axes) > 1 or axes == (1,) else ()
    return ()


def primary_bytes(
    cards: Sequence[Card],
    history: Sequence[str] = (),
    *,
    comments: Sequence[str] = (),
    style: TableStyle = "product",
    stamp: str | None = None,
) -> bytes:
    """A header-only primary HDU with ``cards``, COMMENT and HISTORY lines.

    ``style`` the card convention (module docstring); ``stamp`` the time in the checksum comments.
    """
    layout = LAYOUTS[style]
    base: list[Card] = [
        ("SIMPLE", True, "conforms to FITS standard"),
        ("BITPIX", 8, "array data type"),
        ("NAXIS", 0, "number of array dimensions"),
        ("EXTEND", True, ""),
        *cards,
        *(("COMMENT", line, "") for line in comments),
        *(("HISTORY", line, "") for line in history),
    ]
    card = layout.card if layout.bare_when_full else format_card
    text = "".join([card(key, value, comment) for key, value, comment in base])
    return _header_block(text, 0, layout=layout, stamp=stamp)
