"""Per-request L0/L1 files of science (BSD) requests: names, layouts, write-once.

Processing spec §4.2, §4.3, §4.5.4 and §4.8. One file per complete request (request sequence)
and level, for the x-ray requests (20 rpd, 21 cpd, 22 scpd, 23 vis, 24 spec), the aspect bursts
(42) and the auto variants 10-14 (see :mod:`stix_lib.products.l0.science`):

* L0 ``solo_L0_stix-sci-<name>_<obt start coarse:010d>-<obt end coarse:010d>_V<vv>_<rid:010d>-<psc:05d>.fits``
  in ``L0/21/6/<ssid>/`` (dates as OBT strings, ``TIMESYS='OBT'``);
* L1 ``solo_L1_stix-sci-<name>_<YYYYMMDDTHHMMSS>-<YYYYMMDDTHHMMSS>_V<vv>_<rid:010d>-<psc:05d>.fits``
  (UTC start and end) in ``L1/YYYY/MM/DD/SCI/`` (start date);
* aspect bursts have no TC sequence control: ``…_V<vv>_<rid:010d>.fits``.

Versions: ``xray-spec`` (and its auto twin) 4, everything else 2; the file version is the
maximum with the configured version (:func:`product_version`).

HDUs ``PRIMARY``, ``CONTROL`` (one row per request; aspect: one row per packet), ``DATA`` (one
row per time bin or aspect sample; ``time`` relative to ``OBT_BEG``: centiseconds, except the L0
aspect burst, whose ``time``/``timedel`` are float32 seconds), ``IDB_VERSIONS`` (the decoding IDB
over the packets' own header time range, as STIXCore records it) and, except for
aspect bursts, ``ENERGIES`` (the 32 science channels for rpd; for cpd, scpd, spec and vis one row
per pair of consecutive set edges of the request's edge mask, spec §4.3, matching the counts' last
axis). Primary keywords: the common block (``VERS_SW``, ``VERS_CFG``, ``SCI_RID``,
``SCI_TCC`` …), ``DATAMIN``/``DATAMAX``/``BUNIT`` (counts products), ``XPOSURE``/``XPOMAX``, the OBT
range and dates, ``COMPLETE``, ``TRIG_SCA`` and ``DATAWARN`` when they apply; L1 adds the SOOP and
SPICE blocks (:mod:`stix_lib.products.header`, :mod:`stix_lib.spice.fits_keywords`).

Integer storage as for the HK/QL products (spec §5, :mod:`stix_lib.products.fits_io`): DATA
``time``/``timedel`` uint32 centiseconds (not the L0 aspect burst); ``counts``, ``triggers``,
``flux``, CONTROL ``packet`` and the aspect ``index``/``control_index`` in the smallest unsigned type
that holds the values (:func:`~stix_lib.products.fits_io.min_uint_dtype`, so the width follows the
data); the signed visibilities ``real``/``imaginary`` stay int64. Unsigned types are written with
``TZERO`` (``BSCALE`` 1).

Time/count offset fix (§4.3 step 2, SSIDs 20-24 and 10-14, IDB < 2.26.36, more than one bin): a
request taken at the minimum integration time (1 s before 2021-09-06T13:00 UTC, 0.5 s after) gets
``timedel[1:-1] = timedel[:-2]``, loses its first and last bin and HISTORY "Time and count arrays
were shifted to fix offset"; otherwise COMMENT "Time and count offset not fixed as possibly summed
on board".

Trigger descaling (§4.5.4/§4.5.5): triggers compressed with (0, 0, 7) are descaled with the RID
LUT factor of the request (blank -> 30; unknown or duplicate rid, or no LUT -> ``ValueError``);
cpd/scpd/vis: one accumulator per trigger value (``n_groups`` 1 when one of its detectors is in
the mask, else 0), spec: the summed trigger (``n_groups`` = active accumulators); ``n_int`` =
integration in 0.1 s; header ``TRIG_SCA`` and HISTORY "trigger descaled with <factor>".

Science files are write-once: an existing file is never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from stix_lib.atomic import atomic_path
from stix_lib.conf.energy_channels import EnergyChannelTable, ScienceEnergyChannels, energy_bands
from stix_lib.idb.manager import IDBManager
from stix_lib.idb.version_history import version_key
from stix_lib.lb.fits_io import read_lb
from stix_lib.lb.header import common_header
from stix_lib.lb.lb_names import parse_lb_file_name
from stix_lib.lb.request_sequences import request_sequences
from stix_lib.products.clock import ObtClock, utc_span
from stix_lib.products.fits_io import min_uint_dtype
from stix_lib.products.header import NoSoopKeywords, SoopKeywordProvider, obt_string, soop_cards
from stix_lib.products.l0.packets import decode_lb_product
from stix_lib.products.l0.science import (
    ALL_SCIENCE_SSIDS,
    OFFSET_FIX_SSIDS,
    AspectBurst,
    ScienceRequest,
    SpectrogramRequest,
    VisibilityRequest,
    XrayRequest,
    decode_science_request,
    user_ssid,
)
from stix_lib.products.l0.triggers import TRIGGER_GROUPS, active_groups, is_scaled, unscale
from stix_lib.products.sequence_gaps import ArchiveGapExplainer, packet_btimes
from stix_lib.products.steps import StepResult
from stix_lib.products.writer import ProductWriter
from stix_lib.ridlut.table import RidLut
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.time.scet import SCETimeDelta

if TYPE_CHECKING:  # astropy.io.fits is imported by the science writers, not by TM -> LB
    from astropy.io import fits

SHIFTED = "Time and count arrays were shifted to fix offset"
NOT_SHIFTED = "Time and count offset not fixed as possibly summed on board"
_FIX_CHANGE = np.datetime64("2021-09-06T13:00:00")

#: Processing version of the science products by user SSID (spec §6.1); others 2.
PRODUCT_VERSIONS = {24: 4}

Columns = list[tuple[str, np.ndarray, str | None]]


def product_version(ssid: int, configured: int = 2) -> int:
    """File version of a science product: ``max(product version, configured version)``."""
    return max(PRODUCT_VERSIONS.get(user_ssid(ssid), 2), int(configured))


# -- L1 corrections ------------------------------------------------------------------------------
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
    ValueError
        Scaled triggers and no RID LUT, or the LUT has no single row for the request.
    """
    if isinstance(request, AspectBurst):
        return request, None
    skm = request.control.get("compression_scheme_triggers_skm")
    if user_ssid(request.ssid) not in (21, 22, 23, 24) or skm is None or not bool(is_scaled(skm)[0]):
        return request, None
    rid = int(request.control["request_id"])
    if rid_lut is None:
        raise ValueError(f"can't get scaling factor for rid {rid}: no RID LUT")
    factor = rid_lut.scaling_factor(rid)
    if isinstance(request, SpectrogramRequest):
        n_groups: np.ndarray = active_groups(request.control["detector_masks"])  # summed trigger
        n_int = request.timedel / 10.0
    else:
        groups = np.asarray(TRIGGER_GROUPS, dtype=np.int64) - 1
        n_groups = request.detector_masks.astype(bool)[:, groups].any(axis=2).astype(np.int64)  # (T, 16)
        n_int = (request.timedel / 10.0).reshape(-1, 1)
    values, variance = unscale(request.triggers, n_groups=n_groups, n_int=n_int, factor=factor)
    return replace(request, triggers=np.rint(values).astype(np.int64), triggers_var=variance), factor


