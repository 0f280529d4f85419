"""Compare FITS products, or whole archives, apart from what legitimately changes between runs.

Two runs over the same telemetry (one file at a time or all at once, SQLite or the production
stack, before and after a crash) must give the same products. What may differ: the creation time
(``DATE``), the checksums that cover it (``CHECKSUM``, ``DATASUM``), the software version
(``VERS_SW``) and wall-clock times quoted in ``HISTORY`` lines (e.g. when the ephemeris header was
updated at publishing). Everything else — every other keyword and comment, the HISTORY text, the
data — must be equal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from astropy.io import fits
from astropy.io.fits import FITSDiff

#: Keywords whose values differ between otherwise identical runs.
VOLATILE_KEYWORDS = ("DATE", "CHECKSUM", "DATASUM", "VERS_SW")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


def _pop_history(hdul: fits.HDUList) -> list[str]:
    """Remove the HISTORY cards of every HDU (in memory); return their text, wall-clock times masked.

    The cards of an HDU are joined without separator: a long HISTORY line is split over several
    cards, possibly inside a timestamp.
    """
    history = []
    for hdu in hdul:
        history.append(_TIMESTAMP.sub("<time>", "".join(str(line) for line in hdu.header.get("HISTORY", []))))
        hdu.header.remove("HISTORY", ignore_missing=True, remove_all=True)
    return history


def fits_differences(left: Path, right: Path, ignore_keywords: Iterable[str] = VOLATILE_KEYWORDS) -> list[str]:
    """How two FITS files differ, apart from ``ignore_keywords`` and times in HISTORY lines.

    Returns
    -------
    list of str
        Empty when the files are equivalent, else one entry per kind of difference (the
        astropy ``FITSDiff`` report, or the differing HISTORY lines), each naming both files.
    """
    problems = []
    with fits.open(left) as a, fits.open(right) as b:
        history_a, history_b = _pop_history(a), _pop_history(b)  # a wrapped line is two cards
        diff = FITSDiff(a, b, ignore_keywords=list(ignore_keywords), ignore_comments=["CHECKSUM", "DATASUM"])
        if not diff.identical:
            problems.append(f"{left} vs {right}:\n{diff.report()}")
    if history_a != history_b:
        problems.append(f"{left} vs {right}: HISTORY differs: {history_a} != {history_b}")
    return problems


def archive_differences(
    left: Path, right: Path, pattern: str = "*.fits", ignore_keywords: Iterable[str] = VOLATILE_KEYWORDS
) -> list[str]:
    """How two archives differ: files present in only one of them, then :func:`fits_differences`.

    Files are matched by their path relative to the archive root (``pattern`` is searched
    recursively; hidden temporary files are not products and are skipped). FITS files are compared
    with :func:`fits_differences`, PNG images by pixels and text metadata, other files as text
    (SVG plots) — wall-clock times masked in all of them (plots record their input's ``DATE``).
    """
    left, right = Path(left), Path(right)

    def products(root: Path) -> dict[Path, Path]:
        return {p.relative_to(root): p for p in root.rglob(pattern) if p.is_file() and not p.name.startswith(".")}

    a, b = products(left), products(right)
    problems = [f"only in {left}: {name}" for name in sorted(a.keys() - b.keys())]
    problems += [f"only in {right}: {name}" for name in sorted(b.keys() - a.keys())]
    for name in sorted(a.keys() & b.keys()):
        suffix = name.suffix.lower()
        if suffix in {".fits", ".fit", ".fts"}:
            problems += fits_differences(a[name], b[name], ignore_keywords)
        elif suffix == ".png":
            problems += [f"{name}: {p}" for p in _png_differences(a[name], b[name])]
        elif _masked(a[name].read_bytes()) != _masked(b[name].read_bytes()):
            problems.append(f"{name}: contents differ")
    return problems


def _masked(content: bytes) -> bytes:
    """Text with wall-clock times masked (plots record their input's ``DATE``); binary unchanged."""
    try:
        return _TIMESTAMP.sub("<time>", content.decode("utf-8")).encode()
    except UnicodeDecodeError:
        return content


def _png_differences(left: Path, right: Path) -> list[str]:
    """Pixels and text metadata (times masked) of two PNG images."""
    from PIL import Image

    with Image.open(left) as a, Image.open(right) as b:
        problems = [] if a.size == b.size and a.tobytes() == b.tobytes() else ["pixels differ"]
        texts = [{k: _TIMESTAMP.sub("<time>", str(v)) for k, v in im.info.items()} for im in (a, b)]
    return problems + ([f"metadata differs: {texts[0]} != {texts[1]}"] if texts[0] != texts[1] else [])
