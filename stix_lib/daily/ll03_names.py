"""Names and archive locations of LL03 quick-look plots, and version parsing of their inputs."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from stix_lib.products.l0_l1_names import complete_name  # noqa: F401 - re-exported for plots users

#: ``(prefix up to _V)(version)[U](rest)``: groups input files that differ only in version/status.
VERSION_PATTERN = re.compile(r"^(.*_V)([0-9]+)U?([._].*)$")


def ll03_stem(day: date, version: int) -> str:
    """``solo_LL03_stix-ql-lightcurve_<day>T000000-<day>T235959_V<vv>C`` (status ``C``: complete day plot)."""
    stamp = day.strftime("%Y%m%d")
    return f"solo_LL03_stix-ql-lightcurve_{stamp}T000000-{stamp}T235959_V{version:02d}C"


def ll03_dir(archive_dir: Path, day: date) -> Path:
    """``<archive>/LL03/YYYY/MM/DD/QL``."""
    return Path(archive_dir) / "LL03" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / "QL"


def ll03_paths(archive_dir: Path, day: date, version: int) -> tuple[Path, Path]:
    """The SVG (the product) and PNG (preview) paths of the plot of ``day``."""
    folder = ll03_dir(archive_dir, day)
    stem = ll03_stem(day, version)
    return folder / f"{stem}.svg", folder / f"{stem}.png"


def version_of(name: str) -> tuple[str, int] | None:
    """``(group key, version)`` of a versioned file name, None when it has no ``_V<n>``."""
    match = VERSION_PATTERN.match(name)
    if match is None:
        return None
    return match.group(1) + "*" + match.group(3), int(match.group(2))


def newer_versions(path: Path) -> list[Path]:
    """Siblings of ``path`` that are the same product with a higher version number."""
    path = Path(path)
    mine = version_of(path.name)
    if mine is None or not path.parent.is_dir():
        return []
    key, version = mine
    out = []
    for other in sorted(path.parent.iterdir()):
        theirs = version_of(other.name)
        if theirs is not None and theirs[0] == key and theirs[1] > version:
            out.append(other)
    return out
