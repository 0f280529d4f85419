"""LB -> L0: decode the packets of an LB product and build its L0 product.

:func:`build_l0` decodes every packet with the IDB of its time, decompresses, checks each
packet's parameter counts (a packet that does not fit is reported and left out), builds the
CONTROL/DATA tables per IDB version and assembles them into one canonical product whose
``parent`` is the LB file name. The product spans whatever days its packets cover; writers split
it per SCET day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from stix_lib.idb.manager import IDBManager
from stix_lib.lb.product import LBProduct
from stix_lib.products.catalogue import product_spec
from stix_lib.products.l0.calibration import build_calibration, check_calibration
from stix_lib.products.l0.common import ProductBuildError, assemble, idb_ranges
from stix_lib.products.l0.flarelist import build_flarelist, check_flarelist
from stix_lib.products.l0.housekeeping import build_default, build_housekeeping, check_default, check_housekeeping
from stix_lib.products.l0.packets import PacketBatch, decode_lb_product
from stix_lib.products.l0.quicklook import (
    build_background,
    build_flareflag,
    build_lightcurve,
    build_spectra,
    build_variance,
    check_background,
    check_flareflag,
    check_lightcurve,
    check_spectra,
    check_variance,
)
from stix_lib.products.model import Product
from stix_lib.products.table import ColumnTable
from stix_lib.tm.errors import PacketError

Check = Callable[[PacketBatch], dict[int, str]]
Build = Callable[[PacketBatch], tuple[ColumnTable, ColumnTable]]

#: Builder per product kind: (check, build).
BUILDERS: dict[str, tuple[Check, Build]] = {
    "hk": (check_housekeeping, build_housekeeping),
    "lightcurve": (check_lightcurve, build_lightcurve),
    "background": (check_background, build_background),
    "spectra": (check_spectra, build_spectra),
    "variance": (check_variance, build_variance),
    "flareflag": (check_flareflag, build_flareflag),
    "tmstatusflarelist": (check_flarelist, build_flarelist),
    "calibration": (check_calibration, build_calibration),
    "default": (check_default, build_default),
}

__all__ = ["BUILDERS", "L0Build", "ProductBuildError", "build_l0"]


@dataclass
class L0Build:
    """Result of building one L0 product.

    Attributes
    ----------
    product
        The product, ``None`` when no packet was usable.
    errors
        Packets left out, with the reason.
    notes
        Informational messages (e.g. packets without samples).
    """

    product: Product | None
    errors: list[PacketError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def build_l0(lb: LBProduct, idb_manager: IDBManager, *, parent: str) -> L0Build:
    """Build the L0 product of an LB product.

    Parameters
    ----------
    lb
        Packets of one type (an LB file's content).
    idb_manager
        IDB selection by packet time.
    parent
        The LB file name (recorded in CONTROL ``parent`` and the ``PARENT`` keyword).

    Raises
    ------
    stix_lib.products.catalogue.NoProductError
        The packet type has no L0 product.
    ProductBuildError
        The packets cannot be combined into a product (e.g. inconsistent shapes across IDB
        versions); nothing is written for this product.
    """
    spec = product_spec(*lb.key)
    check, build = BUILDERS[spec.kind]
    batches, errors = decode_lb_product(lb, idb_manager)
    parts = []
    used: list[PacketBatch] = []
    for batch in batches:
        bad = check(batch)
        if bad:
            errors.extend(batch.errors(bad))
            keep = np.ones(len(batch), dtype=bool)
            keep[list(bad)] = False
            batch = batch.subset(keep)
        if not len(batch):
            continue
        try:
            parts.append(build(batch))
        except (ValueError, IndexError, KeyError) as exc:
            raise ProductBuildError(f"{spec.type}-{spec.name} from IDB {batch.version}: {exc}") from exc
        used.append(batch)
    notes = []
    try:
        product = assemble(spec, parts, parent=parent, idb_versions=idb_ranges(used))
    except ValueError as exc:
        raise ProductBuildError(f"{spec.type}-{spec.name}: {exc}") from exc
    if product is None and used:
        notes.append(f"{spec.type}-{spec.name}: the packets hold no samples")
    return L0Build(product, errors, notes)
