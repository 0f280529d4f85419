"""Pieces shared by the L0 builders: masks, compression schemes, control columns, assembly.

* Bit masks are expanded to one 0/1 byte per bit: detector (32) and pixel (12) masks and the low
  32 energy edges least significant bit first (bit ``i`` = detector/pixel/edge ``i``), the
  variance energy mask most significant bit first (as the instrument defines it).
* The quick-look control block is ``scet_coarse`` (NIX00445), ``scet_fine`` (NIX00446, 0 when
  absent), ``integration_time`` = engineering NIX00405 + 0.1 s (quick-look integrations last
  ``(raw + 1) * 0.1 s``), ``index``, ``raw_file``, ``packet``, ``parent``.
* :func:`assemble` stacks the per-IDB-version parts of a product, sets ``parent`` and returns the
  canonical, de-duplicated product.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from stix_lib.products.catalogue import ProductSpec
from stix_lib.products.l0.packets import PacketBatch
from stix_lib.products.merge import deduplicate
from stix_lib.products.model import Product, merge_idb_versions
from stix_lib.products.table import ColumnTable

#: Added to the engineering value of NIX00405 for quick-look integration times (seconds).
QL_INTEGRATION_OFFSET = 0.1

COMP_ERR = "Error due only to integer compression"


class ProductBuildError(ValueError):
    """A product cannot be built from its packets (the whole product is skipped)."""


def bits_lsb_first(values: npt.ArrayLike, nbits: int) -> npt.NDArray[np.uint8]:
    """``(n, nbits)`` 0/1 array, column ``i`` = bit ``i`` (least significant first)."""
    v = np.asarray(values, dtype=np.uint64).reshape(-1, 1)
    return ((v >> np.arange(nbits, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)


def bits_msb_first(values: npt.ArrayLike, nbits: int) -> npt.NDArray[np.uint8]:
    """``(n, nbits)`` 0/1 array, column 0 = most significant bit."""
    return bits_lsb_first(values, nbits)[:, ::-1].copy()


def energy_edge_mask(batch: PacketBatch, low: str, high: str) -> npt.NDArray[np.uint8]:
    """33-element edge mask: 32 low edges (``low``, LSB first) plus the upper edge bit ``high``."""
    lower = bits_lsb_first(batch.scalar(low), 32)
    upper = (np.asarray(batch.scalar(high)) & 1).astype(np.uint8).reshape(-1, 1)
    return np.hstack([lower, upper])


def skm(batch: PacketBatch, parameter: str) -> npt.NDArray[np.uint8]:
    """``(n, 3)`` compression scheme (s, k, m) of a compressed parameter per packet."""
    if parameter in batch.decompressed:
        return batch.decompressed[parameter].skm.astype(np.uint8)
    return np.zeros((len(batch), 3), dtype=np.uint8)


def skm_meta(batch: PacketBatch, parameter: str) -> dict:
    """``NIXS``/``PCF_CURTX`` metadata naming the (s, k, m) parameters of ``parameter``."""
    from stix_lib.decode.skm import compression_sources

    source = compression_sources(batch.decoded.layout.key.ssid, batch.version).get(parameter)
    names = list(source.parameters) if source else []
    return {"NIXS": names, "PCF_CURTX": [None] * len(names)}


def integration_cs(batch: PacketBatch, offset: float = QL_INTEGRATION_OFFSET) -> npt.NDArray[np.int64]:
    """Integration time per packet in centiseconds: engineering NIX00405 + ``offset`` seconds."""
    seconds = batch.engineering("NIX00405", batch.scalar("NIX00405")) + offset
    return np.rint(np.asarray(seconds, dtype=np.float64) * 100.0).astype(np.int64)


def provenance_columns(control: ColumnTable, batch: PacketBatch) -> None:
    """Append ``index``, ``raw_file``, ``packet`` and an empty ``parent``."""
    count = len(batch)
    control.add("index", np.arange(count, dtype=np.int64))
    control.add("raw_file", np.asarray(batch.raw_file, dtype=str))
    control.add("packet", np.asarray(batch.packet, dtype=np.int64))
    control.add("parent", np.full(count, "", dtype="U1"))


def ql_control(batch: PacketBatch) -> tuple[ColumnTable, npt.NDArray[np.int64]]:
    """The quick-look control block and the integration time per packet (cs)."""
    control = ColumnTable()
    control.add("scet_coarse", batch.scalar("NIX00445").astype(np.uint32), meta={"NIXS": "NIX00445"})
    control.add("scet_fine", batch.scalar("NIX00446", default=0).astype(np.int64), meta={"NIXS": "NIX00446"})
    cs = integration_cs(batch)
    control.add("integration_time", cs / 100.0, unit="s")
    provenance_columns(control, batch)
    return control, cs


def header_control(batch: PacketBatch, *, integration: bool = True) -> ColumnTable:
    """Control block timed by the packet headers (housekeeping, flare list, generic products)."""
    control = ColumnTable()
    control.add("scet_coarse", batch.headers["scet_coarse"].astype(np.int64))
    control.add("scet_fine", batch.headers["scet_fine"].astype(np.int64))
    if integration:
        control.add("integration_time", np.zeros(len(batch), dtype=np.int64))
    provenance_columns(control, batch)
    return control


def check_counts(batch: PacketBatch, expected: dict[str, npt.ArrayLike]) -> dict[int, str]:
    """Packets whose number of values of a parameter differs from ``expected`` (per packet)."""
    bad: dict[int, str] = {}
    for name, want in expected.items():
        have = batch.counts(name)
        want_arr = np.asarray(want, dtype=np.int64)
        if want_arr.shape == have.shape and bool((have == want_arr).all()):
            continue  # usual: every packet as expected
        want_arr = np.broadcast_to(want_arr, have.shape)
        for p in np.flatnonzero(have != want_arr).tolist():
            bad.setdefault(p, f"{name}: {have[p]} values, expected {want_arr[p]}")
    return bad


def idb_ranges(batches: Sequence[PacketBatch]) -> dict[str, tuple[float, float]]:
    """IDB version -> (first, last) packet header time of the packets decoded with it."""
    ranges = []
    for batch in batches:
        times = batch.header_times()
        if len(times):
            ranges.append({batch.version: (float(times.min()), float(times.max()))})
    return merge_idb_versions(*ranges)


def assemble(
    spec: ProductSpec,
    parts: Sequence[tuple[ColumnTable, ColumnTable]],
    *,
    parent: str,
    idb_versions: dict[str, tuple[float, float]],
) -> Product | None:
    """Stack per-batch ``(control, data)`` parts into one canonical L0 product (``None`` if empty)."""
    controls, datas = [], []
    offset = 0
    for control, data in parts:
        if not len(data):
            continue
        control = control.shallow_copy()
        data = data.shallow_copy()
        control.replace_values("index", np.asarray(control["index"], dtype=np.int64) + offset)
        data.replace_values("control_index", np.asarray(data["control_index"], dtype=np.int64) + offset)
        offset += len(control)
        controls.append(control)
        datas.append(data)
    if not datas:
        return None
    control = ColumnTable.concatenate(controls)
    control.replace_values("parent", np.full(len(control), parent, dtype=f"U{max(len(parent), 1)}"))
    product = Product(spec, "L0", control, ColumnTable.concatenate(datas), dict(idb_versions))
    return deduplicate(product)
