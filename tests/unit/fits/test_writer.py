"""The shared FITS writer (every card style): astropy reads its files back exactly and accepts the checksums."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from stix_lib.fits.cards import encode_checksum
from stix_lib.fits.writer import TableStyle, WriteColumn, bintable_bytes, bintable_parts, primary_bytes


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


def _blank_checksums(content: bytes) -> bytes:
    """``content`` with the CHECKSUM/DATASUM cards' value and comment blanked (astropy stamps them with the time)."""
    out = bytearray(content)
    for at in range(0, len(content), 80):
        if content[at : at + 8] in (b"CHECKSUM", b"DATASUM "):
            out[at + 10 : at + 80] = b" " * 70
    return bytes(out)


def _astropy_science_table(columns: list[WriteColumn], name: str) -> fits.BinTableHDU:
    """The science file layout as astropy's writer gives it (the convention science files were written with)."""
    codes = {"f4": "E", "f8": "D", "u1": "B", "u2": "I", "u4": "J", "u8": "K", "i2": "I", "i4": "J", "i8": "K"}
    cols = []
    for column in columns:
        values = column.values
        if values.dtype.kind == "U":
            values = np.char.encode(values, "ascii")
        shape = values.shape[1:]
        count = int(np.prod(shape)) if shape else 1
        if values.dtype.kind == "S":
            width = values.dtype.itemsize
            fmt, dims = f"{count * width}A", (width, *reversed(shape))
            dim = "(" + ",".join(map(str, dims)) + ")" if len(dims) > 1 else None
        else:
            fmt = f"{count}{codes[values.dtype.str[1:]]}"
            dims = tuple(reversed(shape))
            dim = "(" + ",".join(map(str, dims)) + ")" if len(dims) > 1 or shape == (1,) else None
        big_unsigned = values.dtype.kind == "u" and values.dtype.itemsize > 1
        bzero = 1 << (8 * values.dtype.itemsize - 1) if big_unsigned else None
        cols.append(fits.Column(name=column.name, format=fmt, unit=column.unit, dim=dim, array=values, bzero=bzero))
    return fits.BinTableHDU.from_columns(cols, name=name)


