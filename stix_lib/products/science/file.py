"""Write the L0 or L1 file of one science request (write-once; rewritten only when made from other packets).

The family modules (:mod:`.pixel_data`, :mod:`.spectrogram`, :mod:`.visibility`,
:mod:`.aspect_burst`) give the DATA/CONTROL columns; this module adds the primary header, the
``IDB_VERSIONS`` and ``ENERGIES`` tables and writes the file atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stix_lib.atomic import atomic_write_parts
from stix_lib.conf.energy_channels import EnergyChannelTable, ScienceEnergyChannels, energy_bands
from stix_lib.fits.writer import bintable_parts, primary_bytes
from stix_lib.lb.header import common_header
from stix_lib.products.clock import ObtClock, utc_span
from stix_lib.products.header import NoSoopKeywords, SoopKeywordProvider, obt_string, soop_cards
from stix_lib.products.l0.science import (
    AspectBurst,
    ScienceRequest,
    SpectrogramRequest,
    VisibilityRequest,
    XrayRequest,
    user_ssid,
)
from stix_lib.products.science.aspect_burst import aspect_control_columns, aspect_data_columns
from stix_lib.products.science.columns import Columns, provenance_columns, request_control_columns, write_columns
from stix_lib.products.science.corrections import descale_triggers, fix_time_offset
from stix_lib.products.science.naming import obt_range, science_l0_path, science_l1_path
from stix_lib.products.science.pixel_data import pixel_data_columns
from stix_lib.products.science.spectrogram import spectrogram_data_columns
from stix_lib.products.science.visibility import visibility_data_columns
from stix_lib.ridlut.table import RidLut
from stix_lib.spice.kernels import SpiceKernels

Card = tuple[str, Any, str]


def _data_columns(request: ScienceRequest, obt_beg: float, level: str) -> Columns:
    """DATA columns of the request's family: times relative to ``OBT_BEG`` plus the family's own columns."""
    if isinstance(request, AspectBurst):
        return aspect_data_columns(request, obt_beg, level)
    if isinstance(request, SpectrogramRequest):
        return spectrogram_data_columns(request, obt_beg)
    if isinstance(request, VisibilityRequest):
        return visibility_data_columns(request, obt_beg)
    return pixel_data_columns(request, obt_beg)


def _control_columns(request: ScienceRequest, packets: np.ndarray, raw_files: tuple[str, ...], parent: str) -> Columns:
    """CONTROL columns: one row per request (aspect bursts: one per packet)."""
    if isinstance(request, AspectBurst):
        return aspect_control_columns(request, packets, raw_files, parent)
    return request_control_columns(request, provenance_columns(packets, raw_files, parent))


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
    rid_lut_error
        Why there is no ``rid_lut`` (added to the error of a request whose triggers need it).
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
    rid_lut_error: str | None = None
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
) -> list[Card]:
    """Primary header cards of a science file (COMMENT/HISTORY lines are added by the writer)."""
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
    return cards


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
    cards = _primary_header(
        request,
        out,
        filename=path.name,
        level=level,
        version=version,
        parent=parent,
        raw_files=raw_files,
        span=span,
        factor=factor,
    )
    idb_range = span if packet_times is None else packet_times
    counts = request.control["num_substructures" if "num_substructures" in request.control else "index"]
    n_packets = len(np.atleast_1d(counts))
    ids = np.arange(n_packets) if packets is None else np.asarray(packets)
    stamp = next(str(value) for key, value, _ in cards if key == "DATE")[:19]  # astropy's "updated <time>"
    tables: list[tuple[str, Columns]] = [
        ("CONTROL", _control_columns(request, ids, raw_files, parent)),
        ("DATA", _data_columns(request, span[0], level)),
        (
            "IDB_VERSIONS",
            [
                ("version", np.array([idb_version]), None),
                ("obt_start", np.array([idb_range[0]]), "s"),
                ("obt_end", np.array([idb_range[1]]), "s"),
            ],
        ),
    ]
    energies = _energy_columns(request, out.table_for(span[0]))
    if energies is not None:
        tables.append(("ENERGIES", energies))
    parts: list[bytes | bytearray | memoryview] = [
        primary_bytes(cards, history, comments=comments, style="science", stamp=stamp)
    ]
    for name, columns in tables:
        parts += bintable_parts(name, write_columns(columns), style="science", stamp=stamp)
    atomic_write_parts(path, parts)
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
