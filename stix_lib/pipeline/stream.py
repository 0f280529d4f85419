"""Write the daily L0/L1 files of many inputs once each: buffered, merged, flushed by day.

A daily L0 file gets rows from the LB files of neighbouring days (quick-look packets cross
midnight), a daily L1 file from the L0 files of neighbouring SCET days (UTC and OBT days are
offset). Writing each contribution separately reads, merges and rewrites the same file several
times. :class:`ProductStream` instead collects the parts of every target file in memory
(combined newest-wins in input order, exactly as successive merges into the file would) and
merges them into the file once. Inputs are fed per packet type in day order; after an input of
SCET day ``d`` the L0 targets of days before ``d - 1`` and the L1 targets more than two days
before it can receive nothing more and are written (the OBT/UTC offset of Solar Orbiter is far
below a day); :meth:`ProductStream.close` writes the rest. Memory stays bounded to a few days
per packet type. Only efficiency depends on that assumption: a part arriving for a file already
written is merged into the file by a second write, with the same result. The L0 of one LB file
is built a chunk of packets at a time (:func:`~stix_lib.products.l0.chunked.build_l0_chunked`)
and freed heap is given back to the system after each large input
(:func:`~stix_lib.memory.release_after_input`).

A flushed L0 file is converted to L1 from its merged content (what the file now holds, as the
file-by-file L0 -> L1 step would read it). The L2 hook runs for L1 ``cal-energy`` files that
changed. Every output is attributed to the report of each input that contributed to it.

Containment: an exception while building an input's parts is a file error of that input; one
while writing a target file is a file error of every input that contributed to it. Infrastructure
faults (:func:`~stix_lib.pipeline.containment.is_infrastructure_fault`) propagate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from stix_lib.idb.manager import IDBManager
from stix_lib.lb.fits_io import WrittenLB
from stix_lib.lb.lb_names import parse_lb_file_name
from stix_lib.memory import release_after_input
from stix_lib.pipeline.containment import contained, describe, is_infrastructure_fault
from stix_lib.pipeline.report import FileReport
from stix_lib.products.fits_io import ProductFileError
from stix_lib.products.l0_l1_names import SECONDS_PER_DAY, parse_product_name
from stix_lib.products.l1 import CalibrationMemo
from stix_lib.products.merge import combine
from stix_lib.products.model import Product
from stix_lib.products.science import is_science_lb, science_lb_step
from stix_lib.products.steps import StepResult, l0_product_of, l1_product_of
from stix_lib.products.writer import ProductWriter, WaitingForKernels
from stix_lib.ridlut.table import RidLut

log = logging.getLogger(__name__)

#: SCET day 0 starts about 2000-01-01T00:00 UTC (the on-board clock counts from there).
SCET_EPOCH = date(2000, 1, 1)


@dataclass
class _Pending:
    product: Product
    day: int  # target_day() of the file
    reports: list[FileReport] = field(default_factory=list)

    def add(self, part: Product, reports: list[FileReport]) -> None:
        self.product = combine(part, self.product)
        self.reports.extend(r for r in reports if r not in self.reports)


def target_day(path: Path) -> int:
    """Day number of a daily product file: SCET day (L0) or days since 2000-01-01 (L1)."""
    parsed = parse_product_name(path.name)
    text = str(parsed["date"])
    if parsed["level"] == "L0":
        return int(text) // SECONDS_PER_DAY
    return (date(int(text[:4]), int(text[4:6]), int(text[6:8])) - SCET_EPOCH).days


def _due(pending: dict[Path, _Pending], before_day: int | None) -> list[Path]:
    """Sorted paths of the pending files of days before ``before_day`` (all for ``None``)."""
    return sorted(path for path, item in pending.items() if before_day is None or item.day < before_day)


def _record(reports: list[FileReport], step: StepResult, level: str) -> None:
    for report in reports:
        report.add_files(level, step.written, step.unchanged)
        report.add_packet_errors(level, step.packet_errors)
        report.warnings.extend(w for w in step.warnings if w not in report.warnings)
        report.file_errors.extend(e for e in step.file_errors if e not in report.file_errors)
        report.waiting.extend(w for w in step.waiting if w not in report.waiting)


class ProductStream:
    """Buffered daily writes for a sequence of LB or L0 inputs (see the module docstring).

    Parameters
    ----------
    writer, idb_manager
        Where and how products are written; IDB selection.
    make_l1
        Also convert flushed L0 files to L1.
    l2_hook
        Called with every changed L1 ``cal-energy`` file (returns the files it wrote).
    on_report
        Called with a report after something was recorded in it (the pipeline's stop-on-error).
    rid_lut, rid_lut_error
        Trigger scaling factors of science requests; why there is no LUT (added to the error of a
        request whose triggers need descaling).
    lb_handover
        Daily LB products the pipeline has just written (taken instead of parsing the files).
    """

    def __init__(
        self,
        writer: ProductWriter,
        idb_manager: IDBManager,
        *,
        make_l1: bool,
        l2_hook: Callable[[Path, FileReport], list[Path]] | None = None,
        on_report: Callable[[FileReport], None] | None = None,
        rid_lut: RidLut | None = None,
        rid_lut_error: str | None = None,
        lb_handover: WrittenLB | None = None,
    ) -> None:
        self.lb_handover = lb_handover
        self.rid_lut = rid_lut
        self.rid_lut_error = rid_lut_error
        self.writer = writer
        self.idb_manager = idb_manager
        self.make_l1 = make_l1
        self.l2_hook = l2_hook
        self.on_report = on_report or (lambda report: None)
        self._l0: dict[Path, _Pending] = {}
        self._l1: dict[Path, _Pending] = {}
        self._calibrations = CalibrationMemo()

    # -- inputs -----------------------------------------------------------------------------------
    def add_lb(self, lb_path: Path, report: FileReport) -> None:
        """Build the L0 product of an LB file and buffer its daily parts.

        Science requests (21/6/20-24, 42 and the auto 10-14) are per-request, write-once files:
        written at once (:func:`stix_lib.products.science.science_lb_step`), not buffered.
        """
        if is_science_lb(Path(lb_path)):
            step, l1 = science_lb_step(
                Path(lb_path),
                self.idb_manager,
                self.writer,
                make_l1=self.make_l1,
                rid_lut=self.rid_lut,
                rid_lut_error=self.rid_lut_error,
            )
            _record([report], step, "L0")
            if self.make_l1:
                _record([report], l1, "L1")
            self.on_report(report)
            return
        step = StepResult(Path(lb_path))
        product = l0_product_of(Path(lb_path), self.idb_manager, step, self.lb_handover)
        if product is not None:
            self._buffer(self._l0, self.writer.l0_targets(product), [report], "L0", step)
        _record([report], step, "L0")
        self.on_report(report)

    def add_l0_file(self, l0_path: Path, report: FileReport) -> None:
        """Read an L0 file and buffer the daily parts of its L1 product."""
        step = StepResult(Path(l0_path))
        try:
            product = self.writer.read(Path(l0_path))
        except ProductFileError as exc:
            step.file_errors.append(str(exc))
        else:
            self._to_l1(product, Path(l0_path).name, [report], step)
        _record([report], step, "L1")
        self.on_report(report)

    def _buffer(
        self,
        pending: dict[Path, _Pending],
        targets_of: list[tuple[Path, Product]] | Callable[[], list[tuple[Path, Product]]],
        reports: list[FileReport],
        level: str,
        step: StepResult,
    ) -> None:
        try:
            targets = targets_of() if callable(targets_of) else targets_of
        except WaitingForKernels as exc:
            step.waiting.append(f"{step.source.name} -> {level}: {exc}")
            return
        except Exception as exc:
            if is_infrastructure_fault(exc):
                raise
            step.file_errors.append(f"{step.source.name} -> {level}: {describe(exc)}")
            return
        for path, part in targets:
            if path in pending:
                pending[path].add(part, reports)
            else:
                pending[path] = _Pending(part, target_day(path), list(reports))

    def _to_l1(self, l0: Product, l0_name: str, reports: list[FileReport], step: StepResult) -> None:
        l1 = l1_product_of(l0, l0_name, self.idb_manager, step, self._calibrations)
        if l1 is not None:
            self._buffer(self._l1, lambda: self.writer.l1_targets(l1), reports, "L1", step)

    # -- output -------------------------------------------------------------------------------------
    def flush(self, before_scet_day: int | None = None) -> None:
        """Write buffered targets: all, or those no input after SCET day ``before_scet_day`` can reach."""
        for path in _due(self._l0, None if before_scet_day is None else before_scet_day - 1):
            self._flush_l0(path, self._l0.pop(path))
        for path in _due(self._l1, None if before_scet_day is None else before_scet_day - 2):
            self._flush_l1(path, self._l1.pop(path))

    def close(self) -> None:
        """Write everything still buffered."""
        self.flush(None)

    def _flush_l0(self, path: Path, pending: _Pending) -> None:
        step = StepResult(path)
        try:
            result, merged = self.writer.merge_write(path, pending.product)
            step.add([result])
            if self.make_l1:
                self._to_l1(merged, path.name, pending.reports, step)
        except Exception as exc:
            if is_infrastructure_fault(exc):
                raise
            step.file_errors.append(f"{path.name}: {describe(exc)}")
        _record(pending.reports, step, "L0")
        for report in pending.reports:
            self.on_report(report)

    def _flush_l1(self, path: Path, pending: _Pending) -> None:
        step = StepResult(path)
        try:
            result, _ = self.writer.merge_write(path, pending.product)
            step.add([result])
        except Exception as exc:
            if is_infrastructure_fault(exc):
                raise
            step.file_errors.append(f"{path.name}: {describe(exc)}")
            result = None
        _record(pending.reports, step, "L1")
        for report in pending.reports:
            self.on_report(report)
        if result is not None and result.written and self.l2_hook is not None:
            for report in pending.reports:
                self.l2_hook(path, report)
                break


def day_of_input(path: Path) -> int | None:
    """SCET day of an LB or L0 daily file name (``None`` for per-request files and others)."""
    try:
        return parse_lb_file_name(path.name)["day"]
    except ValueError:
        pass
    try:
        return target_day(path) if parse_product_name(path.name)["level"] == "L0" else None
    except ValueError:
        return None


def input_group(path: Path) -> str:
    """Packet type / product descriptor of an input file name (inputs are streamed per group)."""
    parts = path.name.split("_")
    return parts[2] if len(parts) > 2 else path.name


def stream_order(paths: list[Path]) -> list[Path]:
    """Inputs grouped by type, each group in day order (undated files last in their group)."""
    return sorted(paths, key=lambda p: (input_group(p), day_of_input(p) is None, day_of_input(p) or 0, p.name))


def feed(
    stream: ProductStream,
    inputs: Iterable[tuple[Path, FileReport]],
    add: Callable[[Path, FileReport], None],
    stage: str = "LB -> L0/L1",
) -> None:
    """Feed inputs (already in :func:`stream_order`) and flush by day; closes the stream.

    A failure of ``add`` for one input is contained: a file error of that input (``stage`` names
    the step), the other inputs go on.
    """
    group = None
    for path, report in inputs:
        if input_group(path) != group:
            stream.close()
            group = input_group(path)
        failed = len(report.file_errors)
        with contained(report, stage, path.name):
            add(path, report)
        release_after_input(path)
        if len(report.file_errors) > failed:
            stream.on_report(report)
        day = day_of_input(path)
        if day is not None:
            stream.flush(day)
        else:
            stream.close()
    stream.close()


__all__ = ["ProductStream", "day_of_input", "feed", "stream_order", "target_day"]
