"""Write L0/L1 products into the archive: daily split, merge with existing files, atomic write.

For every daily part of a product (SCET day at L0, UTC day at L1):

1. under an exclusive lock of the target folder (``.products.lock``), left-over temporary files
   of killed writers of L0/L1 products are removed (once per folder and writer: an L0 folder
   holds every day of its type, a scan per file would cost the archive's size per file);
2. the existing file is read: the incomplete name (``…_V02U.fits``) and/or its complete twin
   (``…_V02.fits``); when both exist the incomplete one is the newer;
3. the new part is merged into it, **newest wins** on equal merge keys
   (:func:`stix_lib.products.merge.combine`);
4. if the merged content equals the existing content nothing is written; otherwise the result
   is written atomically to the incomplete name (the complete twin is left as it is; publishing
   handles it).

The header is computed from the merged content (:mod:`stix_lib.products.header`); the energy
table comes from STIX-CONF for the product's start date; L1 adds SPICE and SOOP keywords.
A file that exists but cannot be read is not overwritten: that part fails with
:class:`~stix_lib.products.fits_io.ProductFileError`.

Each file is written to a temporary name, flushed (``fsync``) and renamed into place in the
caller's thread while the folder lock is held: when :meth:`ProductWriter.merge_write` returns the
file is in place, otherwise it raised. (A helper thread that did the flush and rename overlapped
the disk with computing, but its hand-overs of the interpreter lock cost about 13 % of the CPU of
a 100,000-packet delivery; without it each file adds its ``fsync``, 0.7-2 ms on a disk, to the
wall time.)
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from spiceypy.utils.exceptions import SpiceyError

from stix_lib.atomic import atomic_write_parts, sweep_stale_temps_once
from stix_lib.conf.energy_channels import EnergyChannelError, ScienceEnergyChannels, energy_bands
from stix_lib.fits import lock as fits_lock
from stix_lib.products.clock import NominalClock, ObtClock, SpiceClock, utc_span
from stix_lib.products.fits_io import product_parts, read_product
from stix_lib.products.header import NoSoopKeywords, SoopKeywordProvider, l0_primary_cards, l1_primary_cards, soop_cards
from stix_lib.products.l0_l1_names import (
    complete_name,
    l0_directory,
    l0_file_name,
    l1_directory,
    l1_file_name,
    parse_product_name,
)
from stix_lib.products.merge import combine, split_by_scet_day, split_by_utc_day
from stix_lib.products.model import Product
from stix_lib.spice.errors import SpiceKernelError
from stix_lib.spice.fits_keywords import spice_fits_keywords
from stix_lib.spice.kernels import SpiceKernels

log = logging.getLogger(__name__)

LOCK_FILE = ".products.lock"


class ProductWriteError(Exception):
    """A product part could not be written (the message says which and why)."""


#: Start of the reason of every :class:`WaitingForKernels` (ledger text, reports, ``status``).
WAITING_FOR_KERNELS = "waiting for kernels"


class WaitingForKernels(ProductWriteError):
    """An L1 product is held back: no SPICE kernels, or they do not cover its on-board time.

    Not a failure of the input: the L1 step is repeated when new kernels arrive. The message
    starts with :data:`WAITING_FOR_KERNELS`.
    """


@dataclass(frozen=True)
class WriteResult:
    """Outcome for one daily file.

    Attributes
    ----------
    path
        The file (incomplete name for daily products).
    written
        False when the merged content equalled the existing file (nothing written).
    rows
        DATA rows in the file after the merge.
    """

    path: Path
    written: bool
    rows: int


def folder_lock(folder: Path) -> contextlib.AbstractContextManager[None]:
    """Exclusive lock serialising read-merge-write of product files in ``folder``."""
    return fits_lock.folder_lock(folder, LOCK_FILE)


@dataclass
class ProductWriter:
    """Writes L0 and L1 products into a FITS archive.

    Parameters
    ----------
    archive
        Archive root (``<archive>/L0``, ``<archive>/L1``).
    processing_version
        Configured processing version (``Settings.processing_version``).
    vers_cfg
        STIX-CONF version for ``VERS_CFG``.
    energy_channels
        STIX-CONF energy channel tables (required for products with an ENERGIES extension).
    kernels
        SPICE kernels (required for L1; used at L0 for the energy-table date when given).
    soop
        SOOP keyword provider for L1 headers (default: every keyword ``"none"``).
    date
        Fixed ``DATE`` keyword (tests); default the current time.
    """

    archive: Path
    processing_version: int = 2
    vers_cfg: str = ""
    energy_channels: ScienceEnergyChannels | None = None
    kernels: SpiceKernels | None = None
    soop: SoopKeywordProvider | None = None
    date: str | None = None
    _yaml_cache: dict = field(default_factory=dict, repr=False, compare=False)
    _read_cache: dict = field(default_factory=dict, repr=False, compare=False)
    _swept: set = field(default_factory=set, repr=False, compare=False)
    _coverage: list = field(default_factory=list, repr=False, compare=False)
    _clock: SpiceClock | None = field(default=None, repr=False, compare=False)

    def read(self, path: Path) -> Product:
        """Read a product file (reusing parsed column metadata across calls)."""
        return read_product(path, self._read_cache)

    # -- clocks and energies ------------------------------------------------------------------
    @property
    def clock(self) -> ObtClock:
        """SPICE clock when kernels are given, else the nominal clock."""
        return self._spice_clock() if self.kernels is not None else NominalClock()

    def energies(self, product: Product) -> tuple[np.ndarray, np.ndarray] | None:
        """ENERGIES bands of a product (``None`` for products without energy information).

        Raises
        ------
        ProductWriteError
            Without STIX-CONF, or when it has no channel table for the product's date.
        """
        kind = product.spec.energies
        if kind is None:
            return None
        if self.energy_channels is None:
            raise ProductWriteError("STIX-CONF energy channels are needed for the ENERGIES extension")
        start, _ = product.obt_range
        when = self.clock.to_datetime64(np.array([start]))[0]
        try:
            table = self.energy_channels.table_for(when)
            mask = product.control["energy_bin_edge_mask"][0] if kind == "edges" else None
            return energy_bands(table, mask)
        except (EnergyChannelError, KeyError, IndexError) as exc:
            raise ProductWriteError(f"energy channels for {when}: {exc}") from exc

    # -- kernel coverage (never an L1 product with the nominal clock) ----------------------------
    def kernel_coverage_end(self) -> float | None:
        """Latest OBT (float seconds) the kernels cover; ``None`` without kernels or coverage.

        Computed once per writer (:func:`stix_lib.spice.coverage.loaded_coverage_end`); kernels
        that fail to load count as none.
        """
        if not self._coverage:
            from stix_lib.spice.coverage import loaded_coverage_end

            end: float | None = None
            if self.kernels is not None:
                try:
                    end = loaded_coverage_end(self.kernels)
                except (SpiceKernelError, SpiceyError, OSError, ValueError) as exc:
                    log.warning("SPICE kernels of %s not usable: %s", self.kernels.kernel_dir, exc)
            self._coverage.append(end)
        return self._coverage[0]

    def l1_kernel_problem(self, obt_end: float) -> str | None:
        """Why no L1 product may be made for data up to OBT ``obt_end`` now (``None``: it may).

        The reason starts with :data:`WAITING_FOR_KERNELS` and names what is missing.
        """
        if self.kernels is None:
            return f"{WAITING_FOR_KERNELS}: no SPICE kernels (no meta kernel found)"
        end = self.kernel_coverage_end()
        if end is None:
            return f"{WAITING_FOR_KERNELS}: no usable SPICE meta kernel in {self.kernels.kernel_dir}"
        if obt_end > end:
            names = ", ".join(self.kernels.meta_kernel_names) or "-"
            return (
                f"{WAITING_FOR_KERNELS}: data up to OBT {obt_end:.0f} s, loaded kernels ({names}) cover OBT {end:.0f} s"
            )
        return None

    def check_l1_kernels(self, obt_end: float) -> None:
        """Raise :class:`WaitingForKernels` when :meth:`l1_kernel_problem` finds one."""
        problem = self.l1_kernel_problem(obt_end)
        if problem is not None:
            raise WaitingForKernels(problem)

    # -- daily targets --------------------------------------------------------------------------
    def l0_targets(self, product: Product) -> list[tuple[Path, Product]]:
        """Split an L0 product per SCET day: ``(daily file, part)``."""
        version = product.spec.effective_version(self.processing_version)
        folder = l0_directory(self.archive, product.spec)
        return [(folder / l0_file_name(product.spec, day, version), part) for day, part in split_by_scet_day(product)]

    def l1_targets(self, product: Product) -> list[tuple[Path, Product]]:
        """Split an L1 product per UTC day: ``(daily file, part)``.

        Raises
        ------
        WaitingForKernels
            Without SPICE kernels covering the product's time (UTC is needed for the split and
            the header).
        """
        self.check_l1_kernels(float(product.obt_range[1]))
        clock = self._spice_clock()
        version = product.spec.effective_version(self.processing_version)
        return [
            (l1_directory(self.archive, product.spec, day) / l1_file_name(product.spec, day, version), part)
            for day, part in split_by_utc_day(product, clock.utc_days(product.time))
        ]

    def write_l0(self, product: Product) -> list[WriteResult]:
        """Split an L0 product per SCET day and merge each day into its file."""
        return [self.merge_write(path, part)[0] for path, part in self.l0_targets(product)]

    def write_l1(self, product: Product) -> list[WriteResult]:
        """Split an L1 product per UTC day and merge each day into its file."""
        return [self.merge_write(path, part)[0] for path, part in self.l1_targets(product)]

    # -- serialisation --------------------------------------------------------------------------
    def _spice_clock(self) -> SpiceClock:
        """The writer's one SPICE clock (it remembers conversions) for the current kernels."""
        if self.kernels is None:
            raise ProductWriteError("L1 products need SPICE kernels (UTC day split and header)")
        if self._clock is None or self._clock.kernels is not self.kernels:
            self._clock = SpiceClock(self.kernels)
        return self._clock

    def file_bytes(self, product: Product, filename: str) -> bytes:
        """The complete FITS file of a product (L0 or L1 header by the product's level)."""
        return b"".join(self.file_parts(product, filename))

    def file_parts(self, product: Product, filename: str) -> list[bytes | bytearray | memoryview]:
        """:meth:`file_bytes` in pieces (written one after the other, never joined)."""
        version = product.spec.effective_version(self.processing_version)
        if product.level == "L0":
            cards, history = l0_primary_cards(
                product, filename=filename, version=version, vers_cfg=self.vers_cfg, date=self.date
            )
            return product_parts(product, cards, history, self.energies(product), self._yaml_cache)
        start, end = product.file_obt_range
        clock = self._spice_clock()
        utc, centre = utc_span(clock, start, end)
        begin = clock.to_datetime64(np.array([start]))[0]  # remembered from utc_span's conversion
        spice = spice_fits_keywords(self.kernels, begin, centre)  # type: ignore[arg-type]
        soop = soop_cards(self.soop if self.soop is not None else NoSoopKeywords(), utc[0], utc[2])
        cards, history = l1_primary_cards(
            product,
            filename=filename,
            version=version,
            utc=utc,
            spice_cards=spice,
            soop=soop,
            vers_cfg=self.vers_cfg,
            date=self.date,
        )
        return product_parts(product, cards, history, self.energies(product), self._yaml_cache)

    # -- merge + write ----------------------------------------------------------------------------
    def merge_write(self, path: Path, part: Product) -> tuple[WriteResult, Product]:
        """Merge ``part`` into the daily file ``path`` (and its complete twin) and write it.

        Returns
        -------
        result, merged
            The write outcome and the file's content after the merge.

        Raises
        ------
        ProductFileError
            If the existing file cannot be read (it is left untouched).
        OSError
            If the file cannot be written or put in place (the existing file is left as it was).
        """
        folder = path.parent
        twin = folder / complete_name(path.name)
        with folder_lock(folder):
            sweep_stale_temps_once(folder, self._swept, parse_product_name)  # left-overs of killed writers
            existing = None
            for candidate in (twin, path) if twin != path else (path,):
                if candidate.exists():
                    found = self.read(candidate)
                    existing = found if existing is None else combine(found, existing)
            merged = part if existing is None else combine(part, existing)
            if existing is not None and merged.same_content(existing):
                return WriteResult(path, False, len(existing)), existing
            atomic_write_parts(path, self.file_parts(merged, path.name))
        log.debug("wrote %s (%d rows)", path, len(merged))
        return WriteResult(path, True, len(merged)), merged
