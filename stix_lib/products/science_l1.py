"""Per-request L0/L1 files of science X-ray requests (rpd, cpd, scpd): names, layout, write-once.

L0: ``solo_L0_stix-sci-<name>_<obt start coarse:010d>-<obt end coarse:010d>_V<vv>_<rid>-<psc>.fits``
in ``L0/21/6/<ssid>/``, dates as OBT strings. L1 as follows.

Processing spec §4.3 step 2 and §4.8. One file per request:
``solo_L1_stix-sci-<name>_<YYYYMMDDTHHMMSS>-<YYYYMMDDTHHMMSS>_V<vv>_<rid:010d>-<psc:05d>.fits``
(UTC start and end of the request) in ``L1/YYYY/MM/DD/SCI/`` (start date). HDUs ``PRIMARY``,
``CONTROL`` (one row), ``DATA`` (one row per time bin; ``time``/``timedel`` in centiseconds,
``time`` relative to ``OBT_BEG``, so stixpy adds it to ``DATE-OBS``), ``ENERGIES``.

Time/count offset fix (§4.3 step 2, IDB < 2.26.36, more than one bin): a request taken at the
minimum integration time (1 s before 2021-09-06T13:00 UTC, 0.5 s after) gets ``timedel[1:-1] =
timedel[:-2]``, loses its first and last bin and HISTORY "Time and count arrays were shifted to fix
offset"; otherwise COMMENT "Time and count offset not fixed as possibly summed on board".

Science files are write-once: an existing file is never rewritten (:func:`write_xray_l1` returns
``False``). Trigger descaling (§4.5.4/§4.5.5): cpd/scpd triggers compressed with (0, 0, 7) are
descaled with the RID LUT factor of the request (blank -> 30; unknown or duplicate rid ->
``ValueError``), one accumulator per trigger value (``n_groups`` = 1 when one of its detectors is in
the mask, else 0) and ``n_int`` = integration in 0.1 s; header ``TRIG_SCA`` and HISTORY "trigger
descaled with <factor>". Not yet wired into the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from astropy.io import fits

from stix_lib.atomic import atomic_path
from stix_lib.conf.energy_channels import EnergyChannelTable, ScienceEnergyChannels
from stix_lib.idb.history import version_key
from stix_lib.idb.manager import IDBManager
from stix_lib.lb.fits_io import read_lb
from stix_lib.lb.naming import parse_lb_file_name
from stix_lib.lb.request_sequences import request_sequences
from stix_lib.products.clock import ObtClock
from stix_lib.products.header import obt_string
from stix_lib.products.l0.packets import decode_lb_product
from stix_lib.products.l0.science import XRAY_SSIDS, XrayRequest, decode_xray_request
from stix_lib.products.l0.triggers import TRIGGER_GROUPS, is_scaled, unscale
from stix_lib.products.steps import StepResult
from stix_lib.products.writer import ProductWriter
from stix_lib.ridlut.table import RidLut

SHIFTED = "Time and count arrays were shifted to fix offset"
NOT_SHIFTED = "Time and count offset not fixed as possibly summed on board"
_FIX_CHANGE = np.datetime64("2021-09-06T13:00:00")


def fix_time_offset(request: XrayRequest, idb_version: str, start_utc: np.datetime64) -> tuple[XrayRequest, str, str]:
    """Apply the BSD time/count offset fix; return the request, a HISTORY and a COMMENT line."""
    if version_key(idb_version) >= version_key("2.26.36") or len(request.time) <= 1:
        return request, "", ""
    minimum = 100 if start_utc < _FIX_CHANGE else 50
    if int(request.timedel.min()) != minimum:
        return request, "", NOT_SHIFTED
    timedel = request.timedel.copy()
    timedel[1:-1] = timedel[:-2]  # as STIXCore: only timedel moves, the time column is kept
    keep = slice(1, -1)
    fields = {
        name: getattr(request, name)[keep]
        for name in (
            "rcr",
            "pixel_masks",
            "detector_masks",
            "triggers",
            "triggers_var",
            "counts",
            "counts_var",
            "num_pixel_sets",
            "num_energy_groups",
        )
    }
    fixed = replace(request, time=request.time[keep], timedel=timedel[keep], **fields)
    return fixed, SHIFTED, ""


def descale_triggers(request: XrayRequest, rid_lut: RidLut | None) -> tuple[XrayRequest, int | None]:
    """Descaled triggers of a cpd/scpd request compressed with (0, 0, 7), and the factor used.

    Raises
    ------
    ValueError
        Scaled triggers and no RID LUT, or the LUT has no single row for the request.
    """
    skm = request.control.get("compression_scheme_triggers_skm")
    if request.ssid not in (21, 22) or skm is None or not bool(is_scaled(skm)[0]):
        return request, None
    rid = int(request.control["request_id"])
    if rid_lut is None:
        raise ValueError(f"can't get scaling factor for rid {rid}: no RID LUT")
    factor = rid_lut.scaling_factor(rid)
    groups = np.asarray(TRIGGER_GROUPS, dtype=np.int64) - 1
    n_groups = request.detector_masks.astype(bool)[:, groups].any(axis=2).astype(np.int64)  # (T, 16)
    n_int = (request.timedel / 10.0).reshape(-1, 1)
    values, variance = unscale(request.triggers, n_groups=n_groups, n_int=n_int, factor=factor)
    return replace(request, triggers=np.rint(values).astype(np.int64), triggers_var=variance), factor


def _utc_name(value: np.datetime64) -> str:
    return str(np.datetime64(value, "s")).replace("-", "").replace(":", "")


def xray_l0_path(archive: Path, request: XrayRequest, version: int) -> Path:
    """Archive path of a request's L0 file: OBT coarse start-end, ``L0/21/6/<ssid>/``."""
    begin = int(np.floor(request.time[0] - request.timedel[0] / 200.0))
    end = int(np.floor(request.time[-1] + request.timedel[-1] / 200.0))
    rid, psc = int(request.control["request_id"]), int(request.control["tc_packet_seq_control"])
    name = f"solo_L0_stix-sci-{request.name}_{begin:010d}-{end:010d}_V{version:02d}_{rid:010d}-{psc:05d}.fits"
    return archive / "L0" / "21" / "6" / str(request.ssid) / name


