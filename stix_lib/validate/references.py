"""Find the reference product of the same type as a file (by level and product descriptor)."""

from __future__ import annotations

import re
from pathlib import Path

from astropy.io import fits

_NAME = re.compile(r"^solo_(?P<level>[A-Z0-9]+)_stix-(?P<descriptor>[a-z0-9-]+?)_(?P<dates>[0-9T-]+)_V")


def normalise_descriptor(descriptor: str) -> str:
    """Canonical descriptor: the V01 reference ``ql-ql-tmstatusflarelist`` becomes ``ql-tmstatusflarelist``."""
    return re.sub(r"^(\w+)-\1-", r"\1-", descriptor)


def product_key(path: Path) -> tuple[str, str] | None:
    """``(level, descriptor)`` of a product, from its file name, else from ``FILENAME`` in its header.

    Returns None when neither is a STIX product name.
    """
    match = _NAME.match(Path(path).name)
    if match is None:
        try:
            name = str(fits.getval(path, "FILENAME", ext=0))
        except (OSError, KeyError, ValueError, IndexError):
            return None
        match = _NAME.match(name)
        if match is None:
            return None
    return match.group("level"), normalise_descriptor(match.group("descriptor"))


def index_references(reference_dir: Path) -> dict[tuple[str, str], Path]:
    """Reference files by ``(level, descriptor)`` (the first by name when several share a key)."""
    refs: dict[tuple[str, str], Path] = {}
    for path in sorted(Path(reference_dir).glob("solo_*.fits")):
        if path.name.startswith("._"):
            continue
        key = product_key(path)
        if key is not None:
            refs.setdefault(key, path)
    return refs