# -- names -----------------------------------------------------------------------------------------
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
    return str(np.datetime64(value, "s")).replace("-", "").replace(":", "")


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


# -- FITS tables -------------------------------------------------------------------------------------
def _fits_code(values: np.ndarray) -> str:
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind in ("U", "S"):
        return "A"
    if kind == "f":
        return "D" if size == 8 else "E"
    if kind == "u":
        return {1: "B", 2: "I", 4: "J", 8: "K"}[size]  # with BZERO (see _table)
    return {1: "I", 2: "I", 4: "J", 8: "K"}[size]


def _table(columns: Columns, name: str) -> fits.BinTableHDU:
    from astropy.io import fits

    cols = []
    for col, values, unit in columns:
        values = np.asarray(values)
        if values.dtype.kind == "U":
            values = np.char.encode(values, "ascii")
        shape = values.shape[1:]
        width = values.dtype.itemsize if values.dtype.kind == "S" else 1
        count = int(np.prod(shape)) if shape else 1
        dims = (width, *reversed(shape)) if values.dtype.kind == "S" else tuple(reversed(shape))
        # a one-element vector (one energy channel) keeps its axis only with an explicit TDIM
        keep_dim = len(dims) > 1 or (values.dtype.kind != "S" and shape == (1,))
        dim = "(" + ",".join(str(d) for d in dims) + ")" if keep_dim else None
        fmt = f"{count * width}{_fits_code(values)}"
        bzero = 1 << (8 * values.dtype.itemsize - 1) if values.dtype.kind == "u" and values.dtype.itemsize > 1 else None
        cols.append(fits.Column(name=col, format=fmt, unit=unit, dim=dim, array=values, bzero=bzero))
    return fits.BinTableHDU.from_columns(cols, name=name)


