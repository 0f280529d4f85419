"""The processing chain TM -> LB -> L0 -> L1 -> L2 for the CLI and the Airflow tasks.

Two ways to drive it:

* :meth:`Pipeline.process_tm` takes **one** telemetry file through every level (what an event
  task does per delivered file) and returns its :class:`~stix_lib.pipeline.report.FileReport`;
* :meth:`Pipeline.run` processes a set of inputs level by level (all TM files to LB, then the
  touched LB files to L0 and L1, ...), as the manual CLI does; every step input gets a report.

TM -> LB is :func:`stix_lib.lb.tm_to_lb` per telemetry file, in the given order (delivery order
decides between differing packets with the same key). From LB on, inputs are whole files (an LB
file holds everything known for a packet type and SCET day) streamed per packet type in day
order through :class:`~stix_lib.pipeline.stream.ProductStream`: every daily L0/L1 file a run
touches is merged (newest wins) and written once, each flushed L0 file is converted to L1 from its
merged content, and the L2 hook (``callable(l1_path) -> list[Path]``, the CAL energy calibration)
runs for L1 ``cal-energy`` files that changed. LB inputs that did not change are processed too
(the writers detect "nothing new" and leave files alone), so re-running after an interruption
completes what was missing. With ``workers > 1`` runs of days of one packet type are processed
in parallel processes (fork); files two of them touch are serialised by the writer's folder lock.

Containment (:mod:`stix_lib.pipeline.containment`): a packet that cannot be used costs that
packet (admission refusals are counted per class in the report); a product that cannot be built
or written costs that product; any other exception while reading, decoding, naming or writing one
input becomes a file error of that input's report and the batch goes on. Only infrastructure
faults (disk full, database down) stop a run. A telemetry file that cannot be read at all is
reported ``unusable`` and nothing is produced from it (the caller quarantines it); a truncated
file gives its complete packets, is reported ``truncated`` and a copy goes to quarantine. Stale
hidden ``.partial`` files older than :data:`STALE_PARTIAL_AGE` are removed from the archive when
a run starts at TM (:func:`sweep_stale_partials`). With ``stop_on_error`` the first problem raises
:class:`PipelineAborted` (carrying the report so far).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TypeVar

from stix_lib.atomic import remove_stale_partials_below
from stix_lib.idb.manager import IDBManager
from stix_lib.lb.convert import tm_to_lb
from stix_lib.lb.fits_io import WrittenLB
from stix_lib.lb.header import CONF_VERSION_FALLBACK
from stix_lib.pipeline.containment import PipelineAborted, contained, describe, is_infrastructure_fault
from stix_lib.pipeline.report import FileReport, RunReport
from stix_lib.pipeline.stream import ProductStream, feed, input_group, stream_order
from stix_lib.products.l0_l1_names import parse_product_name
from stix_lib.products.writer import ProductWriter
from stix_lib.quarantine import quarantine_copy
from stix_lib.ridlut.table import RidLut
from stix_lib.spice.kernels import SpiceKernels
from stix_lib.spice.meta_kernels import MetaKernels
from stix_lib.time.mission_window import MissionWindow
from stix_lib.tm.errors import TelemetryFileError

log = logging.getLogger(__name__)

T = TypeVar("T")
L2Hook = Callable[[Path], list[Path]]
Progress = Callable[[Iterable[T], str], Iterable[T]]

#: Inputs per parallel task (consecutive days of one packet type), see ``Pipeline.workers``.
PARALLEL_CHUNK = 8

#: Age (seconds) after which a hidden ``.partial`` file in the archive is a leftover of a killed writer.
STALE_PARTIAL_AGE = 3600.0

#: ``VERS_CFG`` when STIX-CONF has no ``VERSION.TXT`` (STIXCore's fallback).
UNKNOWN_CONF_VERSION = CONF_VERSION_FALLBACK


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


#: The pipeline of a worker process (set by the pool initializer in that process only).
_WORKER_PIPELINE: list[Pipeline] = []


def _adopt(pipeline: Pipeline) -> None:
    _WORKER_PIPELINE[:] = [pipeline]


def _stream_in_worker(files: list[Path], end: Level, kind: str) -> list[FileReport]:
    pipeline = _WORKER_PIPELINE[0]
    return pipeline._stream_group(files, end, kind, progress=False)


def read_conf_version(conf_dir: Path) -> str:
    """First line of ``<conf_dir>/VERSION.TXT``; :data:`UNKNOWN_CONF_VERSION` when missing or empty."""
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


def load_rid_lut(path: Path | None) -> tuple[RidLut | None, str | None]:
    """The RID LUT of ``path``, or ``None`` and the reason (no file configured, missing, unreadable)."""
    if path is None:
        return None, "no RID LUT file configured"
    try:
        return RidLut.read(Path(path)), None
    except FileNotFoundError:
        return None, f"RID LUT file {path} not found"
    except (OSError, ValueError) as exc:
        return None, f"RID LUT file {path} unreadable: {exc}"


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
    workers
        Processes for the LB -> L0 -> L1 stream of :meth:`run`: packet types are independent
        (different files), so with ``workers > 1`` they are processed in parallel (fork).
    rid_lut
        RID LUT of the science requests (trigger descaling); ``None``: requests with scaled
        triggers fail with a per-file error naming ``rid_lut_error``.
    rid_lut_error
        Why there is no LUT (e.g. the file is missing).
    lb_handover
        The daily LB products this pipeline wrote, handed from TM -> LB to LB -> L0 in memory.
    window
        Packet times accepted for products (:func:`~stix_lib.pipeline.build.build_pipeline`: the
        ``mission_time_margin_*`` settings); ``None`` accepts any time.
    quarantine_dir
        Where a copy of a truncated telemetry file goes (``None``: no copy).
    """

    writer: ProductWriter
    idb_manager: IDBManager
    l2_hook: L2Hook | None = None
    stop_on_error: bool = False
    progress: Progress = field(default=_identity)
    date: str | None = None
    workers: int = 1
    rid_lut: RidLut | None = None
    rid_lut_error: str | None = None
    lb_handover: WrittenLB = field(default_factory=WrittenLB)
    window: MissionWindow | None = None
    quarantine_dir: Path | None = None

    @property
    def archive(self) -> Path:
        """The FITS archive root."""
        return self.writer.archive

    # -- single steps --------------------------------------------------------------------------
    def _stop(self, report: FileReport) -> None:
        if self.stop_on_error and (report.unusable or report.packet_errors or report.file_errors):
            raise PipelineAborted(f"stopping on error while processing {report.source}", report)

    def tm_to_lb(self, tm_file: Path, report: FileReport) -> list[Path]:
        """TM -> LB for one file; returns the LB files it touched (written or unchanged).

        Whatever goes wrong with this file is recorded in ``report`` (contained); only
        infrastructure faults raise.
        """
        tm_file = Path(tm_file)
        result = None
        with contained(report, "TM -> LB", tm_file.name):
            try:
                result = tm_to_lb(
                    tm_file,
                    self.archive,
                    self.idb_manager,
                    version=self.writer.processing_version,
                    vers_cfg=self.writer.vers_cfg,
                    date=self.date,
                    handover=self.lb_handover,
                    window=self.window,
                )
            except TelemetryFileError as exc:
                report.unusable = str(exc)
                log.error("unusable telemetry file %s: %s", tm_file, exc)
        if result is None:
            self._stop(report)
            return []
        report.add_files("LB", result.written, result.unchanged)
        report.add_packet_errors("LB", result.errors)
        report.file_errors.extend(result.file_errors)
        for kind, count in result.rejected.items():
            report.rejected[kind] = report.rejected.get(kind, 0) + count
        if result.truncated:
            report.truncated = "; ".join(result.truncated)
            self._quarantine_copy(tm_file, report)
        self._stop(report)
        return [*result.written, *result.unchanged]

    def _quarantine_copy(self, tm_file: Path, report: FileReport) -> None:
        if self.quarantine_dir is None:
            return
        try:
            copy = quarantine_copy(tm_file, self.quarantine_dir, str(report.truncated), stage="TM -> LB (truncated)")
        except OSError as exc:
            if is_infrastructure_fault(exc):
                raise
            report.warnings.append(f"{tm_file.name}: no quarantine copy: {describe(exc)}")
        else:
            report.warnings.append(f"{tm_file.name}: truncated; a copy is in {copy}")

    def l1_to_l2(self, l1_file: Path, report: FileReport) -> list[Path]:
        """Run the L2 hook for an L1 ``cal-energy`` file (other files: nothing to do)."""
        if self.l2_hook is None or not _is_cal_energy(Path(l1_file)):
            return []
        try:
            written = [Path(p) for p in self.l2_hook(Path(l1_file))]
        except Exception as exc:  # the hook's failure costs its product only
            if is_infrastructure_fault(exc):
                raise
            report.file_errors.append(f"{Path(l1_file).name} -> L2: {exc}")
            self._stop(report)
            return []
        report.add_files("L2", written)
        return written

    # -- drivers ---------------------------------------------------------------------------------
    def _stream(self, end: Level) -> ProductStream:
        return ProductStream(
            self.writer,
            self.idb_manager,
            make_l1=end >= Level.L1,
            l2_hook=self.l1_to_l2 if end >= Level.L2 else None,
            on_report=self._stop,
            rid_lut=self.rid_lut,
            rid_lut_error=self.rid_lut_error,
            lb_handover=self.lb_handover,
        )

    def process_tm(self, tm_file: Path, *, end_level: Level | str = Level.L2) -> FileReport:
        """One telemetry file through every level up to ``end_level``."""
        end = _end(end_level)
        report = FileReport(str(tm_file))
        lb_files = self.tm_to_lb(Path(tm_file), report)
        if end >= Level.L0:
            stream = self._stream(end)
            feed(stream, [(p, report) for p in stream_order(lb_files)], stream.add_lb)
        return report

    def _stream_group(self, files: Sequence[Path], end: Level, kind: str, progress: bool) -> list[FileReport]:
        """Stream one ordered list of LB (``kind="lb"``) or L0 (``"l0"``) files; their reports."""
        stream = self._stream(end)
        items = [(p, FileReport(str(p))) for p in files]
        add = stream.add_lb if kind == "lb" else stream.add_l0_file
        label = "LB -> L0/L1" if kind == "lb" else "L0 -> L1"
        feed(stream, self.progress(items, label) if progress else items, add, label)
        return [report for _, report in items]

    def _stream_files(self, files: Sequence[Path], end: Level, kind: str) -> list[FileReport]:
        """Stream inputs per packet type; with ``workers > 1`` in parallel processes.

        In parallel, every type's inputs (in day order) are cut into runs of
        :data:`PARALLEL_CHUNK` files; runs are independent tasks. Two runs may both contribute to
        the daily file at their border: the folder lock serialises the two merges, and the
        newest-wins merge gives the same content in either order.
        """
        ordered = stream_order(list(files))
        chunks: list[list[Path]] = []
        for path in ordered:
            if chunks and input_group(chunks[-1][-1]) == input_group(path) and len(chunks[-1]) < PARALLEL_CHUNK:
                chunks[-1].append(path)
            else:
                chunks.append([path])
        if self.workers <= 1 or len(chunks) < 2:
            return self._stream_group(ordered, end, kind, progress=True)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_adopt, initargs=(self,)) as pool:
            futures = [pool.submit(_stream_in_worker, chunk, end, kind) for chunk in chunks]
            for _ in self.progress(as_completed(futures), f"{kind.upper()} runs"):
                pass
            pairs = zip(chunks, futures, strict=True)
            return [report for chunk, future in pairs for report in _chunk_reports(chunk, future)]

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
            sweep_stale_partials(self.archive)
            touched: list[Path] = []
            for tm in self.progress(files, "TM -> LB"):
                report = FileReport(str(tm))
                run.files.append(report)
                touched += self.tm_to_lb(tm, report)
            files, start = _unique(touched), Level.LB
        if start == Level.LB and end >= Level.L0:
            run.files.extend(self._stream_files(files, end, "lb"))
        elif start == Level.L0 and end >= Level.L1:
            run.files.extend(self._stream_files(files, end, "l0"))
        elif start == Level.L1 and end >= Level.L2:
            for path in self.progress([f for f in files if _is_cal_energy(f)], "L1 -> L2"):
                report = FileReport(str(path))
                run.files.append(report)
                self.l1_to_l2(path, report)
        return run


