"""Column helpers shared by the request families: storage types, times, provenance, CONTROL, writer columns."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from stix_lib.fits.writer import WriteColumn
from stix_lib.products.fits_io import as_min_uint
from stix_lib.products.l0.science import ScienceRequest

Columns = list[tuple[str, np.ndarray, str | None]]


def write_columns(columns: Columns) -> list[WriteColumn]:
    """``columns`` as the shared FITS writer's columns (science card style: units as given)."""
    return [WriteColumn(name, np.asarray(values), unit) for name, values, unit in columns]


def unsigned(values: npt.ArrayLike) -> np.ndarray:
    """``values`` in the smallest unsigned integer type that holds them (as the L0/L1 writer of HK/QL products).

    Values that are not all integral and non-negative are returned unchanged.
    """
    values = np.asarray(values)
    converted = as_min_uint(values)
    return values if converted is None else converted


def centiseconds(values: npt.ArrayLike) -> npt.NDArray[np.uint32]:
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


def comp_err(variance: np.ndarray) -> np.ndarray:
    return np.sqrt(variance).astype(np.float32)


def provenance_columns(packets: np.ndarray, raw_files: tuple[str, ...], parent: str) -> Columns:
    """``packet`` (1 x N), ``raw_file`` (1 x k) and ``parent`` of a one-row request CONTROL."""
    return [
        ("packet", unsigned(np.asarray(packets, dtype=np.int64).reshape(1, -1)), None),
        ("raw_file", np.array([sorted(set(raw_files)) or [" "]]), None),
        ("parent", np.array([parent or " "]), None),
    ]


def request_control_columns(request: ScienceRequest, provenance: Columns) -> Columns:
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


def relative_times(request: ScienceRequest, obt_beg: float) -> Columns:
    """``time`` (centiseconds after ``OBT_BEG``) and ``timedel`` (already centiseconds) of an x-ray request."""
    return [
        ("time", centiseconds((request.time - obt_beg) * 100.0), "cs"),
        ("timedel", centiseconds(request.timedel), "cs"),  # already centiseconds
    ]


def bin_control_index(request: ScienceRequest) -> Columns:
    """DATA ``control_index`` of a one-row request CONTROL: zeros."""
    return [("control_index", np.zeros(len(request.time), dtype=np.uint8), None)]
