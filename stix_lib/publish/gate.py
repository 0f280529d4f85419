"""The publish gate: product checks a file must pass before it is delivered to SOAR.

Issue 17: science L1 files made with the nominal clock (no kernels) reached SOAR next to the
correct files of the same requests. Every candidate of a publishing run now passes the gate
first (:meth:`ProductGate.problems`); a product that fails is *parked* — history status
``parked`` with the reasons, listed in the report mail and in ``stix-pipeline status`` — and is
checked again by every later run (it is delivered once the problem is gone, e.g. after the
offending twin was removed from the archive).

Per-file checks (:data:`DEFAULT_CHECKS`, in order; each returns ``None`` or a reason):

* :func:`kernels_used` — an L1/L2/ANC FITS file names the SPICE meta kernels it was made with
  (``SPICE_MK`` present and not empty). Without kernels the UTC times (``DATE-OBS``, the file
  name of science products) come from the nominal clock and are wrong by seconds.
* :func:`request_complete` — a product carrying ``COMPLETE`` must have it true. (Our science files
  carry ``COMPLETE = T``; STIXCore's do not carry the keyword and are made from complete packet
  sequences only, so its absence passes.)
* :func:`stixpy_loads` — stixpy, the users' reader, opens an L1 FITS file (~0.1-0.3 s per file
  after a one-off ~5 s import; optional, ``publish_stixpy_check`` setting).
* :func:`counts_conserved` — a science count product holds exactly the counts and triggers of
  its packets (:mod:`stix_lib.validate.conservation`; ``publish_conservation_check`` setting).

Archive check (:meth:`ProductGate.conflict`): no other archive file may be the *same product*
— same level, descriptor, version and request (``<rid>-<psc>``), or for products without a request
the same date token — under another complete name (e.g. the nominal-clock twin of a science
file, whose ``DATE-OBS`` in the name differs). A twin that fails the per-file checks itself
(the nominal-clock one) does not block the correct file; two twins that both pass block each
other, and a twin already delivered blocks a new one (SOAR has that request already).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from astropy.io import fits

from stix_lib.publish.product_name import ProductName, ProductNameError, complete_name
from stix_lib.publish.publish_history import HistoryRow
from stix_lib.publish.selection import iter_product_files

log = logging.getLogger(__name__)

#: A product check: ``(file, primary header, parsed name) -> reason or None``.
GateCheck = Callable[[Path, fits.Header, ProductName], str | None]

#: The history row of a complete product name, or None.
HistoryLookup = Callable[[str], HistoryRow | None]

#: Levels whose FITS headers must name SPICE kernels.
KERNEL_LEVELS = frozenset({"L1", "L2", "ANC"})


def kernels_used(path: Path, header: fits.Header, name: ProductName) -> str | None:
    """Reason when an L1/L2/ANC FITS file was made without SPICE kernels (``SPICE_MK`` empty)."""
    if not name.is_fits or name.level.upper() not in KERNEL_LEVELS:
        return None
    kernels = str(header.get("SPICE_MK", "") or "").strip()
    if not kernels:
        return (
            "no SPICE kernels used (SPICE_MK empty): times come from the nominal clock; "
            "remove the file and reprocess its TM file once kernels cover it"
        )
    return None


def request_complete(path: Path, header: fits.Header, name: ProductName) -> str | None:
    """Reason when a product says its science request is incomplete (``COMPLETE`` false)."""
    if "COMPLETE" in header and header["COMPLETE"] is not True:
        return f"science request incomplete (COMPLETE = {header['COMPLETE']!r}): wait for the missing packets"
    return None


#: Descriptors stixpy 0.2.1 cannot open whatever the file holds (``Visibility.__init__()`` rejects the
#: ``meta`` its own product factory passes): not checked, or every such product would be parked.
STIXPY_UNSUPPORTED = frozenset({"stix-sci-xray-vis"})


def stixpy_loads(path: Path, header: fits.Header, name: ProductName) -> str | None:
    """Reason when stixpy cannot open an L1 FITS file (other levels and :data:`STIXPY_UNSUPPORTED` are not checked)."""
    if not name.is_fits or name.level.upper() != "L1" or name.descriptor.lower() in STIXPY_UNSUPPORTED:
        return None
    from stix_lib.validate.stixpy_check import stixpy_product_class

    try:
        stixpy_product_class(path)
    except Exception as exc:  # noqa: BLE001 - whatever stixpy raises is the reason
        text = " ".join(str(exc).split())[:200]
        return f"stixpy cannot load it ({type(exc).__name__}: {text})"
    return None


def counts_conserved(idb_dir: Path) -> GateCheck:
    """A check that a science count product (L0/L1 of rpd, cpd, scpd, vis, spec) holds its packets' counts.

    The counts and triggers summed straight from the decoded packets of the request (found through
    the file's parents in the archive: L1 -> L0 -> LB) must equal the file's totals per time bin
    and energy group (:mod:`stix_lib.validate.conservation`). A product whose packets cannot be
    found is not delivered either: nothing unchecked reaches SOAR.

    Parameters
    ----------
    idb_dir
        IDB root used to decode the packets (loaded on the first science file).
    """
    managers: list[object] = []

    def counts_conserved_check(path: Path, header: fits.Header, name: ProductName) -> str | None:
        from stix_lib.validate.conservation import check_conservation, is_count_request_file, request_packets

        if not name.is_fits or not is_count_request_file(path):
            return None
        if not managers:
            from stix_lib.idb.manager import IDBManager

            managers.append(IDBManager(Path(idb_dir)))
        try:
            batch = request_packets(path, managers[0])  # type: ignore[arg-type]
        except (OSError, ValueError, KeyError) as exc:
            return f"counts not checked against the packets ({exc}); keep the LB/L0 parents in the archive"
        problems = check_conservation(batch, path)
        if problems:
            return f"counts not conserved from the packets: {'; '.join(problems[:3])}"
        return None

    return counts_conserved_check


#: The per-file checks without stixpy (cheap: header only).
HEADER_CHECKS: tuple[GateCheck, ...] = (kernels_used, request_complete)
#: Every per-file check that needs no settings (see :func:`gate_checks` for a run's list).
DEFAULT_CHECKS: tuple[GateCheck, ...] = (*HEADER_CHECKS, stixpy_loads)


def product_key(name: ProductName) -> tuple[str, str, int, str]:
    """What makes two file names the same product: level, descriptor, version, request or date token."""
    return (name.level.upper(), name.descriptor.lower(), name.version, name.request or name.tokens[3])


@dataclass
class ProductGate:
    """The checks of one publishing run (see the module docstring).

    Parameters
    ----------
    checks
        Per-file checks, in order; all are run and every reason is reported.
    conflicts
        Also run the archive conflict check.
    """

    checks: Sequence[GateCheck] = DEFAULT_CHECKS
    conflicts: bool = True
    _index: dict[tuple[str, str, int, str], list[Path]] = field(default_factory=dict, repr=False)
    _verdicts: dict[Path, list[str]] = field(default_factory=dict, repr=False)

    def index(self, fits_dir: Path) -> None:
        """Record every product file of the archive by :func:`product_key` (once per run)."""
        self._index.clear()
        self._verdicts.clear()
        for path in iter_product_files(Path(fits_dir)):
            try:
                name = ProductName.parse(path.name)
            except ProductNameError:
                continue
            self._index.setdefault(product_key(name), []).append(path)

    def file_problems(self, path: Path, name: ProductName, header: fits.Header | None = None) -> list[str]:
        """Reasons from the per-file checks (empty: the file passes)."""
        if not name.is_fits:
            return []
        if header is None:
            try:
                header = fits.getheader(path, 0)
            except (OSError, ValueError) as exc:
                return [f"unreadable FITS file: {exc}"]
        return [reason for check in self.checks if (reason := check(path, header, name)) is not None]

    def _twin_passes(self, path: Path, name: ProductName) -> bool:
        if path not in self._verdicts:
            try:
                header = fits.getheader(path, 0)
            except (OSError, ValueError) as exc:
                self._verdicts[path] = [f"unreadable: {exc}"]
            else:  # header checks only: a twin is judged by what it claims, not loaded with stixpy
                self._verdicts[path] = [r for c in HEADER_CHECKS if (r := c(path, header, name)) is not None]
        return not self._verdicts[path]

    def conflict(self, path: Path, name: ProductName, history: HistoryLookup) -> str | None:
        """Reason when another archive file is the same product under another name (see the module docstring).

        ``history`` returns the history row of a complete name (or ``None``).
        """
        final = complete_name(name.name)
        blocking: list[str] = []
        for other in self._index.get(product_key(name), []):
            other_final = complete_name(other.name)
            if other_final == final or other == path:
                continue
            row = history(other_final)
            other_name = ProductName.parse(other.name)
            if (row is not None and row.delivered) or (other.exists() and self._twin_passes(other, other_name)):
                blocking.append(other_final + (" (delivered)" if row is not None and row.delivered else ""))
        if not blocking:
            return None
        return (
            f"conflicts with {', '.join(sorted(blocking))} (same product and request/day, another name): "
            "keep one, remove the other from the archive"
        )

    def problems(
        self,
        path: Path,
        name: ProductName,
        history: HistoryLookup,
        header: fits.Header | None = None,
    ) -> list[str]:
        """Every reason not to deliver ``path`` now (empty: deliver)."""
        reasons = self.file_problems(path, name, header)
        if self.conflicts:
            reason = self.conflict(path, name, history)
            if reason is not None:
                reasons.append(reason)
        return reasons


def gate_checks(
    *, stixpy: bool = True, conservation_idb: Path | None = None, extra: Iterable[GateCheck] = ()
) -> tuple[GateCheck, ...]:
    """The per-file checks of a run: header checks, stixpy if wanted, counts conservation when
    ``conservation_idb`` (the IDB root) is given, then ``extra``."""
    conservation = (counts_conserved(conservation_idb),) if conservation_idb is not None else ()
    return (*HEADER_CHECKS, *((stixpy_loads,) if stixpy else ()), *conservation, *extra)