def xray_l1_path(archive: Path, request: XrayRequest, clock: ObtClock, version: int) -> Path:
    """Archive path of a request's L1 file (STIXCore name and folder)."""
    begin = float(request.time[0] - request.timedel[0] / 200.0)
    end = float(request.time[-1] + request.timedel[-1] / 200.0)
    utc = clock.to_datetime64(np.array([begin, end]))
    rid, psc = int(request.control["request_id"]), int(request.control["tc_packet_seq_control"])
    name = (
        f"solo_L1_stix-sci-{request.name}_{_utc_name(utc[0])}-{_utc_name(utc[1])}"
        f"_V{version:02d}_{rid:010d}-{psc:05d}.fits"
    )
    day = str(np.datetime64(utc[0], "D")).split("-")
    return archive / "L1" / day[0] / day[1] / day[2] / "SCI" / name


def _table(columns: list[tuple[str, np.ndarray, str | None]], name: str) -> fits.BinTableHDU:
    cols = []
    for col, values, unit in columns:
        values = np.asarray(values)
        shape = values.shape[1:]
        dim = None if len(shape) <= 1 else "(" + ",".join(str(s) for s in reversed(shape)) + ")"
        fmt = f"{int(np.prod(shape)) if shape else 1}{_fits_code(values)}"
        cols.append(fits.Column(name=col, format=fmt, unit=unit, dim=dim, array=values))
    return fits.BinTableHDU.from_columns(cols, name=name)


def _fits_code(values: np.ndarray) -> str:
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind == "U" or kind == "S":
        return "A"
    if kind == "f":
        return "D" if size == 8 else "E"
    if kind == "u" and size == 1:
        return "B"
    return {1: "I", 2: "I", 4: "J", 8: "K"}[size]


