"""LB -> L0 in chunks of packets: memory follows the chunk and the product, not the LB file.

Decoding a packet costs far more memory than its bytes (flat int64 values, decompressed values
and variances, the built columns before duplicates are dropped). :func:`build_l0_chunked` decodes
and builds the packets of an LB product a chunk at a time (chunks come from
:func:`stix_lib.lb.fits_io.iter_lb_chunks`), keeps only each chunk's de-duplicated part and
stacks the parts. The result is the product, errors and notes of
:func:`stix_lib.products.l0.build_l0` on the whole LB product, because

* rows of a kind in :data:`CHUNKED_KINDS` depend on their own packet only, except quick-look
  spectra rows, which may run on into the next packet of the same base time: a chunk's trailing
  packets that could still join a row are carried into the next chunk (:func:`_spectra_carry`);
* duplicates are dropped first-wins in packet order per IDB version, then over the versions in
  version order, as :func:`~stix_lib.products.l0.common.assemble` does on the whole product (the
  first row of a key in the stack is the first of the first part holding it);
* checks that look at the whole batch (the majority of light-curve energy numbers, the spectra
  detector check done only when no packet has count errors) decide differently only when a
  chunk has check failures or the chunks disagree on the majority: then, and when a chunk's
  rows cannot be built or stacked, the whole LB product is built at once
  (:func:`~stix_lib.products.l0.build_l0`), so damaged input gives the same errors too.

Other kinds (calibration spectra summed over packets of one accumulation, generic products whose
column widths depend on all packets, the flare list) are built at once, and so is an LB product
that comes in one chunk (most files: nothing to carry, stack or compact).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import numpy as np

from stix_lib.idb.manager import IDBManager
from stix_lib.idb.version_history import version_key
from stix_lib.lb.product import LBProduct
from stix_lib.products.catalogue import ProductSpec, product_spec
from stix_lib.products.l0 import BUILDERS, L0Build, build_l0
from stix_lib.products.l0.common import ProductBuildError, assemble, idb_ranges
from stix_lib.products.l0.packets import PacketBatch, decode_lb_rows
from stix_lib.products.model import Product, merge_idb_versions
from stix_lib.tm.errors import PacketError

#: Product kinds built chunk by chunk (the others at once, see the module docstring).
CHUNKED_KINDS = frozenset({"hk", "lightcurve", "background", "spectra", "variance", "flareflag"})


class _WholeBuildNeeded(Exception):
    """The chunks cannot reproduce the whole build (check failures): build at once."""


def _energy_majority(batch: PacketBatch) -> int:
    """The most frequent number of energies (NIX00270) of a batch (smallest of equals)."""
    values, counts = np.unique(batch.scalar("NIX00270").astype(np.int64), return_counts=True)
    return int(values[np.argmax(counts)])


#: Batch-wide decision of a kind's check: equal in every chunk, or the chunks are not used.
_BATCH_WIDE: dict[str, Callable[[PacketBatch], int]] = {
    "lightcurve": _energy_majority,
    "background": _energy_majority,
}


def _spectra_carry(batch: PacketBatch) -> int:
    """Rows of ``batch`` from which its packets may still join a spectra row of the next chunk.

    :func:`~stix_lib.products.l0.quicklook.spectra_rows` lets a row run on into the next entry
    of the same packet base time: every packet from the first of the trailing run whose entries
    share the last entry's base time (packets without entries are transparent) is carried.
    """
    entries = batch.scalar("NIX00089").astype(np.int64)
    have = np.flatnonzero(entries > 0)
    if not len(have):
        return len(batch)
    coarse = batch.scalar("NIX00445").astype(np.float64)
    fine = batch.scalar("NIX00446", default=0).astype(np.float64)
    base = coarse + fine / 65535.0
    last = base[have[-1]]
    other = have[base[have] != last]
    return int(other[-1]) + 1 if len(other) else 0


#: Bytes of de-duplicated chunk parts held before they are stacked and de-duplicated together.
COMPACT_BYTES = 8 * 2**20


def _nbytes(product: Product) -> int:
    return sum(c.values.nbytes for table in (product.control, product.data) for _, c in table.columns())


class _Parts:
    """De-duplicated parts of one IDB version, compacted (stacked and de-duplicated) as they grow.

    Compacted when the parts added since the last compaction hold more than the compacted
    product or :data:`COMPACT_BYTES` (memory at most about twice the product; linear time).
    """

    def __init__(self) -> None:
        self.products: list[Product] = []
        self.compacted = 0
        self.pending = 0

    def add(self, product: Product, spec: ProductSpec, parent: str) -> None:
        # own copies: the de-duplicated rows may be views into the chunk's whole table
        product = Product(product.spec, product.level, product.control.copy(), product.data.copy())
        self.products.append(product)
        self.pending += _nbytes(product)
        if self.pending > max(self.compacted, COMPACT_BYTES):
            merged = assemble(spec, [(p.control, p.data) for p in self.products], parent=parent, idb_versions={})
            self.products = [merged] if merged is not None else []
            self.compacted = _nbytes(merged) if merged is not None else 0
            self.pending = 0


def build_l0_chunked(
    chunks: Callable[[], Iterator[LBProduct]], idb_manager: IDBManager, *, parent: str
) -> L0Build:
    """Build the L0 product of an LB product given in chunks (see the module docstring).

    Parameters
    ----------
    chunks
        Returns a fresh iterator over the LB product's rows in consecutive chunks (called again
        when the whole product has to be built at once).
    idb_manager, parent
        As for :func:`~stix_lib.products.l0.build_l0`.

    Raises
    ------
    stix_lib.products.catalogue.NoProductError, ProductBuildError
        As :func:`~stix_lib.products.l0.build_l0`; errors of the chunk reader propagate.
    """
    iterator = chunks()
    first = next(iterator, None)
    if first is None:
        raise ValueError("an LB product without chunks")
    spec = product_spec(*first.key)
    second = next(iterator, None)
    if second is None:  # one chunk: it is the whole product
        return build_l0(first, idb_manager, parent=parent)
    if spec.kind not in CHUNKED_KINDS:
        return build_l0(LBProduct.concatenate([first, second, *iterator]), idb_manager, parent=parent)
    try:
        return _build_in_chunks(spec, first, itertools.chain([second], iterator), idb_manager, parent)
    except _WholeBuildNeeded:
        return build_l0(LBProduct.concatenate(list(chunks())), idb_manager, parent=parent)


def _build_in_chunks(
    spec: ProductSpec, first: LBProduct, rest: Iterator[LBProduct], idb_manager: IDBManager, parent: str
) -> L0Build:
    check, build = BUILDERS[spec.kind]
    wide = _BATCH_WIDE.get(spec.kind)
    decode_errors: list[PacketError] = []
    decompress_errors: dict[str, list[PacketError]] = {}
    parts: dict[str, _Parts] = {}
    decisions: dict[str, int] = {}
    ranges: list[dict[str, tuple[float, float]]] = []
    used = False
    pending: LBProduct | None = first
    while pending is not None:
        chunk, pending = pending, next(rest, None)
        decoded = decode_lb_rows(chunk, idb_manager)
        stop = len(chunk)
        if pending is not None and spec.kind == "spectra" and decoded.batches:
            last = max(decoded.batches, key=lambda b: int(b.decoded.indices.max()))
            carry = _spectra_carry(last)
            stop = int(last.decoded.indices[carry]) if carry < len(last) else stop
            if stop == 0:  # the whole chunk may still join the next one: take both together
                pending = LBProduct.concatenate([chunk, pending])
                continue
            if stop < len(chunk):
                pending = LBProduct.concatenate([chunk.take(np.arange(stop, len(chunk))), pending])
        decode_errors.extend(e for row, e in decoded.decode_errors if row < stop)
        for version, failures in decoded.decompress_errors.items():
            decompress_errors.setdefault(version, []).extend(e for row, e in failures if row < stop)
        for batch in decoded.batches:
            if stop < len(chunk):
                batch = batch.subset(batch.decoded.indices < stop)
            if not len(batch):
                continue
            if check(batch):
                raise _WholeBuildNeeded
            if wide is not None and decisions.setdefault(batch.version, wide(batch)) != wide(batch):
                raise _WholeBuildNeeded
            try:
                table = build(batch)
                part = assemble(spec, [table], parent=parent, idb_versions={})
                if part is not None:
                    parts.setdefault(batch.version, _Parts()).add(part, spec, parent)
            except (ValueError, IndexError, KeyError) as exc:  # the whole build reports it as it does
                raise _WholeBuildNeeded from exc
            used = True
            ranges.append(idb_ranges([batch]))
    errors = decode_errors + [e for v in sorted(decompress_errors, key=version_key) for e in decompress_errors[v]]
    stacked = [(p.control, p.data) for v in sorted(parts, key=version_key) for p in parts[v].products]
    try:
        product = assemble(spec, stacked, parent=parent, idb_versions=merge_idb_versions(*ranges))
    except ValueError as exc:
        raise ProductBuildError(f"{spec.type}-{spec.name}: {exc}") from exc
    notes = [f"{spec.type}-{spec.name}: the packets hold no samples"] if product is None and used else []
    return L0Build(product, errors, notes)


__all__ = ["CHUNKED_KINDS", "build_l0_chunked"]
