"""Rename V01 ``*_err`` columns to the current ``*_comp_err`` names (STIXCore #311), in place.

:data:`V01_SCIENCE_RENAMES` lists further renames that only the layout comparison
(:mod:`stix_lib.validate.compare`) applies.

The column metadata of STIX products is stored as astropy "serialized columns" YAML in the
``COMMENT`` cards of each table header (between ``--BEGIN-ASTROPY-SERIALIZED-COLUMNS--`` and
``--END-…--``; logical lines longer than 70 characters continue on the next card after a trailing
backslash). astropy refuses a table whose YAML names a column that does not exist, so renaming a
column means renaming it in both places; this module does both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from astropy.io import fits

#: V01 error-column names and their current names.
V01_RENAMES: dict[str, str] = {
    "counts_err": "counts_comp_err",
    "triggers_err": "triggers_comp_err",
    "variance_err": "variance_comp_err",
    "spectra_err": "spectra_comp_err",
}

#: V01 column names of the science (``sci-*``) products whose current name differs: the requests'
#: ``energy_bin_mask`` is ``energy_bin_edge_mask`` (33 edges) in current STIXCore/stixpy. Used by the
#: layout comparison only, never when reading V01 files (``ql-variance`` legitimately has a
#: 32-element ``energy_bin_mask``).
V01_SCIENCE_RENAMES: dict[str, str] = {
    "energy_bin_mask": "energy_bin_edge_mask",
}

BEGIN = "--BEGIN-ASTROPY-SERIALIZED-COLUMNS--"
END = "--END-ASTROPY-SERIALIZED-COLUMNS--"
_CHUNK = 70


def _logical_lines(cards: list[str]) -> list[str]:
    lines: list[str] = []
    continued = False
    for card in cards:
        if continued:
            lines[-1] += card[:_CHUNK]
        else:
            lines.append(card[:_CHUNK])
        continued = len(card) == _CHUNK + 1 and card.endswith("\\")
    return lines


def _physical_cards(lines: Iterable[str]) -> list[str]:
    cards: list[str] = []
    for line in lines:
        if not line:
            cards.append("")
            continue
        chunks = [line[i : i + _CHUNK] for i in range(0, len(line), _CHUNK)]
        cards += [chunk + "\\" for chunk in chunks[:-1]] + [chunks[-1]]
    return cards


def rename_columns_in_hdu(hdu: fits.BinTableHDU, renames: dict[str, str]) -> list[str]:
    """Rename columns of ``hdu`` (FITS ``TTYPE`` and serialized-column YAML); returns the old names done."""
    present = [old for old in renames if old in hdu.columns.names and renames[old] not in hdu.columns.names]
    if not present:
        return []
    for old in present:
        hdu.columns.change_name(old, renames[old])
    header = hdu.header
    comments = [str(value) for value in header.get("COMMENT", [])]
    if BEGIN in comments and END in comments:
        start, stop = comments.index(BEGIN), comments.index(END)
        lines = _logical_lines(comments[start + 1 : stop])
        pattern = re.compile(r"\b(" + "|".join(re.escape(old) for old in present) + r")\b")
        lines = [pattern.sub(lambda m: renames[m.group(1)], line) for line in lines]
        new_comments = comments[: start + 1] + _physical_cards(lines) + comments[stop:]
        header.remove("COMMENT", remove_all=True)
        for text in new_comments:
            header.add_comment(text)
    return present


def rename_v01_error_columns(path: Path, *, extension: str = "DATA") -> list[str]:
    """Rename the V01 ``*_err`` columns of ``extension`` in the file ``path``; returns the old names."""
    with fits.open(path, mode="update") as hdul:
        done = rename_columns_in_hdu(hdul[extension], V01_RENAMES)
    return done