def _unsigned(values: npt.ArrayLike) -> np.ndarray:
    """``values`` in the smallest unsigned integer type that holds them (as the L0/L1 writer of HK/QL products).

    Values that are not all integral and non-negative are returned unchanged.
    """
    values = np.asarray(values)
    dtype = min_uint_dtype(values)
    return values.astype(dtype) if dtype is not None else values


def _centiseconds(values: npt.ArrayLike) -> npt.NDArray[np.uint32]:
    """Times in centiseconds as uint32 (spec §5: DATA ``time`` relative to ``OBT_BEG`` and ``timedel``).

    Raises
    ------
    ValueError
        Negative values (a time before ``OBT_BEG``) or values beyond uint32.
    """
    cs = np.rint(np.asarray(values, dtype=np.float64))
    if cs.size and (cs.min() < 0 or cs.max() > np.iinfo(np.uint32).max):
        raise ValueError("DATA time/timedel outside 0 .. 2**32 - 1 centiseconds (time before OBT_BEG?)")
    return cs.astype(np.uint32)


def _provenance(packets: np.ndarray, raw_files: tuple[str, ...], parent: str) -> Columns:
    """``packet`` (1 x N), ``raw_file`` (1 x k) and ``parent`` of a one-row request CONTROL."""
    return [
        ("packet", _unsigned(np.asarray(packets, dtype=np.int64).reshape(1, -1)), None),
        ("raw_file", np.array([sorted(set(raw_files)) or [" "]]), None),
        ("parent", np.array([parent or " "]), None),
    ]


def _request_control(request: ScienceRequest, provenance: Columns) -> Columns:
    control = request.control
    columns: Columns = [
        ("tc_packet_id_ref", np.array([control["tc_packet_id_ref"]], dtype=np.uint16), None),
        ("tc_packet_seq_control", np.array([control["tc_packet_seq_control"]], dtype=np.uint16), None),
        ("request_id", np.array([control["request_id"]], dtype=np.uint32), None),
        ("num_substructures", np.asarray(control["num_substructures"], dtype=np.uint16).reshape(1, -1), None),
        ("index", np.array([0], dtype=np.uint8), None),
        *provenance,
    ]
    for name in ("compression_scheme_counts_skm", "compression_scheme_triggers_skm"):
        if name in control:
            columns.append((name, np.asarray(control[name], dtype=np.uint8).reshape(1, 3), None))
    if "detector_masks" in control:
        columns.append(("detector_masks", np.asarray(control["detector_masks"], dtype=np.uint8).reshape(1, 32), None))
    columns += [
        ("energy_bin_edge_mask", request.energy_bin_edge_mask.reshape(1, -1).astype(np.uint8), None),  # type: ignore[union-attr]
        ("time_stamp", np.array([control["time_stamp"]], dtype=np.float64), "s"),
    ]
    return columns


def _err(variance: np.ndarray) -> np.ndarray:
    return np.sqrt(variance).astype(np.float32)