def write_xray_l1(
    archive: Path,
    request: XrayRequest,
    clock: ObtClock,
    energies: EnergyChannelTable,
    *,
    idb_version: str,
    version: int = 2,
    parent: str = "",
    raw_files: tuple[str, ...] = (),
    rid_lut: RidLut | None = None,
    level: str = "L1",
) -> tuple[Path, bool]:
    """Write the L1 (or L0) file of one request unless it exists (write-once).

    ``level="L0"``: OBT name and folder (:func:`xray_l0_path`), ``TIMESYS='OBT'`` with OBT strings
    for the dates, no time/count offset fix (an L1 step).

    Returns
    -------
    path, written
        The file and whether it was written now (``False``: it existed and was left as it was).
    """
    if level not in ("L0", "L1"):
        raise ValueError(f"level {level!r}: science files are written at L0 or L1")
    history = comment = ""
    if level == "L1":
        begin0 = float(request.time[0] - request.timedel[0] / 200.0)
        start_utc = clock.to_datetime64(np.array([begin0]))[0]
        request, history, comment = fix_time_offset(request, idb_version, start_utc)
        path = xray_l1_path(archive, request, clock, version)
    else:
        path = xray_l0_path(archive, request, version)
    if path.exists():
        return path, False
    request, factor = descale_triggers(request, rid_lut)
    obt_beg = float(request.time[0] - request.timedel[0] / 200.0)
    obt_end = float(request.time[-1] + request.timedel[-1] / 200.0)
    utc = clock.to_datetime64(np.array([obt_beg, (obt_beg + obt_end) / 2.0, obt_end]))
    if level == "L1":
        iso = [str(np.datetime64(u, "ms")) for u in utc]
    else:
        iso = [obt_string(t) for t in (obt_beg, (obt_beg + obt_end) / 2.0, obt_end)]
    header = fits.Header()
    for key, value in (
        ("FILENAME", path.name),
        ("RAW_FILE", ";".join(sorted(set(raw_files)))),
        ("PARENT", parent),
        ("LEVEL", level),
        ("ORIGIN", "STIX Team, FHNW"),
        ("CREATOR", "stix_lib"),
        ("VERSION", f"{version:02d}"),
        ("OBSRVTRY", "Solar Orbiter"),
        ("TELESCOP", "SOLO/STIX"),
        ("INSTRUME", "STIX"),
        ("STYPE", 21),
        ("SSTYPE", 6),
        ("SSID", request.ssid),
        ("SCI_RID", f"{int(request.control['request_id']):010d}"),
        ("SCI_TCC", f"{int(request.control['tc_packet_seq_control']):05d}"),
        ("DATAMIN", int(request.counts.min())),
        ("DATAMAX", int(request.counts.max())),
        ("BUNIT", "counts"),
        ("XPOSURE", float(request.timedel.min()) / 100.0),
        ("XPOMAX", float(request.timedel.max()) / 100.0),
        ("OBT_BEG", obt_beg),
        ("OBT_END", obt_end),
        ("TIMESYS", "UTC" if level == "L1" else "OBT"),
        ("DATE-OBS", iso[0]),
        ("DATE-BEG", iso[0]),
        ("DATE-AVG", iso[1]),
        ("DATE-END", iso[2]),
        ("COMPLETE", True),
    ):
        header[key] = value
    if factor is not None:
        header["TRIG_SCA"] = (factor, "Descaling factor of the triggers")
    if request.datawarn:
        header["DATAWARN"] = 1
    for line in [*request.comments, comment]:
        if line:
            header["COMMENT"] = line
    if history:
        header["HISTORY"] = history
    if factor is not None:
        header["HISTORY"] = f"trigger descaled with {factor}"
    header["HISTORY"] = f"Processed by stix_lib {level}"
    control = request.control
    control_columns: list[tuple[str, np.ndarray, str | None]] = [
        ("tc_packet_id_ref", np.array([control["tc_packet_id_ref"]], dtype=np.uint16), None),
        ("tc_packet_seq_control", np.array([control["tc_packet_seq_control"]], dtype=np.uint16), None),
        ("request_id", np.array([control["request_id"]], dtype=np.uint32), None),
        ("time_stamp", np.array([control["time_stamp"]], dtype=np.float64), "s"),
        ("index", np.array([0], dtype=np.int64), None),
        ("energy_bin_edge_mask", request.energy_bin_edge_mask.reshape(1, -1).astype(np.uint8), None),
        ("parent", np.array([parent or " "]), None),
    ]
    for name in ("compression_scheme_counts_skm", "compression_scheme_triggers_skm"):
        if name in control:
            control_columns.append((name, np.asarray(control[name], dtype=np.uint8).reshape(1, 3), None))
    n = len(request.time)
    data_columns: list[tuple[str, np.ndarray, str | None]] = [
        ("time", np.rint((request.time - obt_beg) * 100.0).astype(np.int64), "cs"),
        ("timedel", request.timedel.astype(np.int64), "cs"),
        ("rcr", request.rcr.astype(np.uint8), None),
        ("pixel_masks", request.pixel_masks.astype(np.uint8), None),
        ("detector_masks", request.detector_masks.astype(np.uint8), None),
        ("num_pixel_sets", request.num_pixel_sets.astype(np.uint8), None),
        ("num_energy_groups", request.num_energy_groups.astype(np.uint8), None),
        ("triggers", request.triggers.astype(np.int64), None),
        ("triggers_comp_err", np.sqrt(request.triggers_var).astype(np.float32), None),
        ("counts", request.counts.astype(np.int64), "ct"),
        ("counts_comp_err", np.sqrt(request.counts_var).astype(np.float32), "ct"),
        ("control_index", np.zeros(n, dtype=np.int64), None),
    ]
    energy_columns: list[tuple[str, np.ndarray, str | None]] = [
        ("channel", np.arange(32, dtype=np.uint8), None),
        ("e_low", energies.e_lower.astype(np.float32), "keV"),
        ("e_high", energies.e_upper.astype(np.float32), "keV"),
    ]
    hdul = fits.HDUList(
        [
            fits.PrimaryHDU(header=header),
            _table(control_columns, "CONTROL"),
            _table(data_columns, "DATA"),
            _table(energy_columns, "ENERGIES"),
        ]
    )
    with atomic_path(path) as temp:
        hdul.writeto(temp, checksum=True)
    return path, True