def test_science_style_is_astropys_layout(tmp_path: Path) -> None:
    """Science files: the shared writer gives astropy's bytes (apart from the stamped checksum cards).

    Covers what the science tables hold: scalars and vectors of every unsigned width (TZERO without
    TSCAL), one-element and multi-axis vectors (TDIM), string vectors (TDIM with the width), units
    as given, long strings and full cards without comment, comments cut to the card, COMMENT/HISTORY after the
    checksums.
    """
    rng = np.random.default_rng(1)
    n = 5
    columns = [
        WriteColumn("u16", rng.integers(0, 65536, n).astype(np.uint16)),
        WriteColumn("u32", rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32), unit="cs"),
        WriteColumn("u8_vector", rng.integers(0, 256, (n, 33)).astype(np.uint8)),
        WriteColumn("one_channel", rng.integers(0, 65536, (n, 1)).astype(np.uint16), unit="ct"),
        WriteColumn("pixels", rng.integers(0, 65536, (n, 32, 12)).astype(np.uint16)),
        WriteColumn("err", rng.random((n, 4)).astype(np.float32), unit="ct"),
        WriteColumn("seconds", rng.random(n), unit="s"),
        WriteColumn("i64", rng.integers(-(2**40), 2**40, n)),
        WriteColumn("raw_file", np.array([["a.xml", "bb.xml"]] * n)),
        WriteColumn("parent", np.array(["p.fits"] * n)),
    ]
    cards = [
        ("FILENAME", "solo_L1_stix-sci-xray-spec_20240514T011800-20240514T012828_V04_2405141894-51327.fits", "x"),
        ("DATE", "2024-05-14T01:18:00.100", "FITS file creation date in UTC"),
        ("BUNIT", " ", "Unit of the physical values"),
        ("SPICE_MK", "", "SPICE meta kernels"),
        ("PARENT", "p" * 67, "no room left for this comment"),
        ("ORIGIN", "q" * 64, "room for three characters"),
        ("XPOSURE", 4.0, "[s] Shortest exposure (integration) time"),
        ("OBS_VR", -2686.64, "[m/s] Observer radial velocity relative to the Sun, a long comment"),
        ("COMPLETE", True, "Complete request sequence"),
    ]
    ours = primary_bytes(
        cards, ["Processed by stix_lib L1"], comments=["a comment"], style="science", stamp="2024-05-14T01:18:00"
    ) + bintable_bytes("DATA", columns, style="science", stamp="2024-05-14T01:18:00")

    header = fits.Header()
    for key, value, comment in cards:
        bare = fits.Card(key, value)
        room = 80 - max(len(bare.image.rstrip()), 30) - 3
        header.append(bare if len(bare.image) > 80 or room <= 0 else fits.Card(key, value, comment[:room]))
    header["COMMENT"] = "a comment"
    header["HISTORY"] = "Processed by stix_lib L1"
    path = tmp_path / "astropy.fits"
    fits.HDUList([fits.PrimaryHDU(header=header), _astropy_science_table(columns, "DATA")]).writeto(path, checksum=True)
    theirs = path.read_bytes()

    assert _blank_checksums(ours) == _blank_checksums(theirs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checksum mismatch is a warning in astropy
        with fits.open(_write(tmp_path, ours), checksum=True) as hdul:
            assert all(hdu.verify_checksum() == 1 for hdu in hdul)
            assert hdul[0].header.comments["CHECKSUM"] == "HDU checksum updated 2024-05-14T01:18:00"


@pytest.mark.parametrize(
    "values",
    [
        np.array(["a", "bcd", ""]),
        np.array(["", ""]),
        np.array([], dtype="U5"),
        np.array([["ab", "c"], ["d", "efgh"]]),
        np.array(["é", "ab"]),
        np.zeros(3, "U7"),
        np.array(["x y ", "tail  "]),
        np.array(["abc", "de", "fghij"] * 3)[::2],  # not contiguous
        np.array(["a\x7fb", "\x01"]),
        np.array(["ab", "\x80"]),
        np.array(["a\x00b", "c\x00"]),  # an inner NUL counts, trailing ones do not
    ],
)
def test_ascii_bytes_is_numpys_encode(values: np.ndarray) -> None:
    from stix_lib.fits.writer import ascii_bytes

    expected = np.char.encode(values, "ascii", "replace")
    ours = ascii_bytes(values)
    assert ours.dtype == expected.dtype
    assert ours.tolist() == expected.tolist()


def test_table_data_is_astropys_bytes(tmp_path: Path) -> None:
    """The data unit is byte for byte the one astropy writes, padding and string fill included."""
    rows = 301
    strings = np.array(["x" * (i % 7) for i in range(rows)])
    columns = [
        WriteColumn("i16", np.arange(rows, dtype=np.int16) - 150),
        WriteColumn("f64", np.linspace(-1.0, 1.0, rows)),
        WriteColumn("text", strings),
        WriteColumn("pair", np.arange(2 * rows, dtype=np.int64).reshape(rows, 2)),
    ]
    row_bytes = 2 + 8 + 6 + 16
    _, data = bintable_parts("T", columns)
    reference = fits.BinTableHDU.from_columns(
        [
            fits.Column("i16", "I", array=columns[0].values),
            fits.Column("f64", "D", array=columns[1].values),
            fits.Column("text", "6A", array=strings),
            fits.Column("pair", "2K", array=columns[3].values),
        ]
    )
    reference.writeto(tmp_path / "ref.fits")
    with fits.open(tmp_path / "ref.fits") as hdul:
        info = hdul.fileinfo(1)
    raw = (tmp_path / "ref.fits").read_bytes()
    expected = raw[info["datLoc"] : info["datLoc"] + info["datSpan"]]
    assert len(expected) % 2880 == 0 and len(expected) > rows * row_bytes
    assert bytes(data) == expected


@pytest.mark.parametrize(
    "values",
    [
        np.array([True, False, True]),
        np.array([0, 200, 255], dtype=np.uint8),
        np.array([0, 40000, 65535], dtype=np.uint16),
        np.array([0, 2**31, 2**32 - 1], dtype=np.uint32),
        np.array([0, 2**63, 2**64 - 1], dtype=np.uint64),
        np.array([-128, 0, 127], dtype=np.int8),
        np.arange(12, dtype=np.int32).reshape(3, 2, 2),
        np.array(["", "ab", "abcdefg"]),
        np.array(["é", "x", ""]),
        np.zeros(0, dtype=np.int16),
    ],
)
def test_table_data_does_not_depend_on_what_the_memory_held(values: np.ndarray, monkeypatch) -> None:
    """Every byte of the data unit is written (rows and padding): a buffer handed out full of 0xA5
    gives the same bytes as one handed out zeroed."""
    columns = [WriteColumn("before", np.arange(len(values), dtype=np.int16)), WriteColumn("v", values)]
    outputs = []
    for fill in (0x00, 0xA5):
        with monkeypatch.context() as patch:
            patch.setattr(np, "empty", lambda shape, dtype=float, fill=fill: np.full(shape, fill, dtype=dtype))
            _, data = bintable_parts("T", columns)
        outputs.append(bytes(data))
    assert len(outputs[0]) % 2880 == 0
    assert outputs[0] == outputs[1]