def _data_columns(request: ScienceRequest, obt_beg: float, level: str) -> Columns:
    """DATA columns: times relative to ``OBT_BEG`` plus the product's own columns."""
    n = len(request.time)
    if isinstance(request, AspectBurst):
        if level == "L0":  # float32 seconds at L0 (spec §4.2)
            times: Columns = [
                ("time", (request.time - obt_beg).astype(np.float32), "s"),
                ("timedel", request.timedel.astype(np.float32), "s"),
            ]
        else:
            times = [
                ("time", _centiseconds((request.time - obt_beg) * 100.0), "cs"),
                ("timedel", _centiseconds(request.timedel * 100.0), "cs"),
            ]
        diodes = [(name, getattr(request, name).astype(np.uint16), None) for name in _DIODES]
        return [*times, *diodes, ("control_index", _unsigned(request.control_index.astype(np.int64)), None)]
    times = [
        ("time", _centiseconds((request.time - obt_beg) * 100.0), "cs"),
        ("timedel", _centiseconds(request.timedel), "cs"),  # already centiseconds
    ]
    index = [("control_index", np.zeros(n, dtype=np.uint8), None)]
    if isinstance(request, SpectrogramRequest):
        return [
            *times,
            ("triggers", _unsigned(request.triggers.astype(np.int64)), None),
            ("rcr", request.rcr.astype(np.uint8), None),
            ("pixel_masks", request.pixel_masks.astype(np.uint8), None),
            ("triggers_comp_err", _err(request.triggers_var), None),
            ("counts", _unsigned(request.counts.astype(np.int64)), "count"),
            ("counts_comp_err", _err(request.counts_var), "count"),
            *index,
        ]
    if isinstance(request, VisibilityRequest):
        masks = [(f"pixel_mask{i + 1}", request.pixel_masks[:, i].astype(np.uint8), None) for i in range(5)]
        return [
            *times,
            ("rcr", request.rcr.astype(np.uint8), None),
            *masks,
            ("detector_masks", request.detector_masks.astype(np.uint8), None),
            ("integration_time", (request.timedel / 100.0).astype(np.float32), "s"),
            ("triggers", _unsigned(request.triggers.astype(np.int64)), None),
            ("triggers_comp_err", _err(request.triggers_var), None),
            ("flux", _unsigned(request.flux.astype(np.int64)), "count"),
            ("flux_comp_err", _err(request.flux_var), "count"),
            ("detector_id", request.detector_id.astype(np.uint8), None),
            ("real", request.real.astype(np.int64), "count"),
            ("real_comp_err", _err(request.real_var), "count"),
            ("imaginary", request.imaginary.astype(np.int64), "count"),
            ("imaginary_comp_err", _err(request.imaginary_var), "count"),
            *index,
        ]
    return [
        *times,
        ("rcr", request.rcr.astype(np.uint8), None),
        ("pixel_masks", request.pixel_masks.astype(np.uint8), None),
        ("detector_masks", request.detector_masks.astype(np.uint8), None),
        ("num_pixel_sets", request.num_pixel_sets.astype(np.uint8), None),
        ("num_energy_groups", request.num_energy_groups.astype(np.uint8), None),
        ("triggers", _unsigned(request.triggers.astype(np.int64)), None),
        ("triggers_comp_err", _err(request.triggers_var), None),
        ("counts", _unsigned(request.counts.astype(np.int64)), "count"),
        ("counts_comp_err", _err(request.counts_var), "count"),
        *index,
    ]


_DIODES = ("cha_diode0", "cha_diode1", "chb_diode0", "chb_diode1")


def _control_columns(request: ScienceRequest, packets: np.ndarray, raw_files: tuple[str, ...], parent: str) -> Columns:
    if not isinstance(request, AspectBurst):
        return _request_control(request, _provenance(packets, raw_files, parent))
    c = request.control
    n = len(c["index"])
    return [
        ("scet_coarse", c["scet_coarse"].astype(np.uint32), None),
        ("scet_fine", c["scet_fine"].astype(np.uint16), None),
        ("summing_value", c["summing_value"].astype(np.uint8), None),
        ("samples", c["samples"].astype(np.uint16), None),
        ("averaging_value", c["averaging_value"].astype(np.uint16), None),
        ("request_id", c["request_id"].astype(np.uint32), None),
        ("index", _unsigned(c["index"].astype(np.int64)), None),
        ("raw_file", np.full(n, ";".join(sorted(set(raw_files))) or " "), None),
        ("packet", _unsigned(np.asarray(packets, dtype=np.int64)), None),
        ("parent", np.full(n, parent or " "), None),
    ]


