"""The layout of a STIX FITS product: HDU names, table columns (name, TFORM, unit, dtype), keywords.

Only headers are read (no table data), so large products are cheap to inspect.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from astropy.io import fits

#: Header cards that are not keywords of their own.
NON_KEYWORDS = frozenset({"", "COMMENT", "HISTORY", "CONTINUE"})

_TFORM = re.compile(r"^\s*(\d*)([LXBIJKAEDCMPQ])(.*)$")

#: Logical dtype of a FITS binary-table code, keyed by (code, TZERO) for the unsigned variants.
_DTYPES: dict[str, str] = {
    "L": "bool",
    "X": "bits",
    "B": "uint8",
    "I": "int16",
    "J": "int32",
    "K": "int64",
    "A": "str",
    "E": "float32",
    "D": "float64",
    "C": "complex64",
    "M": "complex128",
    "P": "varlen32",
    "Q": "varlen64",
}
_OFFSET_DTYPES: dict[tuple[str, int], str] = {
    ("B", -128): "int8",
    ("I", 32768): "uint16",
    ("J", 2**31): "uint32",
    ("K", 2**63): "uint64",
}


class LayoutError(ValueError):
    """A file cannot be opened as FITS; the message names the file and the reason."""


@dataclass(frozen=True)
class ColumnLayout:
    """One binary-table column.

    Attributes
    ----------
    name
        ``TTYPEn``.
    tform
        ``TFORMn`` as written (e.g. ``5D``, ``393216I``).
    code
        The type letter of ``tform``.
    repeat
        The repeat count of ``tform`` (1 when absent).
    dtype
        Logical type taking ``TZEROn`` into account (``J`` with ``TZERO=2**31`` → ``uint32``).
    unit
        ``TUNITn`` stripped (``""`` when absent or blank).
    dim
        ``TDIMn`` as written (``""`` when absent).
    """

    name: str
    tform: str
    code: str
    repeat: int
    dtype: str
    unit: str
    dim: str


@dataclass(frozen=True)
class HduLayout:
    """One HDU: its ``EXTNAME`` (``PRIMARY`` for the first), kind and table columns."""

    name: str
    kind: str
    columns: tuple[ColumnLayout, ...]

    def column(self, name: str) -> ColumnLayout | None:
        """The column called ``name`` or None."""
        for column in self.columns:
            if column.name == name:
                return column
        return None


@dataclass(frozen=True)
class ProductLayout:
    """Layout of one FITS file."""

    path: Path
    hdus: tuple[HduLayout, ...]
    primary_keywords: tuple[str, ...]
    primary_header: fits.Header

    @property
    def hdu_names(self) -> list[str]:
        """HDU names in file order."""
        return [hdu.name for hdu in self.hdus]

    def hdu(self, name: str) -> HduLayout | None:
        """The HDU called ``name`` or None."""
        for hdu in self.hdus:
            if hdu.name == name:
                return hdu
        return None


def _dtype(code: str, tzero: str | float | None) -> str:
    try:
        offset = int(float(tzero)) if tzero not in (None, "") else 0
    except (TypeError, ValueError):
        offset = 0
    return _OFFSET_DTYPES.get((code, offset), _DTYPES.get(code, code))


def _columns(header: fits.Header) -> tuple[ColumnLayout, ...]:
    columns = []
    for number in range(1, int(header.get("TFIELDS", 0)) + 1):
        tform = str(header.get(f"TFORM{number}", "")).strip()
        match = _TFORM.match(tform)
        code = match.group(2) if match else tform
        repeat = int(match.group(1)) if match and match.group(1) else 1
        columns.append(
            ColumnLayout(
                name=str(header.get(f"TTYPE{number}", f"col{number}")).strip(),
                tform=tform,
                code=code,
                repeat=repeat,
                dtype=_dtype(code, header.get(f"TZERO{number}")),
                unit=str(header.get(f"TUNIT{number}", "")).strip(),
                dim=str(header.get(f"TDIM{number}", "")).strip(),
            )
        )
    return tuple(columns)


def read_layout(path: Path) -> ProductLayout:
    """Read the layout of a FITS file (headers only).

    Raises
    ------
    LayoutError
        If the file does not exist or is not a readable FITS file.
    """
    path = Path(path)
    if not path.is_file():
        raise LayoutError(f"{path}: file does not exist")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            hdul = fits.open(path, memmap=True, lazy_load_hdus=False)
        with hdul:
            hdus = []
            for number, hdu in enumerate(hdul):
                header = hdu.header
                name = "PRIMARY" if number == 0 else str(header.get("EXTNAME", f"HDU{number}")).strip().upper()
                kind = type(hdu).__name__
                columns = _columns(header) if header.get("XTENSION", "").strip() == "BINTABLE" else ()
                hdus.append(HduLayout(name=name, kind=kind, columns=columns))
            primary = hdul[0].header.copy()
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise LayoutError(f"{path}: not a readable FITS file: {exc}") from exc
    keywords = tuple(dict.fromkeys(card.keyword for card in primary.cards if card.keyword not in NON_KEYWORDS))
    return ProductLayout(path=path, hdus=tuple(hdus), primary_keywords=keywords, primary_header=primary)
