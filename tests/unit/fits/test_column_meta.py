"""Units and serialized-columns YAML made without astropy are byte for byte astropy's own.

The truth here is astropy (its unit parser and its table YAML writer, which astropy, stixpy and
STIXCore's files use), fed the same columns: the real STIXCore L1 products of ``reference/l1`` and
columns covering every dtype, shape and metadata kind a product column can have.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from stix_lib.fits.column_meta import KNOWN_UNITS, astropy_unit_forms, serialized_yaml
from stix_lib.fits.writer import WriteColumn, _astropy_yaml, serialized_comments


@pytest.mark.parametrize("unit", sorted(KNOWN_UNITS))
def test_known_units_are_astropys_forms(unit: str) -> None:
    assert KNOWN_UNITS[unit] == astropy_unit_forms(unit)


def _columns_of(path: Path) -> dict[str, list[WriteColumn]]:
    from astropy.io import fits
    from astropy.table import Table

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as hdul:
            names = [hdu.name for hdu in hdul[1:]]
        for name in names:
            table = Table.read(path, hdu=name)
            out[name] = [
                WriteColumn(
                    column.name,
                    np.asarray(column)[:0],
                    None if column.unit is None else str(column.unit),
                    column.description,
                    dict(column.meta),
                )
                for column in table.itercols()
            ]
    return out


def test_reference_product_columns_give_astropys_yaml(reference_data: Path) -> None:
    files = sorted((reference_data / "reference" / "l1").glob("*.fits"))
    assert len(files) == 12
    compared = 0
    for path in files:
        for extname, columns in _columns_of(path).items():
            ours = serialized_yaml(columns)
            assert ours is not None, (path.name, extname)
            assert ours == _astropy_yaml(columns), (path.name, extname)
            compared += 1
    assert compared >= 36


def test_every_column_kind_gives_astropys_yaml() -> None:
    columns = [
        WriteColumn("flag", np.zeros(3, bool), description="a flag"),
        WriteColumn("flags", np.zeros((3, 2), bool)),
        WriteColumn("u8", np.zeros(3, np.uint8), "ct", "", {"NIXS": "NIX00123", "PCF_CURTX": None}),
        WriteColumn("u16", np.zeros((3, 4, 2), np.uint16), "keV/adu", "said: 'quoted' # not a comment"),
        WriteColumn("u32", np.zeros(3, np.uint32), "%", "x" * 200, {"NIXS": ["NIX00001", "NIX00002"], "n": 3}),
        WriteColumn("i64", np.zeros(3, np.int64), "file", None, {"PCF_CURTX": ["CIXP0024TM", None], "f": 1e17}),
        WriteColumn("f32", np.zeros((3, 32), np.float32), "degC", "temperature", {"x": 0.1, "t": True}),
        WriteColumn("f64", np.zeros(3), "s", "time: start", {"z": 2.5e-08, "nan": float("nan")}),
        WriteColumn("text", np.array(["a", "bcd", ""]), None, "names", {"k": "yes"}),
        WriteColumn("raw", np.array([b"ab", b"c", b""]), None, None, {"k": "on"}),
        WriteColumn("texts", np.array([["a", "b"], ["c", "d"], ["e", "f"]]), "ct / s"),
        WriteColumn("folded", np.zeros(3), None, "a long description, folded by the emitter " * 8),
        WriteColumn(
            "quoted",
            np.zeros(3),
            None,
            "- starts like a list item",
            {"a": "yes", "b": "null", "c": "1.5", "d": ": x", "e": "#x", "f": "", "g": " pad ", "h": "tab\there"},
        ),
    ]
    ours = serialized_yaml(columns)
    assert ours is not None
    assert ours == _astropy_yaml(columns)


def test_unusual_meta_goes_to_astropy() -> None:
    columns = [WriteColumn("v", np.zeros(3), meta={"v": np.float32(1.5), "t": (1, 2)})]
    assert serialized_yaml(columns) is None
    assert serialized_comments(columns)[1:-1] == _astropy_yaml(columns)