def _energy_columns(request: ScienceRequest, table: EnergyChannelTable) -> Columns | None:
    if isinstance(request, AspectBurst):
        return None
    if isinstance(request, XrayRequest) and user_ssid(request.ssid) == 20:  # rpd: the 32 native channels
        low, high = table.e_lower, table.e_upper
    else:
        low, high = energy_bands(table, request.energy_bin_edge_mask)
    return [
        ("channel", np.arange(len(low), dtype=np.uint8), None),
        ("e_low", np.asarray(low, dtype=np.float32), "keV"),
        ("e_high", np.asarray(high, dtype=np.float32), "keV"),
    ]


def _counts(request: ScienceRequest) -> np.ndarray | None:
    return None if isinstance(request, AspectBurst | VisibilityRequest) else request.counts


# -- writing -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScienceOutput:
    """Where and with what science files are written.

    Attributes
    ----------
    archive
        FITS archive root.
    clock
        OBT -> UTC conversion (names, dates, energy table date).
    energy_channels
        Science energy channel definitions (or one fixed table).
    vers_cfg, date
        ``VERS_CFG`` and a fixed ``DATE`` (tests); default now.
    kernels, soop
        SPICE kernels and SOOP provider of the L1 header blocks (without kernels the SPICE block
        is ``SPICE_ER = '1'`` with empty values).
    rid_lut
        Trigger scaling factors of the requests.
    l1_gate
        Called with the last on-board time (float seconds) of a request before its L1 file is
        made; a returned reason holds the L1 file back (reported in ``waiting``). The pipeline
        passes :meth:`ProductWriter.l1_kernel_problem`: never an L1 file with the nominal clock.
    """

    archive: Path
    clock: ObtClock
    energy_channels: ScienceEnergyChannels | EnergyChannelTable
    vers_cfg: str = ""
    date: str | None = None
    kernels: SpiceKernels | None = None
    soop: SoopKeywordProvider | None = None
    rid_lut: RidLut | None = None
    l1_gate: Callable[[float], str | None] | None = None

    def table_for(self, obt: float) -> EnergyChannelTable:
        """The energy channel table valid at OBT ``obt``."""
        if isinstance(self.energy_channels, EnergyChannelTable):
            return self.energy_channels
        return self.energy_channels.table_for(self.clock.to_datetime64(np.array([obt]))[0])


def _primary_header(
    request: ScienceRequest,
    out: ScienceOutput,
    *,
    filename: str,
    level: str,
    version: int,
    parent: str,
    raw_files: tuple[str, ...],
    span: tuple[float, float],
    factor: int | None,
    history: list[str],
    comments: list[str],
) -> fits.Header:
    obt_beg, obt_end = span
    if isinstance(request, AspectBurst):
        rid, psc = int(request.control["request_id"][0]), None
        widths = request.timedel
    else:
        rid, psc = int(request.control["request_id"]), int(request.control["tc_packet_seq_control"])
        widths = request.timedel / 100.0
    cards: list[tuple[str, Any, str]] = common_header(
        filename=filename,
        level=level,
        service_type=21,
        service_subtype=6,
        ssid=request.ssid,
        version=version,
        raw_files=raw_files,
        parents=[parent] if parent else [],
        vers_cfg=out.vers_cfg,
        request=(psc, rid),  # type: ignore[arg-type]
        date=out.date,
    )
    counts = _counts(request)
    cards += [
        ("DATAMIN", int(counts.min()) if counts is not None else 0, "Minimum valid physical value"),
        ("DATAMAX", int(counts.max()) if counts is not None else 0, "Maximum valid physical value"),
        ("BUNIT", "counts" if counts is not None else " ", "Unit of the physical values"),
        ("XPOSURE", float(np.min(widths)), "[s] Shortest exposure (integration) time"),
        ("XPOMAX", float(np.max(widths)), "[s] Longest exposure (integration) time"),
    ]
    if level == "L1":
        iso, centre = utc_span(out.clock, obt_beg, obt_end)
        cards += _l1_soop(out, iso)
    else:
        iso = [obt_string(t) for t in (obt_beg, (obt_beg + obt_end) / 2.0, obt_end)]
    system = "UTC" if level == "L1" else "OBT"
    cards += [
        ("OBT_BEG", obt_beg, "Start of acquisition time in OBT"),
        ("OBT_END", obt_end, "End of acquisition time in OBT"),
        ("TIMESYS", system, "System used for time keywords"),
        ("DATE-OBS", iso[0], f"Start of acquisition time in {system}"),
        ("DATE-BEG", iso[0], f"Start of acquisition time in {system}"),
        ("DATE-AVG", iso[1], f"Centre of acquisition time in {system}"),
        ("DATE-END", iso[2], f"End of acquisition time in {system}"),
    ]
    if level == "L1":
        cards += _l1_spice(out, obt_beg, centre)
    cards.append(("COMPLETE", True, "Complete request sequence"))
    if factor is not None:
        cards.append(("TRIG_SCA", factor, "Descaling factor of the triggers"))
    if getattr(request, "datawarn", False):
        cards.append(("DATAWARN", 1, "Data warning, see COMMENT"))
    from astropy.io import fits

    header = fits.Header()
    for key, value, comment in cards:
        bare = fits.Card(key, value)
        room = 80 - max(len(bare.image.rstrip()), 30) - 3  # what is left for " / comment"
        long_string = isinstance(value, str) and len(bare.image) > 80  # CONTINUE cards: no comment
        header.append(bare if long_string or room <= 0 else fits.Card(key, value, comment[:room]))
    for line in comments:
        header["COMMENT"] = line
    for line in history:
        header["HISTORY"] = line
    return header


