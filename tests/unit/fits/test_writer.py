"""The shared FITS writer (both card styles): astropy reads its files back exactly and accepts the checksums."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from stix_lib.fits.cards import encode_checksum
from stix_lib.fits.writer import TableStyle, WriteColumn, bintable_bytes, primary_bytes


def _write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "t.fits"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("style", ["product", "lb"])
def test_columns_round_trip_and_checksums(tmp_path: Path, style: TableStyle) -> None:
    rng = np.random.default_rng(0)
    n = 37
    columns = [
        WriteColumn("flag", rng.random(n) < 0.5),
        WriteColumn("u8", rng.integers(0, 256, n).astype(np.uint8)),
        WriteColumn("u16", rng.integers(0, 65536, n).astype(np.uint16)),
        WriteColumn("u32", rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)),
        WriteColumn("i64", rng.integers(-(2**62), 2**62, n)),
        WriteColumn("i16", rng.integers(-(2**15), 2**15, n).astype(np.int16)),
        WriteColumn("text", np.array([f"file_{i}" * (i % 4) for i in range(n)])),
        WriteColumn("pair", rng.integers(0, 10**10, (n, 2))),
        WriteColumn("seconds", np.arange(n, dtype=np.int32), unit="s"),
    ]
    long_value = ";".join(f"some_rather_long_file_name_{i}.PktTmRaw.xml" for i in range(6))
    content = b"".join(
        (
            primary_bytes(
                [("FILENAME", "t.fits", "name"), ("RAW_FILE", long_value, ""), ("STYPE", 21, "")],
                history=["made by a test"],
            ),
            bintable_bytes("CONTROL", columns, style=style),
            bintable_bytes("EMPTY", [WriteColumn("x", np.zeros(0, dtype=np.int64))], style=style),
        )
    )
    assert len(content) % 2880 == 0
    path = _write(tmp_path, content)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checksum mismatch is a warning in astropy
        with fits.open(path, checksum=True) as hdul:
            assert [h.name for h in hdul] == ["PRIMARY", "CONTROL", "EMPTY"]
            for hdu in hdul:
                assert hdu.verify_checksum() == 1 and hdu.verify_datasum() == 1
            assert hdul[0].header["RAW_FILE"] == long_value  # CONTINUE long-string convention
            assert "made by a test" in str(hdul[0].header["HISTORY"])
            assert hdul[1].columns["seconds"].unit == "s"
            assert len(hdul[2].data) == 0
    table = Table.read(path, hdu="CONTROL")
    for column in columns:
        got = np.asarray(table[column.name])
        if column.values.dtype.kind == "U":
            got = got.astype(str)
        assert got.tolist() == column.values.tolist(), column.name
    assert table["u16"].dtype == np.uint16 and table["u32"].dtype == np.uint32


@pytest.mark.parametrize("value", [0, 1, 0xFFFFFFFF, 0x12345678, 0xDEADBEEF, 0x3A3A3A3A, 0x80000000])
def test_checksum_encoding_matches_astropy(value: int) -> None:
    """Our ASCII encoding against astropy's encoder of the same (complemented) sum."""
    hdu = fits.PrimaryHDU()
    assert encode_checksum(value) == hdu._char_encode(~value & 0xFFFFFFFF)  # astropy internal, same convention
    assert len(encode_checksum(value)) == 16
    assert all(c.isalnum() for c in encode_checksum(value))


def test_unsupported_dtype(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        bintable_bytes("X", [WriteColumn("f", np.zeros(3, dtype=np.complex64))])


def test_lb_style_cards() -> None:
    """LB tables: TZERO before TSCAL and no TDIM (the layout LB files are written with)."""
    columns = [WriteColumn("u16", np.arange(3, dtype=np.uint16)), WriteColumn("pair", np.zeros((3, 2), np.int64))]

    def keywords(style: TableStyle) -> list[str]:
        header = bintable_bytes("T", columns, style=style)[:2880].decode("ascii")
        return [header[i : i + 8].strip() for i in range(0, 2880, 80) if header[i : i + 8].strip()]

    assert keywords("lb")[8:15] == ["TTYPE1", "TFORM1", "TZERO1", "TSCAL1", "TTYPE2", "TFORM2", "EXTNAME"]
    assert keywords("product")[8:16] == ["TTYPE1", "TFORM1", "TSCAL1", "TZERO1", "TTYPE2", "TFORM2", "TDIM2", "EXTNAME"]


@pytest.mark.parametrize(
    ("keyword", "value", "comment"),
    [
        ("STYPE", 21, "Packet service type"),
        ("SSID", "", "Science structure id"),
        ("FLAG", True, ""),
        ("NOFLAG", False, "x"),
        ("BIG", 2**40, ""),
        ("NEG", -5, "negative"),
        ("OBT_BEG", "0628186276:03236", "Start of acquisition time in OBT"),
        ("FILENAME", "solo_LB_stix-21-6-21_0000000000-9999999999_V02_2312148821-53879.fits", "FITS filename"),
        ("QUOTE", "it's", "quoted"),
        ("RAW_FILE", "x" * 150, ""),
        ("HISTORY", "Processed by stix_lib LB", ""),
        ("VALUE", 1.5, "a float"),
    ],
)
def test_card_format_matches_astropy(keyword: str, value: object, comment: str) -> None:
    from stix_lib.fits.cards import format_card

    image = format_card(keyword, value, comment)
    assert len(image) % 80 == 0
    parsed = fits.Header.fromstring(image + "END".ljust(80))
    assert parsed[keyword] == value if keyword != "HISTORY" else str(parsed["HISTORY"]) == value
    if keyword != "HISTORY":
        assert comment.startswith(parsed.comments[keyword])  # truncated only when the card is full
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy warns when it truncates a comment
        reference = fits.Card(keyword, value, comment).image
    if len(image) == 80 and len(reference) == 80:
        assert image == reference  # same fixed-format layout
