"""The steps of the level-processing DAG, free of Airflow: select, TM → LB, LB → L1/L2, record.

The DAG maps :func:`tm_to_lb_step` over the selected TM files (one task per file), groups the LB
files they touched by packet type (:func:`lb_groups`), maps :func:`lb_group_step` over the groups
(independent types run in parallel; writers of the same product file are serialized by the
product writer's folder lock), and finishes with :func:`record_step`, which writes the per-file
reports, the product lineage and the ledger states. All values passed between steps are plain
JSON (XCom).
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from stix_lib.db import ledger
from stix_lib.db.schema import TMState, processing_reports
from stix_lib.pipeline import incomplete
from stix_lib.pipeline.orchestrator import Level, Pipeline
from stix_lib.pipeline.report import LEVEL_NAMES, FileReport
from stix_lib.pipeline.stream import input_group
from stix_lib.quarantine import quarantine_file
from stix_lib.settings import Settings

log = logging.getLogger(__name__)

#: Most TM files one run takes on (the rest waits for the next run; Airflow maps at most 1024).
MAX_FILES_PER_RUN = 500


def select_tm_files(
    engine: Engine,
    *,
    input_files: Sequence[str] = (),
    name_filter: str = "",
    limit: int = MAX_FILES_PER_RUN,
    include_waiting: bool = False,
) -> list[str]:
    """The TM files a run processes.

    Explicit ``input_files`` win; otherwise every ledger file that is ``staged`` or ``failed`` and
    not yet ``processed`` — the catch-up needs no watermark: whatever was released and not
    finished is picked up by the next run. With ``include_waiting`` (a run woken by new SPICE
    kernels, or started by hand) the files ``waiting for kernels`` are taken too. ``name_filter``
    is a glob on the file name.

    Returns
    -------
    list of str
        Paths, oldest ledger entries first, at most ``limit``.
    """
    if input_files:
        paths = [str(p) for p in input_files]
    else:
        states = [TMState.STAGED, TMState.FAILED] + ([TMState.WAITING_KERNELS] if include_waiting else [])
        paths = [row.path for row in ledger.in_state(engine, *states)]
    if name_filter:
        paths = [p for p in paths if fnmatch.fnmatch(Path(p).name, name_filter)]
    return paths[:limit]


def tm_to_lb_step(pipeline: Pipeline, settings: Settings, engine: Engine, tm_file: str) -> dict[str, Any]:
    """TM → LB for one file; an unusable file is quarantined with its reason.

    Returns
    -------
    dict
        ``{"tm_file", "lb_files", "report"}`` (the report as :meth:`FileReport.to_dict`).
    """
    path = Path(tm_file)
    report = FileReport(str(path))
    if not path.is_file():
        report.unusable = f"{path}: file not found"
        lb_files: list[Path] = []
    else:
        lb_files = pipeline.tm_to_lb(path, report)
    if report.unusable is not None and path.is_file():
        moved = quarantine_file(path, Path(settings.quarantine_dir), report.unusable, stage="TM -> LB")
        _set_state(engine, path.name, TMState.QUARANTINED, path=moved, error=report.unusable)
        log.error("quarantined %s: %s", path.name, report.unusable)
    return {"tm_file": str(path), "lb_files": [str(p) for p in lb_files], "report": report.to_dict()}


def lb_groups(results: Iterable[dict[str, Any]]) -> list[list[str]]:
    """The LB files touched by the TM step, one list per packet type (sorted, de-duplicated)."""
    groups: dict[str, set[str]] = {}
    for result in results:
        for lb in result["lb_files"]:
            groups.setdefault(input_group(Path(lb)), set()).add(lb)
    return [sorted(files) for _, files in sorted(groups.items())]


def lb_group_step(pipeline: Pipeline, lb_files: Sequence[str], end_level: str = "L2") -> list[dict[str, Any]]:
    """LB → L0 → L1 (→ L2/CAL) for the LB files of one packet type; one report per LB file."""
    if Level.parse(end_level) < Level.L0:
        return []
    run = pipeline.run([Path(p) for p in lb_files], start_level=Level.LB, end_level=end_level)
    return [report.to_dict() for report in run.files]


def _set_state(engine: Engine, name: str, state: TMState, **kwargs: Any) -> None:
    try:
        ledger.set_state(engine, name, state, **kwargs)
    except KeyError:  # a file given by hand that never went through ingest
        log.info("%s is not in the ledger; state %s not recorded", name, state.value)


def _level_of(path: str, archive: Path) -> str:
    try:
        return Path(path).relative_to(archive).parts[0]
    except ValueError:
        return "?"


def record_step(
    engine: Engine,
    archive: Path,
    tm_results: Sequence[dict[str, Any]],
    group_reports: Sequence[Sequence[dict[str, Any]]],
    run_id: str,
) -> dict[str, Any]:
    """Store per-TM-file reports, lineage and ledger states; return the run summary.

    A TM file's products are the LB files it touched plus everything the LB → L1 step produced
    from those LB files. It becomes ``processed`` when neither step reported a file-level error
    for it (packet errors are reported, not fatal), else ``failed`` (retried by the next run).
    Without errors but with L1 products held back for lack of SPICE kernels it becomes
    ``waiting for kernels`` (status ``waiting``; processed again when kernels arrive). Incomplete
    science requests reported for the run's LB files are tracked (:mod:`stix_lib.pipeline.incomplete`).

    Returns
    -------
    dict
        ``{"files": {tm: status}, "written": {level: [paths]}, "errors": n, "waiting": {tm: reason},
        "unusable": {tm: reason}, "failed": {tm: errors}}``.
    """
    by_lb: dict[str, dict[str, Any]] = {r["source"]: r for reports in group_reports for r in reports}
    summary: dict[str, Any] = {"files": {}, "written": {level: [] for level in LEVEL_NAMES}, "errors": 0}
    summary.update(waiting={}, unusable={}, failed={})
    tm_of = {lb: result["tm_file"] for result in tm_results for lb in result["lb_files"]}
    incomplete.track(engine, {lb: r.get("warnings", []) for lb, r in by_lb.items()}, tm_of)
    now = datetime.now(UTC)
    for result in tm_results:
        tm_path = Path(result["tm_file"])
        report = dict(result["report"])
        produced = {level: list(report.get("produced", {}).get(level, [])) for level in LEVEL_NAMES}
        file_errors = list(report.get("file_errors", []))
        packet_errors = list(report.get("packet_errors", []))
        waiting = list(report.get("waiting", []))
        for lb in result["lb_files"]:
            downstream = by_lb.get(lb, {})
            for level, paths in downstream.get("produced", {}).items():
                produced.setdefault(level, [])
                produced[level] += [p for p in paths if p not in produced[level]]
            file_errors += downstream.get("file_errors", [])
            packet_errors += downstream.get("packet_errors", [])
            waiting += [w for w in downstream.get("waiting", []) if w not in waiting]
        report.update(produced=produced, file_errors=file_errors, packet_errors=packet_errors, waiting=waiting)
        status = "unusable" if report.get("unusable") else ("failed" if file_errors else report.get("status", "ok"))
        if status in ("ok", "partial", "waiting"):
            status = "waiting" if waiting else ("partial" if packet_errors else "ok")
        report["status"] = status
        errors = len(file_errors) + len(packet_errors) + (1 if report.get("unusable") else 0)
        touched = [p for level in LEVEL_NAMES for p in produced.get(level, [])]
        touched += [p for p in result["lb_files"] if p not in touched]
        with engine.begin() as conn:
            conn.execute(
                processing_reports.insert().values(
                    tm_file=tm_path.name, run_id=run_id, status=status, produced=len(touched), errors=errors,
                    report=json.dumps(report), recorded_at=now,
                )
            )  # fmt: skip
        if status != "unusable" and ledger.get(engine, tm_path.name) is not None:
            if touched:
                levels = {p: _level_of(p, archive) for p in touched}
                ledger.record_products(engine, tm_path.name, [Path(p) for p in touched], levels, run_id=run_id)
            if status == "failed":
                _set_state(engine, tm_path.name, TMState.FAILED, error="; ".join(file_errors)[:2000])
            elif status == "waiting":
                _set_state(engine, tm_path.name, TMState.WAITING_KERNELS, error=_waiting_reason(waiting))
            else:
                _set_state(engine, tm_path.name, TMState.PROCESSED)
        summary["files"][tm_path.name] = status
        if status == "waiting":
            summary["waiting"][tm_path.name] = _waiting_reason(waiting)
        if status == "unusable":
            summary["unusable"][tm_path.name] = str(report.get("unusable"))
        if status == "failed":
            summary["failed"][tm_path.name] = "; ".join(file_errors)[:1000]
        summary["errors"] += errors
        for level in LEVEL_NAMES:
            summary["written"][level] += [p for p in produced.get(level, []) if p not in summary["written"][level]]
    return summary


def _waiting_reason(waiting: Sequence[str]) -> str:
    """Ledger text of a file waiting for kernels: the first reason and how many products wait."""
    first = waiting[0].split(": ", 1)[-1] if waiting else "waiting for kernels"
    return f"{first} ({len(waiting)} L1 product(s) held back)"[:2000]


def build_pipeline(
    settings: Settings,
    *,
    fits_dir: str | Path | None = None,
    idb_dir: str | Path | None = None,
    spice_dir: str | Path | None = None,
    spice_file: str | Path | None = None,
    soop_dir: str | Path | None = None,
    end_level: str = "L2",
    stop_on_error: bool = False,
    rid_lut_file: str | Path | None = None,
) -> Pipeline:
    """A :class:`Pipeline` wired like ``stix-pipeline process``: SOOP keywords, RID LUT, CAL L2 hook.

    Overrides left empty come from the settings; SOOP files default to ``from_soc_dir``, the RID
    LUT to ``rid_lut_file`` (missing file: science requests with scaled triggers fail per file).
    """
    from stix_lib.cal import CalEnergyStep
    from stix_lib.soop import SoopManager

    archive = Path(fits_dir or settings.fits_archive_dir)
    soop = SoopManager(Path(soop_dir)) if soop_dir else SoopManager.from_settings(settings)
    pipeline = Pipeline.from_settings(
        settings,
        fits_dir=archive,
        idb_dir=Path(idb_dir) if idb_dir else None,
        spice_dir=Path(spice_dir) if spice_dir else None,
        spice_file=Path(spice_file) if spice_file else None,
        soop=soop,
        stop_on_error=stop_on_error,
        rid_lut_file=Path(rid_lut_file) if rid_lut_file else None,
    )
    if Level.parse(end_level) >= Level.L2:
        pipeline.l2_hook = CalEnergyStep(
            settings.replace(fits_archive_dir=archive), soop=soop, spice_kernels=pipeline.writer.kernels
        )
    return pipeline
