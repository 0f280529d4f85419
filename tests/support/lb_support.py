"""Helpers of the LB tests: shifted packets and a comparable snapshot of an LB archive."""

from __future__ import annotations

from pathlib import Path

from astropy.io import fits

#: Header keywords that change on every write and are left out of a :func:`snapshot`.
IGNORED_KEYWORDS = {"DATE", "CHECKSUM", "DATASUM"}


def shifted(packet: bytes, *, seconds: int = 0, count: int | None = None) -> bytes:
    """The packet with its SCET coarse time shifted and optionally a new sequence count."""
    data = bytearray(packet)
    coarse = int.from_bytes(data[10:14], "big") + seconds
    data[10:14] = coarse.to_bytes(4, "big")
    if count is not None:
        word = int.from_bytes(data[2:4], "big") & 0xC000 | (count & 0x3FFF)
        data[2:4] = word.to_bytes(2, "big")
    return bytes(data)


def snapshot(archive: Path) -> dict[str, list]:
    """Every LB file's content (headers without DATE/CHECKSUM, table data) by relative path."""
    out = {}
    for path in sorted(archive.rglob("*.fits")):
        with fits.open(path, checksum=True) as hdul:
            content = []
            for hdu in hdul:
                header = [(k, v) for k, v in hdu.header.items() if k not in IGNORED_KEYWORDS]
                data = None if hdu.data is None else [tuple(map(str, row)) for row in hdu.data]
                content.append((header, data))
        out[str(path.relative_to(archive))] = content
    return out