def _l1_soop(out: ScienceOutput, iso: list[str]) -> list[tuple[str, Any, str]]:
    """SOOP keywords of an L1 header (step 3 of issue 6: filled in by :func:`soop_cards`)."""
    return soop_cards(out.soop if out.soop is not None else NoSoopKeywords(), iso[0], iso[2])


def _l1_spice(out: ScienceOutput, start: float, centre: np.datetime64) -> list[tuple[str, Any, str]]:
    """SPICE keywords of an L1 header (``SPICE_ER`` block without kernels); ``centre`` is UTC."""
    from stix_lib.spice.fits_keywords import KEYWORD_COMMENTS, SPICE_ER_COMMENT, spice_fits_keywords
    from stix_lib.time.scet import SCETime, scet_from_float

    if out.kernels is None:
        return [
            ("SPICE_MK", "", KEYWORD_COMMENTS[0][1]),
            ("SPICE_ER", "1", SPICE_ER_COMMENT),
            *((key, "", comment) for key, comment in KEYWORD_COMMENTS[1:]),
        ]
    return spice_fits_keywords(out.kernels, SCETime(*scet_from_float(start)), centre)


def write_science_file(
    request: ScienceRequest,
    out: ScienceOutput,
    *,
    level: str,
    idb_version: str,
    version: int = 2,
    parent: str = "",
    raw_files: tuple[str, ...] = (),
    packets: np.ndarray | None = None,
    packet_times: tuple[float, float] | None = None,
) -> tuple[Path, bool]:
    """Write the L0 or L1 file of one request unless it exists with the same packets.

    A file made from other packets (the request was completed or corrected by a later delivery)
    is rewritten.

    Parameters
    ----------
    request
        The decoded request.
    out
        Archive, clock, energy tables, header sources, RID LUT.
    level
        ``"L0"`` (OBT name and dates) or ``"L1"`` (UTC name and dates, offset fix, SOOP/SPICE).
    idb_version
        The IDB version the request was decoded with (``IDB_VERSIONS``, offset fix).
    version
        File version (see :func:`product_version`).
    parent, raw_files, packets
        Provenance: parent file name, telemetry files, LB packet ids.
    packet_times
        First and last packet header time (OBT s): the range of ``IDB_VERSIONS``, as STIXCore
        records it (the packets the IDB decoded, not the data); default the data range.

    Returns
    -------
    path, written
        The file and whether it was written now (``False``: it existed with the same packets and
        was left as it was).

    Raises
    ------
    ValueError
        Unknown level, or scaled triggers that cannot be descaled.
    """
    if level not in ("L0", "L1"):
        raise ValueError(f"level {level!r}: science files are written at L0 or L1")
    history: list[str] = []
    comments = list(getattr(request, "comments", []))
    if level == "L1":
        start_utc = out.clock.to_datetime64(np.array([obt_range(request)[0]]))[0]
        request, shifted, not_shifted = fix_time_offset(request, idb_version, start_utc)
        history += [shifted] if shifted else []
        comments += [not_shifted] if not_shifted else []
        path = science_l1_path(out.archive, request, out.clock, version)
    else:
        path = science_l0_path(out.archive, request, version)
    if path.exists() and same_packets(path, packets, raw_files):
        return path, False
    request, factor = descale_triggers(request, out.rid_lut)
    if factor is not None:
        history.append(f"trigger descaled with {factor}")
    history.append(f"Processed by stix_lib {level}")
    span = obt_range(request)
    header = _primary_header(
        request,
        out,
        filename=path.name,
        level=level,
        version=version,
        parent=parent,
        raw_files=raw_files,
        span=span,
        factor=factor,
        history=history,
        comments=comments,
    )
    idb_range = span if packet_times is None else packet_times
    n_packets = len(np.atleast_1d(request.control.get("num_substructures", request.control.get("index"))))
    ids = np.arange(n_packets) if packets is None else np.asarray(packets)
    from astropy.io import fits

    hdus: list[fits.BinTableHDU] = [
        _table(_control_columns(request, ids, raw_files, parent), "CONTROL"),
        _table(_data_columns(request, span[0], level), "DATA"),
        _table(
            [
                ("version", np.array([idb_version]), None),
                ("obt_start", np.array([idb_range[0]]), "s"),
                ("obt_end", np.array([idb_range[1]]), "s"),
            ],
            "IDB_VERSIONS",
        ),
    ]
    energies = _energy_columns(request, out.table_for(span[0]))
    if energies is not None:
        hdus.append(_table(energies, "ENERGIES"))
    hdul = fits.HDUList([fits.PrimaryHDU(header=header), *hdus])
    with atomic_path(path) as temp:
        hdul.writeto(temp, checksum=True)
    return path, True


