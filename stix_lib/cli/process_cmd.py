"""``stix-pipeline process``: run the processing chain TM -> LB -> L0 -> L1 -> L2 on a set of files.

The options follow the runbook's ``stix-pipeline-cli``. Inputs: with ``-i`` the files listed (one
absolute path per line) filtered by the regular expression ``-F`` on the full path; otherwise the
files of the start level's folder matching the glob ``-F``: ``*PktTmRaw*.xml`` (the ``tm_pattern``
setting) in ``--tm_dir`` for ``-b TM``, ``*.fits`` below ``<fits_dir>/LB``, ``/L0`` or ``/L1`` for
``-b LB``, ``L0``, ``L1``. Science requests use the RID LUT ``-r`` (default: the ``rid_lut_file`` setting;
missing: requests with scaled triggers fail per file), refreshed first from ``rid_lut_update_url``
with ``--update_rid_lut``. Processing is level by level (all TM files, then every touched LB file,
...). ``-b ALL`` starts at TM, ``-e ALL`` ends at L2.

Exit status: 0 when everything was processed, 1 when some packets or products failed (or
``--stop_on_error`` stopped the run), 2 for unusable inputs or bad options, 3 when an
infrastructure fault (disk full, database down; see :mod:`stix_lib.pipeline.containment`) stopped
the run. Any other failure is contained: it is the error of the file concerned in the report.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import logging
import re
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stix_lib.settings import Settings

if TYPE_CHECKING:  # the processing chain is imported by run(): building the CLI parser stays cheap
    from stix_lib.pipeline.options import PipelineOptions
    from stix_lib.pipeline.orchestrator import Level
    from stix_lib.pipeline.report import RunReport

NAME = "process"
HELP = "process telemetry into LB, L0, L1 (and CAL) products"

EXIT_OK, EXIT_ERRORS, EXIT_UNUSABLE, EXIT_INFRASTRUCTURE = 0, 1, 2, 3
LEVEL_CHOICES = ("TM", "LB", "L0", "L1", "L2", "ALL")

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``process``."""
    parser.add_argument("-t", "--tm_dir", type=Path, help="telemetry input folder (default: soc_processing_dir)")
    parser.add_argument("-f", "--fits_dir", type=Path, help="FITS archive (output, and input of LB/L0/L1 starts)")
    parser.add_argument("-s", "--spice_dir", type=Path, help="SPICE kernel tree (default: spice_dir)")
    parser.add_argument("-S", "--spice_file", type=Path, help="use this meta kernel instead of the latest ones")
    parser.add_argument(
        "-p", "--soop_dir", type=Path, help="SOOP (LTP export) folder (default: from_soc_dir)"
    )
    parser.add_argument("--idb_dir", "--idb-dir", type=Path, help="IDB root (default: idb_dir)")
    errors = parser.add_mutually_exclusive_group()
    errors.add_argument("--stop_on_error", dest="stop_on_error", action="store_true", help="stop at the first error")
    errors.add_argument(
        "--continue_on_error", dest="stop_on_error", action="store_false", help="report errors and go on (default)"
    )
    parser.set_defaults(stop_on_error=False)
    parser.add_argument("-o", "--out_file", type=Path, help="write the list of produced files here")
    parser.add_argument("-l", "--log_file", type=Path, help="also append the log to this file")
    parser.add_argument(
        "--log_level",
        dest="process_log_level",
        choices=["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET"],
        help="logging level of this run",
    )
    parser.add_argument(
        "-b", "--start_level", default="TM", choices=LEVEL_CHOICES, type=str.upper, help="first level (default TM)"
    )
    parser.add_argument(
        "-e", "--end_level", default="L2", choices=LEVEL_CHOICES, type=str.upper, help="last level (default L2)"
    )
    parser.add_argument("-F", "--filter", help="glob on file names (regular expression on full paths with -i)")
    parser.add_argument("-i", "--input_files", type=Path, help="text file listing the input files (absolute paths)")
    parser.add_argument(
        "-c", "--clean", nargs="?", const=True, default=False, help="delete everything in the FITS archive first"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask before --clean")
    parser.add_argument(
        "-r", "--rid_lut_file", type=Path, help="RID LUT CSV for trigger descaling (default: rid_lut_file)"
    )
    parser.add_argument(
        "--update_rid_lut", action="store_true", help="refresh the RID LUT from rid_lut_update_url first"
    )
    parser.add_argument("--json", action="store_true", help="print the run summary as JSON")
    parser.add_argument(
        "-w", "--workers", type=int, default=1, help="processes for LB -> L0 -> L1 (packet types in parallel)"
    )


def _configure_logging(args: argparse.Namespace) -> None:
    root = logging.getLogger()
    if args.process_log_level:
        root.setLevel(args.process_log_level)
    if args.log_file:
        handler = logging.FileHandler(args.log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)


def find_inputs(
    start: Level, *, tm_dir: Path, fits_dir: Path, pattern: str, filter_text: str | None, input_files: Path | None
) -> list[Path]:
    """The input files of a run (see the module docstring), sorted."""
    from stix_lib.pipeline.orchestrator import Level

    if input_files is not None:
        listed = [Path(line.strip()) for line in input_files.read_text().splitlines() if line.strip()]
        missing = [str(p) for p in listed if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"listed input files do not exist: {', '.join(missing[:5])}")
        if filter_text:
            expression = re.compile(filter_text)
            listed = [p for p in listed if expression.search(str(p))]
        return listed
    if start in (Level.TM, Level.ALL):
        glob = filter_text or pattern
        return sorted(p for p in Path(tm_dir).glob("*") if p.is_file() and fnmatch.fnmatch(p.name, glob))
    folder = Path(fits_dir) / start.name
    glob = filter_text or "*.fits"
    return sorted(p for p in folder.rglob("*.fits") if fnmatch.fnmatch(p.name, glob))


def clean_archive(fits_dir: Path, *, ask: bool) -> bool:
    """Delete everything inside ``fits_dir`` (after confirmation when ``ask``); False if declined."""
    folder = Path(fits_dir).resolve()
    if folder == Path(folder.anchor) or folder == Path.home().resolve():
        raise ValueError(f"refusing to clean {folder}")
    if ask:
        answer = input(f"clean {folder} Y/N? ")
        if answer.strip().lower() not in ("y", "yes"):
            return False
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    return True


def _progress_factory(enabled: bool):
    if not enabled:
        return lambda items, description: items
    from tqdm import tqdm

    def progress(items: Iterable[Any], description: str) -> Iterable[Any]:
        items = list(items)
        return tqdm(items, desc=description, unit="file", file=sys.stderr, leave=False) if items else items

    return progress


def pipeline_options(args: argparse.Namespace) -> PipelineOptions:
    """The :class:`~stix_lib.pipeline.options.PipelineOptions` of the parsed command line."""
    from stix_lib.pipeline.options import PipelineOptions

    return PipelineOptions.from_overrides(
        fits_dir=args.fits_dir,
        idb_dir=args.idb_dir,
        spice_dir=args.spice_dir,
        spice_file=args.spice_file,
        soop_dir=args.soop_dir,
        rid_lut_file=args.rid_lut_file,
        end_level=args.end_level,
        stop_on_error=args.stop_on_error,
        workers=max(1, args.workers),
    )


def _summary_text(run: RunReport) -> str:
    from stix_lib.pipeline.report import LEVEL_NAMES

    lines = [f"{level}: {len(run.written(level))} file(s) written" for level in LEVEL_NAMES]
    for report in run.files:
        if report.status != "ok":
            lines.append(
                f"{report.source}: {report.status}"
                f" ({len(report.packet_errors)} packet error(s), {len(report.file_errors)} file error(s))"
                + (f": {report.unusable}" if report.unusable else "")
            )
            lines.extend(f"  {text}" for text in report.file_errors[:10])
            lines.extend(f"  {text}" for text in report.waiting[:10])
    return "\n".join(lines)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``process``; returns the exit status."""
    from stix_lib.pipeline.build import build_pipeline
    from stix_lib.pipeline.containment import describe, is_infrastructure_fault
    from stix_lib.pipeline.orchestrator import Level, PipelineAborted
    from stix_lib.pipeline.report import LEVEL_NAMES, RunReport

    _configure_logging(args)
    start, end = Level.parse(args.start_level), Level.parse(args.end_level)
    first = Level.TM if start == Level.ALL else start
    last = Level.L2 if end == Level.ALL else end
    if last < first:
        print(f"stix-pipeline process: end level {end.name} is before start level {start.name}", file=sys.stderr)
        return EXIT_UNUSABLE
    fits_dir = Path(args.fits_dir or settings.fits_archive_dir)
    lut_file = Path(args.rid_lut_file or settings.rid_lut_file)
    if args.update_rid_lut:
        from stix_lib.ridlut.update import update_rid_lut

        try:
            update = update_rid_lut(lut_file, settings.rid_lut_update_url)
        except (OSError, ValueError) as exc:
            print(f"stix-pipeline process: RID LUT update failed: {exc}", file=sys.stderr)
        else:
            print(
                f"RID LUT {lut_file}: {len(update.urls)} API call(s), {update.added_rows} new row(s),"
                f" {update.total_rows} rows" + (f"; update stopped: {update.error}" if update.error else ""),
                file=sys.stderr,
            )
    if args.clean:
        if not clean_archive(fits_dir, ask=not args.yes):
            print("not cleaned; nothing processed", file=sys.stderr)
            return EXIT_UNUSABLE
    try:
        inputs = find_inputs(
            first,
            tm_dir=Path(args.tm_dir or settings.soc_processing_dir),
            fits_dir=fits_dir,
            pattern=settings.tm_pattern,
            filter_text=args.filter,
            input_files=args.input_files,
        )
    except (OSError, re.error) as exc:
        print(f"stix-pipeline process: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    pipeline = build_pipeline(settings, pipeline_options(args), progress=_progress_factory(sys.stderr.isatty()))
    try:
        report = pipeline.run(inputs, start_level=first, end_level=last)
        aborted = None
    except PipelineAborted as exc:
        report, aborted = RunReport(files=[exc.report]), str(exc)
    except Exception as exc:
        if not is_infrastructure_fault(exc):
            raise
        print(f"stix-pipeline process: run stopped by an infrastructure fault: {describe(exc)}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    produced = [path for level in LEVEL_NAMES for path in report.written(level)]
    if args.out_file:
        args.out_file.write_text("".join(f"{path}\n" for path in produced))
    if args.json:
        summary = report.to_dict()
        summary["inputs_found"] = len(inputs)
        summary["aborted"] = aborted
        print(json.dumps(summary, indent=2))
    else:
        print(f"{len(inputs)} input file(s)")
        print(_summary_text(report))
        if aborted:
            print(aborted)
    if any(r.status == "unusable" for r in report.files):
        return EXIT_UNUSABLE
    return EXIT_OK if report.ok and not aborted else EXIT_ERRORS
