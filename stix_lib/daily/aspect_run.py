"""The daily ANC aspect step: due L1 ``hk-maxi`` files → IDL bridge → ``solo_ANC_stix-asp-ephemeris`` files.

STIXCore's ``AspectANC`` (operations spec §8.4): every L1 ``hk-maxi`` file of the looked-at days
that passes the gates of :func:`stix_lib.daily.aspect.aspect_due` is read into an input table
(:mod:`~stix_lib.daily.aspect_table`), the tables go to STX-GSW in batches of ``idl_batchsize``
(:mod:`~stix_lib.daily.idl_bridge`), and each file solved gets its rows, the solution and the SPICE
positions written into the daily aspect file of its UTC day (:mod:`~stix_lib.daily.aspect_product`)
and one processing-history row (``ephemeris``/``ANC``/``asp``/2, input = the HK file). A file that
fails — unreadable, not covered by SPICE, in a failed IDL batch, rejected by IDL — gets no product
and no history row (it stays due), and the pass goes on with the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from spiceypy.utils.exceptions import SpiceyError

from stix_lib.daily.aspect import PRODUCT_LEVEL, PRODUCT_NAME, PRODUCT_TYPE, PRODUCT_VERSION, aspect_due, aspect_inputs
from stix_lib.daily.aspect_product import EPHEMERIS, AspectProductError, build_product, write_aspect
from stix_lib.daily.aspect_table import AspectInput, AspectInputError, read_aspect_input
from stix_lib.daily.idl_bridge import IdlBatchError, IdlBridge, IdlBridgeError
from stix_lib.daily.processing_history import DatabaseHistory
from stix_lib.settings import Settings
from stix_lib.spice.errors import SpiceKernelError
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.spice.meta_kernels import find_meta_kernels, meta_kernel_date

log = logging.getLogger(__name__)


@dataclass
class AspectResult:
    """What one aspect pass did.

    Attributes
    ----------
    inputs
        L1 ``hk-maxi`` files looked at.
    due
        Names of the files that passed the gates.
    written
        Aspect files written (paths).
    processed
        Names of the HK files that got their product (and a history row).
    skipped
        Why files were not due (one line each).
    failed
        Names of the due HK files that got no product.
    errors
        Why (one line per failure; a failed IDL batch is one line naming all its files).
    gsw_version
        STX-GSW versions reported by IDL.
    """

    inputs: int = 0
    due: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    gsw_version: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    def fail(self, names: Sequence[str], message: str) -> None:
        """Record that ``names`` got no product, and why."""
        self.failed.extend(n for n in names if n not in self.failed)
        self.errors.append(message)
        log.error("ANC aspect: %s", message)


def run_aspect(
    settings: Settings,
    history: DatabaseHistory,
    days: Sequence[date] | None,
    *,
    kernels: SpiceKernels | None = None,
    bridge: IdlBridge | None = None,
    header_date: str | None = None,
) -> AspectResult:
    """Make the aspect products of every due HK file of ``days`` and record them.

    Parameters
    ----------
    settings
        ``fits_archive_dir`` (input and output), ``spice_dir`` (flown-MK gate and positions), the
        ``idl_*`` settings (:meth:`IdlBridge.from_settings`), ``processing_version``.
    history
        Processing history: the gate and one row per HK file processed.
    days
        Data days (``L1/YYYY/MM/DD/HK``), ``None`` for the whole archive.
    kernels, bridge
        Override the SPICE kernels / the IDL bridge made from ``settings``.
    header_date
        Fixed ``DATE`` header keyword (tests).
    """
    result = AspectResult()
    archive = Path(settings.fits_archive_dir)
    spice_dir = Path(settings.spice_dir)
    flown = find_meta_kernels(spice_dir).flown if (spice_dir / "mk").is_dir() else None
    flown_date = meta_kernel_date(flown) if flown else None
    paths = aspect_inputs(archive, days)
    result.inputs = len(paths)
    due: list[Path] = []
    for path in paths:
        try:
            ok, why = aspect_due(path, flown_date, history)
        except ValueError as exc:
            result.fail([path.name], str(exc))
            continue
        if ok:
            due.append(path)
            result.due.append(path.name)
        else:
            result.skipped.append(why)
    if not due:
        return result
    names = [p.name for p in due]
    try:
        bridge = bridge or IdlBridge.from_settings(settings)
    except IdlBridgeError as exc:
        result.fail(names, f"{exc}; due: {', '.join(names)}")
        return result
    try:
        kernels = kernels or SpiceKernels(spice_dir)
        kernels.load()
    except SpiceKernelError as exc:
        result.fail(names, f"SPICE kernels of {spice_dir} cannot be loaded ({exc}); due: {', '.join(names)}")
        return result

    prepared: list[AspectInput] = []
    for path in due:
        try:
            prepared.append(read_aspect_input(path, kernels))
        except AspectInputError as exc:
            result.fail([path.name], str(exc))
    version = EPHEMERIS.effective_version(settings.processing_version)
    for batch in bridge.batches(prepared):
        try:
            solved = bridge.run(batch)
        except IdlBatchError as exc:
            result.fail(exc.files, str(exc))
            continue
        if solved.gsw_version not in result.gsw_version:
            result.gsw_version.append(solved.gsw_version)
        for name, why in solved.failed.items():
            result.fail([name], f"{name}: {why}")
        for item in batch:
            solution = solved.solutions.get(item.hk_path.name)
            if solution is None:
                continue
            try:
                product = build_product(item, solution)
                files = write_aspect(product, archive, kernels, solved.gsw_version, version=version, date=header_date)
            except (AspectProductError, SpiceyError, ValueError, OSError) as exc:
                result.fail([item.hk_path.name], f"{item.hk_path.name}: no aspect product: {exc}")
                continue
            history.record(
                name=PRODUCT_NAME,
                level=PRODUCT_LEVEL,
                product_type=PRODUCT_TYPE,
                version=PRODUCT_VERSION,
                in_path=item.hk_path,
                out_path=files[0].path,
            )
            result.processed.append(item.hk_path.name)
            result.written.extend(str(f.path) for f in files if f.written and str(f.path) not in result.written)
    return result
