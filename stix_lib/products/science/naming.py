"""Names, folders and versions of the per-request science files (and which LB files hold requests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stix_lib.lb.lb_names import parse_lb_file_name
from stix_lib.products.clock import ObtClock
from stix_lib.products.l0.science import ALL_SCIENCE_SSIDS, AspectBurst, ScienceRequest, user_ssid
from stix_lib.time.scet import SCETimeDelta

#: Processing version of the science products by user SSID (spec §6.1); others 2.
PRODUCT_VERSIONS = {24: 4}


def product_version(ssid: int, configured: int = 2) -> int:
    """File version of a science product: ``max(product version, configured version)``."""
    return max(PRODUCT_VERSIONS.get(user_ssid(ssid), 2), int(configured))


def obt_range(request: ScienceRequest) -> tuple[float, float]:
    """OBT start and end (seconds) of a request: the edges of its first and last bin or sample.

    Aspect samples are centred on their times (as STIXCore): half a sample, floored to SCET
    ticks, before the first and after the last.
    """
    if isinstance(request, AspectBurst):
        half = SCETimeDelta.from_btime(SCETimeDelta.from_float(request.timedel[[0, -1]]).btime // 2).as_float()
        return float(request.time[0] - half[0]), float(request.time[-1] + half[1])
    return float(request.time[0] - request.timedel[0] / 200.0), float(request.time[-1] + request.timedel[-1] / 200.0)


def _suffix(request: ScienceRequest, version: int) -> str:
    rid = int(request.control["request_id"][0] if isinstance(request, AspectBurst) else request.control["request_id"])
    if isinstance(request, AspectBurst):
        return f"_V{version:02d}_{rid:010d}.fits"
    return f"_V{version:02d}_{rid:010d}-{int(request.control['tc_packet_seq_control']):05d}.fits"


def _utc_name(value: np.datetime64) -> str:
    return str(value.astype("M8[s]")).replace("-", "").replace(":", "")


def science_l0_path(archive: Path, request: ScienceRequest, version: int) -> Path:
    """Archive path of a request's L0 file: OBT coarse start-end, ``L0/21/6/<ssid>/``."""
    begin, end = (int(np.floor(t)) for t in obt_range(request))
    name = f"solo_L0_stix-sci-{request.name}_{begin:010d}-{end:010d}{_suffix(request, version)}"
    return archive / "L0" / "21" / "6" / str(request.ssid) / name


def science_l1_path(archive: Path, request: ScienceRequest, clock: ObtClock, version: int) -> Path:
    """Archive path of a request's L1 file (STIXCore name and folder)."""
    utc = clock.to_datetime64(np.array(obt_range(request)))
    name = f"solo_L1_stix-sci-{request.name}_{_utc_name(utc[0])}-{_utc_name(utc[1])}{_suffix(request, version)}"
    day = str(np.datetime64(utc[0], "D")).split("-")
    return archive / "L1" / day[0] / day[1] / day[2] / "SCI" / name


def is_science_lb(lb_path: Path) -> bool:
    """True for the LB file of science requests (21/6 with a science SSID, by its name)."""
    try:
        parts = parse_lb_file_name(Path(lb_path).name)
    except ValueError:
        return False
    return (parts["service_type"], parts["service_subtype"]) == (21, 6) and parts["ssid"] in ALL_SCIENCE_SSIDS
