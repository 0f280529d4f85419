"""One processing step per input file: LB file -> L0 files, L0 file -> L1 files.

Both steps take a whole input file (the LB file of a packet type and day, the L0 daily file),
build the product from it and merge it into the daily output files; because the input holds
everything known so far for its day, the newest-wins merge reproduces the same output whatever
the delivery order or batching of the telemetry was. Problems are returned, never raised (except
programming errors): a bad packet is listed in ``packet_errors``; a product that cannot be built
or written is listed in ``file_errors``; a packet type without products is a ``warning``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from stix_lib.conf.energy_channels import EnergyChannelError
from stix_lib.idb.manager import IDBManager
from stix_lib.lb.fits_io import LB_CHUNK_BYTES, LBFileError, WrittenLB, iter_lb_chunks
from stix_lib.products.catalogue import NoProductError
from stix_lib.products.fits_io import ProductFileError
from stix_lib.products.l0 import ProductBuildError
from stix_lib.products.l0.chunked import build_l0_chunked
from stix_lib.products.l1 import CalibrationMemo, level0_to_level1
from stix_lib.products.model import Product
from stix_lib.products.writer import ProductWriteError, ProductWriter, WaitingForKernels, WriteResult
from stix_lib.spice.errors import SpiceKernelError
from stix_lib.tm.errors import PacketError

log = logging.getLogger(__name__)

#: Exceptions that cost one product file (reported, processing goes on).
WRITE_ERRORS = (ProductWriteError, ProductFileError, EnergyChannelError, SpiceKernelError, OSError, ValueError)


@dataclass
class StepResult:
    """Outcome of one step for one input file.

    Attributes
    ----------
    source
        The input file.
    written
        Output files created or changed.
    unchanged
        Output files whose content already held everything (not rewritten).
    packet_errors
        Packets left out (decoding, decompression, inconsistent parameter counts).
    warnings
        Non-fatal notes (no product for a packet type, calibrations kept raw, ...).
    file_errors
        Failures that cost a whole product or output file.
    waiting
        L1 products held back until SPICE kernels cover them (each reason starts with
        ``"waiting for kernels"``, see :class:`~stix_lib.products.writer.WaitingForKernels`).
    """

    source: Path
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    packet_errors: list[PacketError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True without packet or file errors."""
        return not self.packet_errors and not self.file_errors

    def add(self, results: list[WriteResult]) -> None:
        """Record write results."""
        for result in results:
            (self.written if result.written else self.unchanged).append(result.path)


def l0_product_of(
    lb_path: Path,
    idb_manager: IDBManager,
    result: StepResult,
    handover: WrittenLB | None = None,
    chunk_bytes: int = LB_CHUNK_BYTES,
) -> Product | None:
    """Read an LB file (or take it from ``handover``) and build its L0 product (``None``: nothing to write).

    The packets are read and decoded ``chunk_bytes`` at a time
    (:func:`~stix_lib.products.l0.chunked.build_l0_chunked`). Problems are recorded in ``result``.
    """
    try:
        build = build_l0_chunked(
            lambda: iter_lb_chunks(lb_path, handover, chunk_bytes), idb_manager, parent=Path(lb_path).name
        )
    except LBFileError as exc:
        result.file_errors.append(str(exc))
        return None
    except NoProductError as exc:
        result.warnings.append(f"{Path(lb_path).name}: {exc}")
        return None
    except ProductBuildError as exc:
        result.file_errors.append(f"{Path(lb_path).name}: {exc}")
        return None
    result.packet_errors.extend(build.errors)
    result.warnings.extend(build.notes)
    return build.product


def l1_product_of(
    l0: Product, l0_name: str, idb_manager: IDBManager, result: StepResult, memo: CalibrationMemo | None = None
) -> Product | None:
    """Convert an L0 product (the content of file ``l0_name``) to L1; problems go to ``result``.

    ``memo``: calibrations remembered by the run (:class:`~stix_lib.products.l1.CalibrationMemo`).
    """
    if l0.level != "L0":
        result.file_errors.append(f"{l0_name}: level {l0.level}, expected L0")
        return None
    l1, warnings = level0_to_level1(l0, parent=l0_name, idb_manager=idb_manager, memo=memo)
    result.warnings.extend(warnings)
    return l1


def lb_to_l0(lb_path: Path, idb_manager: IDBManager, writer: ProductWriter) -> StepResult:
    """Build the L0 product of an LB file and merge it into the daily L0 files."""
    result = StepResult(Path(lb_path))
    product = l0_product_of(lb_path, idb_manager, result)
    if product is None:
        return result
    try:
        result.add(writer.write_l0(product))
    except WRITE_ERRORS as exc:
        result.file_errors.append(f"{Path(lb_path).name} -> L0: {exc}")
    return result


def l0_to_l1(l0_path: Path, idb_manager: IDBManager, writer: ProductWriter) -> StepResult:
    """Convert an L0 daily file to L1 and merge it into the UTC-daily L1 files."""
    result = StepResult(Path(l0_path))
    try:
        product = writer.read(l0_path)
    except ProductFileError as exc:
        result.file_errors.append(str(exc))
        return result
    try:
        l1 = l1_product_of(product, Path(l0_path).name, idb_manager, result)
        if l1 is not None:
            result.add(writer.write_l1(l1))
    except WaitingForKernels as exc:
        result.waiting.append(f"{Path(l0_path).name} -> L1: {exc}")
    except WRITE_ERRORS as exc:
        result.file_errors.append(f"{Path(l0_path).name} -> L1: {exc}")
    return result
