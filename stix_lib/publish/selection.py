"""Which archive files a publishing run offers to SOAR (operations spec §6.2).

A file under the FITS archive is a *candidate* when

1. its name is a product name ``solo_*.fits`` / ``solo_*.svg`` (hidden files — temporary files of
   writers and transfers — are skipped, malformed names are listed as skipped);
2. its version, level (case-insensitive) and product group (second part of the descriptor:
   ``stix-ql-lightcurve`` → ``ql``) pass the filters (``"*"`` = all);
3. its name is not final in the history (rows ``pending``/``failed`` are offered again);
4. its product time (:mod:`stix_lib.publish.timestamps`) is at least the waiting period old — the
   low-latency period for levels starting with ``LL``;
5. it is not a complete file whose incomplete ``U`` twin is also a candidate: the twin has the
   newer data and replaces it when it is finalised.

The tree is walked in sorted order, so the selection is reproducible; with a batch size ≥ 0 the
walk stops when that many candidates were found.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from stix_lib.publish.product_name import SUFFIXES, ProductName, ProductNameError, complete_name
from stix_lib.publish.timestamps import product_time

if TYPE_CHECKING:
    from stix_lib.publish.publish_history import HistoryRow

log = logging.getLogger(__name__)

#: Default levels (STIXCore code default).
DEFAULT_LEVELS = "L0, L1, L2, ANC, LL03, CAL"
#: Default product groups (STIXCore code default).
DEFAULT_PRODUCTS = "ql,hk,sci,asp,cal"


def parse_list(text: str) -> frozenset[str] | None:
    """``"L0, l1"`` → ``{"l0", "l1"}``; ``"*"`` → None (everything)."""
    items = frozenset(item.strip().lower() for item in str(text).split(",") if item.strip())
    return None if "*" in items else items


def parse_versions(text: str) -> frozenset[int] | None:
    """``"V01,2"`` → ``{1, 2}``; ``"*"`` → None (every version).

    Raises
    ------
    ValueError
        For an item that is not ``[V]<digits>``.
    """
    items = parse_list(text)
    if items is None:
        return None
    versions = set()
    for item in items:
        digits = item[1:] if item.startswith("v") else item
        if not digits.isdigit():
            raise ValueError(f"not a version: {item!r} (use e.g. V01,2 or *)")
        versions.add(int(digits))
    return frozenset(versions)


@dataclass(frozen=True)
class SelectionFilters:
    """Name filters of a run; None means "all".

    Attributes
    ----------
    levels
        Lower-case level tokens.
    products
        Lower-case product groups.
    versions
        Version numbers.
    """

    levels: frozenset[str] | None = field(default_factory=lambda: parse_list(DEFAULT_LEVELS))
    products: frozenset[str] | None = field(default_factory=lambda: parse_list(DEFAULT_PRODUCTS))
    versions: frozenset[int] | None = None

    @classmethod
    def from_strings(
        cls, levels: str = DEFAULT_LEVELS, products: str = DEFAULT_PRODUCTS, versions: str = "*"
    ) -> SelectionFilters:
        """Filters from CLI-style comma lists."""
        return cls(parse_list(levels), parse_list(products), parse_versions(versions))

    def accepts(self, name: ProductName) -> bool:
        """Whether the name passes the version, level and product filters."""
        if self.versions is not None and name.version not in self.versions:
            return False
        if self.levels is not None and name.level.lower() not in self.levels:
            return False
        return self.products is None or name.product in self.products


def read_blacklist(path: Path) -> frozenset[str]:
    """File names never to publish: one per line; blank, one-character and ``#`` lines are ignored.

    Raises
    ------
    OSError
        If the file cannot be read — deliberately: publishing without the intended blacklist
        could deliver what it forbids (STIXCore fell back to no blacklist).
    """
    names = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        entry = line.strip()
        if len(entry) > 1 and not entry.startswith("#"):
            names.add(entry)
    return frozenset(names)


@dataclass(frozen=True)
class Candidate:
    """A file selected for publishing."""

    path: Path
    name: ProductName
    product_time: float


@dataclass
class Selection:
    """The result of a scan.

    Attributes
    ----------
    candidates
        Files to process, in processing order.
    scanned
        Product-like files looked at.
    skipped
        Names that are not product names (with the reason).
    waiting
        Files held back by the waiting period.
    superseded
        Complete files dropped because their ``U`` twin is a candidate.
    """

    candidates: list[Candidate] = field(default_factory=list)
    scanned: int = 0
    skipped: list[str] = field(default_factory=list)
    waiting: int = 0
    superseded: list[Path] = field(default_factory=list)


def iter_product_files(root: Path) -> Iterator[Path]:
    """``solo_*.fits`` and ``solo_*.svg`` files below ``root``, sorted, hidden entries skipped."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file_name in sorted(files):
            if file_name.startswith("solo_") and file_name.lower().endswith(SUFFIXES):
                yield Path(folder) / file_name


def select_candidates(
    fits_dir: Path,
    filters: SelectionFilters,
    history: Mapping[str, HistoryRow],
    now: float,
    waiting_period: timedelta,
    ll_waiting_period: timedelta,
    batch_size: int = -1,
    sort_files: bool = False,
) -> Selection:
    """Scan ``fits_dir`` for files to publish (see the module docstring).

    Parameters
    ----------
    fits_dir
        Archive root.
    filters
        Version/level/product filters.
    history
        History rows by name (:meth:`PublishHistory.states`).
    now
        Epoch seconds of the run.
    waiting_period, ll_waiting_period
        Minimum product age; the second for ``LL*`` levels.
    batch_size
        Stop after this many candidates (< 0: no limit).
    sort_files
        Sort the candidates by full path.
    """
    result = Selection()
    if batch_size == 0:
        return result
    for path in iter_product_files(Path(fits_dir)):
        result.scanned += 1
        try:
            name = ProductName.parse(path.name)
        except ProductNameError as exc:
            result.skipped.append(f"{path}: {exc}")
            continue
        if not filters.accepts(name):
            continue
        row = history.get(path.name)
        if row is not None and not row.retry:
            continue
        period = ll_waiting_period if name.level.lower().startswith("ll") else waiting_period
        try:
            age = now - product_time(path)
        except FileNotFoundError:
            continue  # vanished while scanning
        if age < period.total_seconds():
            result.waiting += 1
            continue
        result.candidates.append(Candidate(path, name, now - age))
        if 0 <= batch_size <= len(result.candidates):
            log.info("batch size %d reached: stopped looking for more files", batch_size)
            break
    incomplete = {c.path.with_name(complete_name(c.path.name)) for c in result.candidates if c.name.incomplete}
    result.superseded = [c.path for c in result.candidates if c.path in incomplete]
    result.candidates = [c for c in result.candidates if c.path not in incomplete]
    if sort_files:
        result.candidates.sort(key=lambda c: str(c.path))
    return result
