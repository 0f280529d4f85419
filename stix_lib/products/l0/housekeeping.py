"""L0 housekeeping (3/25/1 mini, 3/25/2 maxi) and generic products of other services.

Housekeeping DATA holds one **raw** column per packet parameter, except the group containers
(``NIXG*``) and the SID (``NIX00020``). Column names are the lower-cased parameter descriptions
with spaces as ``_`` and ``_-_`` as ``-`` (``hk_dpu_pcb_t``, ``tc(20,128)_seq_cnt``); columns come
in the IDB's parameter order (by byte offset, then table order), as the reference products
have them. Each column's meta names the parameter (``NIXS``) and its calibration (``PCF_CURTX``,
``None`` when uncalibrated); L1 converts the calibrated ones. Times are the packet header times
(``timedel`` 0).

Generic products (:func:`build_default`) do the same for any other service with parameter names
as column names; parameters repeated inside a packet become vector columns (padded with zeros
to the longest packet).
"""

from __future__ import annotations

import numpy as np

from stix_lib.idb.database import IDB
from stix_lib.products.l0.common import header_control
from stix_lib.products.l0.packets import PacketBatch, ramp
from stix_lib.products.model import bin_centres, control_base
from stix_lib.products.table import ColumnTable

_SKIPPED = ("NIX00020",)
_ACCUMULATED = frozenset({"NIX00078", "NIX00079", "NIX00080", "NIX00081"})
ACCUMULATED_DESCRIPTION = "accumulated over time from last report (reference is time bin end)"


def column_name(description: str) -> str:
    """Housekeeping column name of a parameter description."""
    return description.lower().replace(" ", "_").replace("_-_", "-")


def parameter_order(idb: IDB, service_type: int, service_subtype: int, ssid: int | None) -> tuple[str, ...]:
    """Parameters of a fixed packet by byte offset, then IDB table order (cached on the IDB)."""

    def load() -> tuple[str, ...]:
        info = idb.get_packet_type_info(service_type, service_subtype, ssid)
        if info is None or info.is_variable:
            return ()
        rows = idb._query("SELECT PLF_NAME FROM PLF WHERE PLF_SPID = ? ORDER BY PLF_OFFBY, rowid", (info.spid,))
        return tuple(dict.fromkeys(str(r[0]) for r in rows))

    return idb.cached(("products.parameter_order", service_type, service_subtype, ssid), load)


def _parameters(batch: PacketBatch) -> list[str]:
    key = batch.decoded.layout.key
    names = list(batch.decoded.layout.names)
    ordered = [n for n in parameter_order(batch.idb, *key) if n in names] or names
    return [n for n in ordered if not n.startswith("NIXG") and n not in _SKIPPED]


def _meta(batch: PacketBatch, name: str) -> dict:
    info = batch.idb.get_parameter(name)
    return {"NIXS": name, "PCF_CURTX": info.calibration_id if info is not None else None}


def _header_time_data(control: ColumnTable) -> ColumnTable:
    data = ColumnTable()
    count = len(control)
    data.add("time", bin_centres(control_base(control), np.zeros(count), np.zeros(count)))
    data.add("timedel", np.zeros(count, dtype=np.int64), unit="cs")
    return data


def check_housekeeping(batch: PacketBatch) -> dict[int, str]:
    """Fixed-layout packets decode completely or not at all: nothing to check."""
    return {}


def _housekeeping_columns(batch: PacketBatch) -> tuple[tuple[str, str, dict, str | None], ...]:
    """``(parameter, column, meta, description)`` of each DATA column (cached per IDB and layout)."""

    def load() -> tuple[tuple[str, str, dict, str | None], ...]:
        out = []
        seen: set[str] = set()
        for name in _parameters(batch):
            info = batch.idb.get_parameter(name)
            column = column_name(info.description if info is not None else name)
            if column in seen or column in ("time", "timedel", "control_index"):
                column = f"{column}_{name.lower()}"
            seen.add(column)
            accumulated = name in _ACCUMULATED and batch.decoded.layout.key.ssid == 2
            out.append((name, column, _meta(batch, name), ACCUMULATED_DESCRIPTION if accumulated else None))
        return tuple(out)

    layout = batch.decoded.layout
    return batch.idb.cached(("products.housekeeping_columns", layout.key, layout.names), load)


def build_housekeeping(batch: PacketBatch) -> tuple[ColumnTable, ColumnTable]:
    """Control and data of housekeeping mini/maxi reports (raw values)."""
    control = header_control(batch)
    data = _header_time_data(control)
    for name, column, meta, description in _housekeeping_columns(batch):
        data.add(column, batch.scalar(name).astype(np.int64), meta=meta, description=description)
    data.add("control_index", np.arange(len(batch), dtype=np.int64))
    return control, data


def check_default(batch: PacketBatch) -> dict[int, str]:
    """Nothing to check for generic products."""
    return {}


def build_default(batch: PacketBatch) -> tuple[ColumnTable, ColumnTable]:
    """Control and data of a generic product: one raw column per parameter."""
    control = header_control(batch)
    data = _header_time_data(control)
    for name in [n for n in batch.decoded.layout.names if not n.startswith("NIXG")]:
        counts = batch.counts(name)
        width = int(counts.max()) if len(counts) else 0
        if width == 0:
            continue
        values = batch.values(name).astype(np.int64)
        if np.all(counts == 1):
            column = values
        else:
            column = np.zeros((len(batch), width), dtype=np.int64)
            run, pos = ramp(counts)
            column[run, pos] = values
        data.add(name, column, meta=_meta(batch, name))
    data.add("control_index", np.arange(len(batch), dtype=np.int64))
    return control, data
