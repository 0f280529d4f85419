"""L1 corrections of science requests: the time/count offset fix and trigger descaling."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from stix_lib.idb.version_history import version_key
from stix_lib.products.l0.science import OFFSET_FIX_SSIDS, AspectBurst, ScienceRequest, SpectrogramRequest, user_ssid
from stix_lib.products.l0.triggers import TRIGGER_GROUPS, active_groups, is_scaled, unscale
from stix_lib.products.science.errors import NoRidLut
from stix_lib.ridlut.table import RidLut

SHIFTED = "Time and count arrays were shifted to fix offset"


NOT_SHIFTED = "Time and count offset not fixed as possibly summed on board"


_FIX_CHANGE = np.datetime64("2021-09-06T13:00:00")


def fix_time_offset(
    request: ScienceRequest, idb_version: str, start_utc: np.datetime64
) -> tuple[ScienceRequest, str, str]:
    """Apply the BSD time/count offset fix; return the request, a HISTORY and a COMMENT line."""
    if isinstance(request, AspectBurst) or request.ssid not in OFFSET_FIX_SSIDS:
        return request, "", ""
    if version_key(idb_version) >= version_key("2.26.36") or len(request.time) <= 1:
        return request, "", ""
    minimum = 100 if start_utc < _FIX_CHANGE else 50
    if int(request.timedel.min()) != minimum:
        return request, "", NOT_SHIFTED
    timedel = request.timedel.copy()
    timedel[1:-1] = timedel[:-2]  # as STIXCore: only timedel moves, the time column is kept
    keep = slice(1, -1)
    fields = {name: getattr(request, name)[keep] for name in request.BIN_FIELDS}
    fixed = replace(request, time=request.time[keep], timedel=timedel[keep], **fields)
    return fixed, SHIFTED, ""


def descale_triggers(request: ScienceRequest, rid_lut: RidLut | None) -> tuple[ScienceRequest, int | None]:
    """Descaled triggers of a request compressed with (0, 0, 7), and the factor used.

    Raises
    ------
    NoRidLut
        Scaled triggers and no RID LUT.
    ValueError
        The LUT has no single row for the request.
    """
    if isinstance(request, AspectBurst):
        return request, None
    skm = request.control.get("compression_scheme_triggers_skm")
    if user_ssid(request.ssid) not in (21, 22, 23, 24) or skm is None or not bool(is_scaled(skm)[0]):
        return request, None
    rid = int(request.control["request_id"])
    if rid_lut is None:
        raise NoRidLut(f"can't get scaling factor for rid {rid}: no RID LUT")
    factor = rid_lut.scaling_factor(rid)
    if isinstance(request, SpectrogramRequest):
        n_groups: npt.ArrayLike = active_groups(request.control["detector_masks"])  # summed trigger
        n_int = request.timedel / 10.0
    else:
        groups = np.asarray(TRIGGER_GROUPS, dtype=np.int64) - 1
        n_groups = request.detector_masks.astype(bool)[:, groups].any(axis=2).astype(np.int64)  # (T, 16)
        n_int = (request.timedel / 10.0).reshape(-1, 1)
    values, variance = unscale(request.triggers, n_groups=n_groups, n_int=n_int, factor=factor)
    return replace(request, triggers=np.rint(values).astype(np.int64), triggers_var=variance), factor