@dataclass
class XrayLBResult:
    """What :func:`process_xray_lb` did with one LB file.

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
    """

    written: list[Path] = field(default_factory=list)
    existing: list[Path] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def process_xray_lb(
    lb_path: Path,
    archive: Path,
    idb_manager: IDBManager,
    clock: ObtClock,
    energy_channels: ScienceEnergyChannels,
    *,
    version: int = 2,
    rid_lut: RidLut | None = None,
    levels: tuple[str, ...] = ("L0", "L1"),
) -> XrayLBResult:
    """LB file of one rpd/cpd/scpd request -> L0 and L1 files of its complete sequences.

    Incomplete sequences (:func:`stix_lib.lb.request_sequences.request_sequences`) yield no
    product and are reported; a sequence whose packets need more than one IDB version, fail to
    decode or cannot be combined is reported in ``errors``. ``levels`` selects the files written.
    """
    lb = read_lb(lb_path)
    if lb.key[:2] != (21, 6) or lb.key[2] not in XRAY_SSIDS:
        raise ValueError(f"{lb_path.name}: packet type {lb.key} is not an rpd/cpd/scpd request")
    result = XrayLBResult()
    report = request_sequences(lb.headers["sequence_flag"], lb.headers["sequence_count"], lb.key)
    result.incomplete.extend(report.messages(lb_path.name))
    for sequence in report.complete:
        part = lb.take(np.asarray(sequence.rows, dtype=np.int64))
        batches, errors = decode_lb_product(part, idb_manager)
        result.errors.extend(f"{e.raw_file} packet {e.packet}: {e.reason}" for e in errors)
        if errors or len(batches) != 1:
            result.errors.append(f"{lb_path.name}: request rows {sequence.rows[0]}..{sequence.rows[-1]} skipped")
            continue
        (batch,) = batches
        try:
            request = decode_xray_request(batch)
        except ValueError as exc:
            result.errors.append(f"{lb_path.name}: {exc}")
            continue
        start = clock.to_datetime64(np.array([float(request.time[0])]))[0]
        table = energy_channels.table_for(start)
        raw_files = tuple(sorted(set(np.asarray(batch.raw_file, dtype=str).tolist())))
        for level, parent in (("L0", lb_path.name), ("L1", xray_l0_path(archive, request, version).name)):
            if level not in levels:
                continue
            path, new = write_xray_l1(
                archive,
                request,
                clock,
                table,
                idb_version=batch.version,
                version=version,
                parent=parent,
                raw_files=raw_files,
                rid_lut=rid_lut,
                level=level,
            )
            (result.written if new else result.existing).append(path)
    return result


def is_xray_lb(lb_path: Path) -> bool:
    """True for the LB file of an rpd/cpd/scpd request (by its name)."""
    try:
        parts = parse_lb_file_name(Path(lb_path).name)
    except ValueError:
        return False
    return (parts["service_type"], parts["service_subtype"]) == (21, 6) and parts["ssid"] in XRAY_SSIDS


def xray_lb_step(lb_path: Path, idb_manager: IDBManager, writer: ProductWriter, *, make_l1: bool) -> StepResult:
    """:func:`process_xray_lb` as a pipeline step: L0 (and L1) files into the writer's archive.

    Incomplete sequences are warnings (they complete when later packets arrive), problems of a
    request are file errors; the version is ``max(2, configured version)``.
    """
    step = StepResult(Path(lb_path))
    if writer.energy_channels is None:
        step.file_errors.append(f"{Path(lb_path).name}: no science energy channels (STIX-CONF) configured")
        return step
    try:
        result = process_xray_lb(
            Path(lb_path),
            writer.archive,
            idb_manager,
            writer.clock,
            writer.energy_channels,
            version=max(2, int(writer.processing_version)),
            levels=("L0", "L1") if make_l1 else ("L0",),
        )
    except (ValueError, OSError) as exc:
        step.file_errors.append(f"{Path(lb_path).name}: {exc}")
        return step
    step.written.extend(result.written)
    step.unchanged.extend(result.existing)
    step.warnings.extend(result.incomplete)
    step.file_errors.extend(result.errors)
    return step
