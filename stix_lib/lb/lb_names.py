"""Level Binary (LB) file names and archive locations.

* daily products: ``solo_LB_stix-<type>-<subtype>[-<ssid>]_<day start OBT:010d>_V<vv>.fits``
  where the day start is ``(coarse // 86400) * 86400``;
* science (BSD) products, one per request:
  ``solo_LB_stix-<type>-<subtype>-<ssid>_0000000000-9999999999_V<vv>_<rid:010d>-<psc:05d>.fits``;
* folder: ``<archive>/LB/<type>/<subtype>[/<ssid>]/``.
"""

from __future__ import annotations

import re
from pathlib import Path

SECONDS_PER_DAY = 86400
BSD_OBS_RANGE = "0000000000-9999999999"

_NAME = re.compile(
    r"^solo_LB_stix-(?P<t>\d+)-(?P<st>\d+)(?:-(?P<ssid>\d+))?_(?P<obs>\d{10}|\d{10}-\d{10})_V(?P<v>\d+)"
    r"(?:_(?P<rid>\d{10})-(?P<psc>\d{5}))?\.fits$"
)


def type_label(service_type: int, service_subtype: int, ssid: int | None) -> str:
    """``"<type>-<subtype>[-<ssid>]"``."""
    base = f"{service_type}-{service_subtype}"
    return base if ssid is None else f"{base}-{ssid}"


def lb_file_name(
    service_type: int,
    service_subtype: int,
    ssid: int | None,
    *,
    version: int,
    day: int | None = None,
    request: tuple[int, int] | None = None,
) -> str:
    """Return the LB file name for a daily product (``day``) or a BSD request ``(psc, rid)``.

    Parameters
    ----------
    day
        SCET day number (``coarse // 86400``) of a daily product.
    request
        ``(psc, rid)`` of a science product.

    Raises
    ------
    ValueError
        Unless exactly one of ``day`` and ``request`` is given.
    """
    if (day is None) == (request is None):
        raise ValueError("give exactly one of day and request")
    label = type_label(service_type, service_subtype, ssid)
    if request is not None:
        psc, rid = request
        return f"solo_LB_stix-{label}_{BSD_OBS_RANGE}_V{version:02d}_{rid:010d}-{psc:05d}.fits"
    assert day is not None
    return f"solo_LB_stix-{label}_{day * SECONDS_PER_DAY:010d}_V{version:02d}.fits"


def lb_directory(archive: Path, service_type: int, service_subtype: int, ssid: int | None) -> Path:
    """``<archive>/LB/<type>/<subtype>[/<ssid>]``."""
    folder = Path(archive) / "LB" / str(service_type) / str(service_subtype)
    return folder if ssid is None else folder / str(ssid)


def parse_lb_file_name(name: str) -> dict[str, int | None]:
    """Parse an LB file name back into ``service_type, service_subtype, ssid, version, day, psc, rid``.

    Raises
    ------
    ValueError
        If ``name`` is not an LB file name.
    """
    match = _NAME.match(name)
    if not match:
        raise ValueError(f"not an LB file name: {name}")
    obs = match["obs"]
    return {
        "service_type": int(match["t"]),
        "service_subtype": int(match["st"]),
        "ssid": int(match["ssid"]) if match["ssid"] else None,
        "version": int(match["v"]),
        "day": None if "-" in obs else int(obs) // SECONDS_PER_DAY,
        "psc": int(match["psc"]) if match["psc"] else None,
        "rid": int(match["rid"]) if match["rid"] else None,
    }