def same_packets(path: Path, packets: np.ndarray | None, raw_files: tuple[str, ...]) -> bool:
    """True when the science file ``path`` was made from ``packets`` of ``raw_files`` (its CONTROL provenance).

    An unreadable file counts as different (it is rewritten).
    """
    if packets is None:
        return True
    from astropy.io import fits

    try:
        with fits.open(path) as hdul:
            control = hdul["CONTROL"].data
            stored = np.sort(np.asarray(control["packet"], dtype=np.int64).ravel())
            files = {f for value in np.asarray(control["raw_file"]).ravel().tolist() for f in str(value).split(";")}
    except (OSError, KeyError, ValueError, TypeError):
        return False
    files = {f.strip() for f in files if f.strip()}
    return np.array_equal(stored, np.sort(np.asarray(packets, dtype=np.int64).ravel())) and files == set(raw_files)


@dataclass
class ScienceLBResult:
    """What :func:`process_science_lb` did with one LB file.

    Attributes
    ----------
    written
        Files written now (L0 and L1 of each complete request).
    existing
        Files that existed already (write-once: left as they were).
    incomplete
        One line per incomplete sequence (no product).
    errors
        Packets or requests left out, with the reason.
    waiting
        L1 files held back by :attr:`ScienceOutput.l1_gate`, with the reason.
    """

    written: list[Path] = field(default_factory=list)
    existing: list[Path] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


