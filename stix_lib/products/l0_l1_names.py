"""File names and archive folders of L0 and L1 products, and their complete/incomplete twins.

* L0: ``solo_L0_stix-<type>-<name>_<day start OBT:010d>_V<vv>[U].fits`` in
  ``<archive>/L0/<service>/<subtype>[/<ssid>]/``, the day start being ``SCET day * 86400``;
* L1: ``solo_L1_stix-<type>-<name>_<YYYYMMDD>_V<vv>[U].fits`` in
  ``<archive>/L1/<YYYY>/<MM>/<DD>/<TYPE>/`` (UTC day, type token upper-cased).

Daily products are written as *incomplete* files (``U`` after the version); publishing later
renames them to the *complete* name (no ``U``). The two names of one product are twins:
:func:`complete_name` / :func:`incomplete_name` convert between them, and writers merge into
whichever twin exists (see :mod:`stix_lib.products.writer`). Parents are always recorded with
their complete name.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from stix_lib.products.catalogue import ProductSpec

SECONDS_PER_DAY = 86400

_INCOMPLETE = re.compile(r"_V(\d+)U([._])")
_COMPLETE = re.compile(r"_V(\d+)([._])")
_PRODUCT = re.compile(
    r"^solo_(?P<level>L0|L1)_stix-(?P<descriptor>[a-z0-9-]+)_(?P<date>\d{10}|\d{8})_V(?P<version>\d+)(?P<u>U?)\.fits$"
)


def is_incomplete_name(name: str) -> bool:
    """Whether ``name`` carries the incomplete status ``U`` after its version (``_V02U.`` / ``_V02U_``)."""
    return _INCOMPLETE.search(name) is not None


def complete_name(name: str) -> str:
    """The complete (published) twin of a file name: ``_V02U.fits`` -> ``_V02.fits``."""
    return _INCOMPLETE.sub(r"_V\1\2", name, count=1)


def incomplete_name(name: str) -> str:
    """The incomplete twin of a file name: ``_V02.fits`` -> ``_V02U.fits`` (unchanged if already)."""
    if _INCOMPLETE.search(name):
        return name
    return _COMPLETE.sub(r"_V\1U\2", name, count=1)


def descriptor(spec: ProductSpec, level: str) -> str:
    """``<type>-<name>`` of a product at a level (underscores become dashes)."""
    return f"{spec.type}-{spec.name_for(level)}".replace("_", "-")


def l0_file_name(spec: ProductSpec, scet_day: int, version: int) -> str:
    """L0 name for SCET day ``scet_day`` (``coarse // 86400``)."""
    status = "U" if spec.daily else ""
    return f"solo_L0_stix-{descriptor(spec, 'L0')}_{scet_day * SECONDS_PER_DAY:010d}_V{version:02d}{status}.fits"


def l0_directory(archive: Path, spec: ProductSpec) -> Path:
    """``<archive>/L0/<service>/<subtype>[/<ssid>]``."""
    folder = Path(archive) / "L0" / str(spec.service_type) / str(spec.service_subtype)
    return folder if spec.ssid is None else folder / str(spec.ssid)


def l1_file_name(spec: ProductSpec, day: date, version: int) -> str:
    """L1 name for UTC day ``day``."""
    status = "U" if spec.daily else ""
    return f"solo_L1_stix-{descriptor(spec, 'L1')}_{day:%Y%m%d}_V{version:02d}{status}.fits"


def l1_directory(archive: Path, spec: ProductSpec, day: date) -> Path:
    """``<archive>/L1/YYYY/MM/DD/<TYPE>``."""
    return Path(archive) / "L1" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / spec.type.upper()


def parse_product_name(name: str) -> dict[str, str | int | bool]:
    """Split an L0/L1 daily product name into ``level, descriptor, date, version, incomplete``.

    Raises
    ------
    ValueError
        If ``name`` is not a daily L0/L1 product name.
    """
    match = _PRODUCT.match(name)
    if not match:
        raise ValueError(f"not an L0/L1 daily product file name: {name}")
    return {
        "level": match["level"],
        "descriptor": match["descriptor"],
        "date": match["date"],
        "version": int(match["version"]),
        "incomplete": bool(match["u"]),
    }