def sweep_stale_partials(archive: Path) -> list[Path]:
    """Remove hidden ``.partial`` files older than :data:`STALE_PARTIAL_AGE` from ``archive``.

    Called when a run starts at TM (:meth:`Pipeline.run`, the processing DAG's input selection).
    """
    removed = remove_stale_partials_below(Path(archive), STALE_PARTIAL_AGE) if Path(archive).is_dir() else []
    for stale in removed:
        log.warning("removed %s, left by a killed writer", stale)
    return removed


def _end(level: Level | str) -> Level:
    parsed = Level.parse(level)
    return Level.L2 if parsed == Level.ALL else parsed


def _chunk_reports(chunk: Sequence[Path], future) -> list[FileReport]:
    """The reports of a parallel run of inputs; a crashed worker costs its inputs (a file error each)."""
    try:
        return future.result()
    except PipelineAborted:
        raise
    except Exception as exc:
        if is_infrastructure_fault(exc):
            raise
        reports = [FileReport(str(path)) for path in chunk]
        for report in reports:
            report.file_errors.append(f"{Path(report.source).name}: worker failed: {describe(exc)}")
        return reports


def _unique(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(Path(p) for p in paths))


def _is_cal_energy(path: Path) -> bool:
    try:
        parsed = parse_product_name(path.name)
    except ValueError:
        return False
    return parsed["level"] == "L1" and parsed["descriptor"] == "cal-energy"