def process_science_lb(
    lb_path: Path,
    out: ScienceOutput,
    idb_manager: IDBManager,
    *,
    version: int = 2,
    levels: tuple[str, ...] = ("L0", "L1"),
) -> ScienceLBResult:
    """LB file of science requests -> L0 and L1 files of its complete sequences.

    Incomplete sequences (:func:`stix_lib.lb.request_sequences.request_sequences`) yield no
    product and are reported; a sequence whose packets need more than one IDB version, fail to
    decode, cannot be combined or cannot be descaled is reported in ``errors``. ``levels``
    selects the files written; ``version`` is the configured version (see :func:`product_version`).
    """
    lb = read_lb(lb_path)
    if lb.key[:2] != (21, 6) or lb.key[2] not in ALL_SCIENCE_SSIDS:
        raise ValueError(f"{lb_path.name}: packet type {lb.key} is not a science request")
    result = ScienceLBResult()
    file_version = product_version(int(lb.key[2]), version)  # type: ignore[arg-type]
    report = request_sequences(
        lb.headers["sequence_flag"],
        lb.headers["sequence_count"],
        lb.key,
        times=packet_btimes(lb.headers),
        explain=ArchiveGapExplainer.for_request(out.archive, lb.headers),
    )
    result.incomplete.extend(report.messages(lb_path.name))
    for sequence in report.complete:
        part = lb.take(np.asarray(sequence.rows, dtype=np.int64))
        batches, errors = decode_lb_product(part, idb_manager)
        result.errors.extend(str(e) for e in errors)
        rows = f"{lb_path.name}: request rows {sequence.rows[0]}..{sequence.rows[-1]}"
        if errors or len(batches) != 1:
            result.errors.append(f"{rows} skipped")
            continue
        (batch,) = batches
        try:
            request = decode_science_request(batch)
        except ValueError as exc:
            result.errors.append(f"{rows}: {exc}")
            continue
        if request is None:  # an aspect burst without samples
            continue
        raw_files = tuple(sorted(set(np.asarray(batch.raw_file, dtype=str).tolist())))
        times = batch.header_times()
        parents = {"L0": lb_path.name, "L1": science_l0_path(out.archive, request, file_version).name}
        for level in ("L0", "L1"):
            if level not in levels:
                continue
            if level == "L1" and out.l1_gate is not None:
                problem = out.l1_gate(float(obt_range(request)[1]))
                if problem is not None:
                    result.waiting.append(f"{rows} -> L1: {problem}")
                    continue
            try:
                path, new = write_science_file(
                    request,
                    out,
                    level=level,
                    idb_version=batch.version,
                    version=file_version,
                    parent=parents[level],
                    raw_files=raw_files,
                    packets=np.asarray(batch.packet),
                    packet_times=(float(times.min()), float(times.max())),
                )
            except ValueError as exc:
                result.errors.append(f"{rows} -> {level}: {exc}")
                break
            (result.written if new else result.existing).append(path)
    return result


def is_science_lb(lb_path: Path) -> bool:
    """True for the LB file of science requests (21/6 with a science SSID, by its name)."""
    try:
        parts = parse_lb_file_name(Path(lb_path).name)
    except ValueError:
        return False
    return (parts["service_type"], parts["service_subtype"]) == (21, 6) and parts["ssid"] in ALL_SCIENCE_SSIDS


def science_lb_step(
    lb_path: Path,
    idb_manager: IDBManager,
    writer: ProductWriter,
    *,
    make_l1: bool,
    rid_lut: RidLut | None = None,
    rid_lut_error: str | None = None,
) -> StepResult:
    """:func:`process_science_lb` as a pipeline step: L0 (and L1) files into the writer's archive.

    Incomplete sequences are warnings (they complete when later packets arrive), problems of a
    request are file errors. Archive, clock, versions, SPICE and SOOP come from the writer.
    ``rid_lut_error`` (why no LUT is available) is added to a request's error when its triggers
    need descaling.
    """
    step = StepResult(Path(lb_path))
    if writer.energy_channels is None:
        step.file_errors.append(f"{Path(lb_path).name}: no science energy channels (STIX-CONF) configured")
        return step
    out = ScienceOutput(
        writer.archive,
        writer.clock,
        writer.energy_channels,
        vers_cfg=writer.vers_cfg,
        date=writer.date,
        kernels=writer.kernels,
        soop=writer.soop,
        rid_lut=rid_lut,
        l1_gate=writer.l1_kernel_problem,
    )
    try:
        result = process_science_lb(
            Path(lb_path),
            out,
            idb_manager,
            version=int(writer.processing_version),
            levels=("L0", "L1") if make_l1 else ("L0",),
        )
    except (ValueError, OSError) as exc:
        step.file_errors.append(f"{Path(lb_path).name}: {exc}")
        return step
    step.written.extend(result.written)
    step.unchanged.extend(result.existing)
    step.warnings.extend(result.incomplete)
    step.waiting.extend(result.waiting)
    if rid_lut_error:
        result.errors = [f"{e} ({rid_lut_error})" if "no RID LUT" in e else e for e in result.errors]
    step.file_errors.extend(result.errors)
    return step
