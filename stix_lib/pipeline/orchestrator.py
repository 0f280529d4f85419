"""The processing chain TM -> LB -> L0 -> L1 -> L2 for the CLI and the Airflow tasks.

Two ways to drive it:

* :meth:`Pipeline.process_tm` takes **one** telemetry file through every level (what an event
  task does per delivered file) and returns its :class:`~stix_lib.pipeline.report.FileReport`;
* :meth:`Pipeline.run` processes a set of inputs **level by level** (all TM files to LB, then all
  touched LB files to L0, ...), as the manual CLI does; every step input gets a report.

Each step works on whole files: an LB file (everything known for a packet type and SCET day)
becomes L0, an L0 daily file becomes L1, an L1 ``cal-energy`` file is handed to the L2 hook
(``callable(l1_path) -> list[Path]``, the CAL energy calibration). Steps downstream of LB also
run for inputs that did not change (their writers detect "nothing new" and leave the files
alone), so re-running after an interruption completes what was missing; the L2 hook only runs
for L1 files that changed. A packet that cannot be used costs that packet; a product that cannot
be built or written costs that product; a telemetry file that cannot be read at all is reported
``unusable`` and nothing is produced from it. With ``stop_on_error`` the first problem raises
:class:`PipelineAborted` (carrying the report so far).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TypeVar

from stix_lib.conf.energy_channels import ScienceEnergyChannels
from stix_lib.idb.manager import IDBManager
from stix_lib.lb.convert import tm_to_lb
from stix_lib.pipeline.report import FileReport, RunReport
from stix_lib.products.header import SoopKeywordProvider
from stix_lib.products.naming import parse_product_name
from stix_lib.products.steps import StepResult, l0_to_l1, lb_to_l0
from stix_lib.products.writer import ProductWriter
from stix_lib.settings import Settings
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.spice.meta_kernels import MetaKernels
from stix_lib.tm.errors import TelemetryFileError

log = logging.getLogger(__name__)

T = TypeVar("T")
L2Hook = Callable[[Path], list[Path]]
Progress = Callable[[Iterable[T], str], Iterable[T]]

#: ``VERS_CFG`` when STIX-CONF has no ``VERSION.TXT``.
UNKNOWN_CONF_VERSION = "unknown"


class Level(IntEnum):
    """Processing levels (``ALL`` as start means TM, as end means L2)."""

    TM = -2
    LB = -1
    L0 = 0
    L1 = 1
    L2 = 2
    ALL = 100

    @classmethod
    def parse(cls, text: str | Level) -> Level:
        """Level from its name (case-insensitive)."""
        return text if isinstance(text, Level) else cls[str(text).upper()]


class PipelineAborted(RuntimeError):
    """``stop_on_error``: processing stopped at the first problem; ``report`` holds what was done."""

    def __init__(self, message: str, report: FileReport) -> None:
        super().__init__(message)
        self.report = report


def read_conf_version(conf_dir: Path) -> str:
    """First line of ``<conf_dir>/VERSION.TXT``; ``"unknown"`` when missing or empty."""
    try:
        lines = (Path(conf_dir) / "VERSION.TXT").read_text(encoding="utf-8").splitlines()
    except OSError:
        return UNKNOWN_CONF_VERSION
    return lines[0].strip() if lines and lines[0].strip() else UNKNOWN_CONF_VERSION


class ExplicitMetaKernel(SpiceKernels):
    """Kernels of one given meta kernel (``--spice_file``) instead of the latest pred + flown."""

    def __init__(self, meta_kernel: Path, work_dir: Path | None = None) -> None:
        path = Path(meta_kernel).resolve()
        super().__init__(path.parent.parent, work_dir, use_predicted=False)
        self.meta_kernel = path

    def _select(self) -> tuple[MetaKernels, tuple[Path, ...]]:
        return MetaKernels(self.kernel_dir, None, self.meta_kernel), (self.meta_kernel,)


def make_kernels(
    spice_dir: Path | None, spice_file: Path | None = None, work_dir: Path | None = None
) -> SpiceKernels | None:
    """SPICE kernels from an explicit meta kernel, else the latest of ``spice_dir`` (``None`` if neither)."""
    if spice_file is not None:
        return ExplicitMetaKernel(Path(spice_file), work_dir)
    if spice_dir is not None and (Path(spice_dir) / "mk").is_dir():
        return SpiceKernels(Path(spice_dir), work_dir)
    return None


def _identity(items: Iterable[T], _description: str) -> Iterable[T]:
    return items


@dataclass
class Pipeline:
    """The processing chain over one archive (see the module docstring).

    Parameters
    ----------
    writer
        Product writer (archive, versions, STIX-CONF, SPICE, SOOP).
    idb_manager
        IDB selection.
    l2_hook
        Called with every changed L1 ``cal-energy`` file; returns the files it wrote.
    stop_on_error
        Raise :class:`PipelineAborted` at the first problem.
    progress
        Wraps iterations (e.g. a progress bar): ``progress(items, description)``.
    date
        Fixed ``DATE`` keyword of LB files (tests).
    """

    writer: ProductWriter
    idb_manager: IDBManager
    l2_hook: L2Hook | None = None
    stop_on_error: bool = False
    progress: Progress = field(default=_identity)
    date: str | None = None

    @property
    def archive(self) -> Path:
        """The FITS archive root."""
        return self.writer.archive

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        fits_dir: Path | None = None,
        idb_dir: Path | None = None,
        spice_dir: Path | None = None,
        spice_file: Path | None = None,
        soop: SoopKeywordProvider | None = None,
        l2_hook: L2Hook | None = None,
        stop_on_error: bool = False,
        spice_work_dir: Path | None = None,
    ) -> Pipeline:
        """A pipeline configured from settings (explicit arguments win)."""
        archive = Path(fits_dir or settings.fits_archive_dir)  # type: ignore[arg-type]
        kernels = make_kernels(spice_dir or settings.spice_dir, spice_file, spice_work_dir)
        writer = ProductWriter(
            archive,
            processing_version=settings.processing_version,
            vers_cfg=read_conf_version(Path(settings.conf_dir)),  # type: ignore[arg-type]
            energy_channels=ScienceEnergyChannels(Path(settings.conf_dir)),  # type: ignore[arg-type]
            kernels=kernels,
            soop=soop,
        )
        manager = IDBManager(Path(idb_dir or settings.idb_dir))  # type: ignore[arg-type]
        return cls(writer, manager, l2_hook=l2_hook, stop_on_error=stop_on_error)

    # -- single steps --------------------------------------------------------------------------
    def _stop(self, report: FileReport) -> None:
        if self.stop_on_error and (report.unusable or report.packet_errors or report.file_errors):
            raise PipelineAborted(f"stopping on error while processing {report.source}", report)

    def _record(self, report: FileReport, level: str, step: StepResult) -> None:
        report.add_files(level, step.written, step.unchanged)
        report.add_packet_errors(level, step.packet_errors)
        report.warnings.extend(step.warnings)
        report.file_errors.extend(step.file_errors)
        self._stop(report)

    def tm_to_lb(self, tm_file: Path, report: FileReport) -> list[Path]:
        """TM -> LB for one file; returns the LB files it touched (written or unchanged)."""
        try:
            result = tm_to_lb(
                Path(tm_file),
                self.archive,
                self.idb_manager,
                version=self.writer.processing_version,
                vers_cfg=self.writer.vers_cfg,
                date=self.date,
            )
        except TelemetryFileError as exc:
            report.unusable = str(exc)
            log.error("unusable telemetry file %s: %s", tm_file, exc)
            self._stop(report)
            return []
        report.add_files("LB", result.written, result.unchanged)
        report.add_packet_errors("LB", result.errors)
        report.file_errors.extend(result.file_errors)
        self._stop(report)
        return [*result.written, *result.unchanged]

    def lb_to_l0(self, lb_file: Path, report: FileReport) -> list[Path]:
        """LB -> L0 for one LB file; returns the L0 files it touched."""
        step = lb_to_l0(Path(lb_file), self.idb_manager, self.writer)
        self._record(report, "L0", step)
        return [*step.written, *step.unchanged]

    def l0_to_l1(self, l0_file: Path, report: FileReport) -> tuple[list[Path], list[Path]]:
        """L0 -> L1 for one L0 file; returns (changed, unchanged) L1 files."""
        step = l0_to_l1(Path(l0_file), self.idb_manager, self.writer)
        self._record(report, "L1", step)
        return step.written, step.unchanged

    def l1_to_l2(self, l1_file: Path, report: FileReport) -> list[Path]:
        """Run the L2 hook for an L1 ``cal-energy`` file (other files: nothing to do)."""
        if self.l2_hook is None or not _is_cal_energy(Path(l1_file)):
            return []
        try:
            written = [Path(p) for p in self.l2_hook(Path(l1_file))]
        except Exception as exc:  # noqa: BLE001 - the hook's failure costs its product only
            report.file_errors.append(f"{Path(l1_file).name} -> L2: {exc}")
            self._stop(report)
            return []
        report.add_files("L2", written)
        return written

    # -- drivers ---------------------------------------------------------------------------------
    def process_tm(self, tm_file: Path, *, end_level: Level | str = Level.L2) -> FileReport:
        """One telemetry file through every level up to ``end_level``."""
        end = _end(end_level)
        report = FileReport(str(tm_file))
        lb_files = self.tm_to_lb(Path(tm_file), report)
        if end < Level.L0:
            return report
        l0_files = _unique(p for lb in lb_files for p in self.lb_to_l0(lb, report))
        if end < Level.L1:
            return report
        changed: list[Path] = []
        for l0 in l0_files:
            written, _ = self.l0_to_l1(l0, report)
            changed += written
        if end >= Level.L2:
            for l1 in _unique(changed):
                self.l1_to_l2(l1, report)
        return report

    def run(
        self, inputs: Sequence[Path], *, start_level: Level | str = Level.TM, end_level: Level | str = Level.L2
    ) -> RunReport:
        """Process ``inputs`` (files of ``start_level``) level by level up to ``end_level``.

        Raises
        ------
        ValueError
            If ``end_level`` is before ``start_level``.
        """
        start = Level.TM if Level.parse(start_level) == Level.ALL else Level.parse(start_level)
        end = _end(end_level)
        if end < start:
            raise ValueError(f"end level {end.name} is before start level {start.name}")
        run = RunReport()
        files = [Path(p) for p in inputs]
        if start == Level.TM:
            touched: list[Path] = []
            for tm in self.progress(files, "TM -> LB"):
                report = FileReport(str(tm))
                run.files.append(report)
                touched += self.tm_to_lb(tm, report)
            files, start = _unique(touched), Level.LB
        if start == Level.LB and end >= Level.L0:
            files = self._stage(run, files, "LB -> L0", self.lb_to_l0)
            start = Level.L0
        if start == Level.L0 and end >= Level.L1:
            changed: list[Path] = []

            def step(path: Path, report: FileReport) -> list[Path]:
                written, _ = self.l0_to_l1(path, report)
                changed.extend(written)
                return written

            self._stage(run, files, "L0 -> L1", step)
            files, start = _unique(changed), Level.L1
        if start == Level.L1 and end >= Level.L2:
            self._stage(run, [f for f in files if _is_cal_energy(f)], "L1 -> L2", self.l1_to_l2)
        return run

    def _stage(
        self, run: RunReport, files: Sequence[Path], description: str, step: Callable[[Path, FileReport], list[Path]]
    ) -> list[Path]:
        out: list[Path] = []
        for path in self.progress(list(files), description):
            report = FileReport(str(path))
            run.files.append(report)
            out += step(path, report)
        return _unique(out)


def _end(level: Level | str) -> Level:
    parsed = Level.parse(level)
    return Level.L2 if parsed == Level.ALL else parsed


def _unique(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(Path(p) for p in paths))


def _is_cal_energy(path: Path) -> bool:
    try:
        parsed = parse_product_name(path.name)
    except ValueError:
        return False
    return parsed["level"] == "L1" and parsed["descriptor"] == "cal-energy"
