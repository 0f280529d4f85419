"""Task callables of ``stix_level_processing`` (decorated with ``@task`` in the DAG file).

Each callable reads the run's Params, builds the pipeline from the settings and calls one step of
:mod:`stix_lib.pipeline.tasks`; everything passed between tasks is JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import Param, get_current_context

from stix_ops.assets import FITS_L1

LEVELS = ["TM", "LB", "L0", "L1", "L2", "ALL"]

#: Trigger-form Params, mirroring ``stix-pipeline process``; empty values mean "from the settings".
PARAMS: dict[str, Param] = {
    "start_level": Param("TM", enum=LEVELS, description="Level of the input files (-b/--start_level)."),
    "end_level": Param("L2", enum=LEVELS, description="Last level to produce (-e/--end_level); L2 includes CAL."),
    "input_files": Param(
        [], type="array", items={"type": "string"},
        description="Absolute paths to process (-i/--input_files). Empty: every staged or failed TM file "
        "of the ledger that is not processed yet (catch-up).",
    ),
    "filter": Param("", type="string", description="Glob on input file names (-F/--filter), e.g. *2024.135*."),
    "fits_dir": Param("", type="string", description="Output FITS archive (-f/--fits_dir); empty: the setting."),
    "idb_dir": Param("", type="string", description="IDB root override (--idb_dir)."),
    "spice_dir": Param("", type="string", description="SPICE kernel tree override (-s/--spice_dir)."),
    "spice_file": Param("", type="string", description="Explicit meta kernel (-S/--spice_file)."),
    "soop_dir": Param("", type="string", description="SOOP export folder (-p/--soop_dir)."),
    "stop_on_error": Param(
        False, type="boolean", description="Fail a task at its first problem (--stop_on_error) instead of "
        "reporting and continuing (--continue_on_error)."
    ),
}  # fmt: skip


def _params() -> dict[str, Any]:
    return dict(get_current_context()["params"])


def _setup() -> tuple[Any, Any, dict[str, Any]]:
    from stix_ops.config import get_settings, pipeline_engine

    settings = get_settings()
    settings.ensure_folders()
    return settings, pipeline_engine(settings), _params()


def _pipeline(settings: Any, params: dict[str, Any]) -> Any:
    from stix_lib.pipeline.tasks import build_pipeline

    return build_pipeline(
        settings,
        fits_dir=params["fits_dir"] or None,
        idb_dir=params["idb_dir"] or None,
        spice_dir=params["spice_dir"] or None,
        spice_file=params["spice_file"] or None,
        soop_dir=params["soop_dir"] or None,
        end_level=params["end_level"],
        stop_on_error=params["stop_on_error"],
    )


def select_inputs() -> list[str]:
    """TM files to process (empty when the run starts above TM: those inputs go to the LB step)."""
    from stix_lib.pipeline.tasks import select_tm_files

    settings, engine, params = _setup()
    if params["start_level"] not in ("TM", "ALL"):
        return []
    from stix_lib.pipeline.orchestrator import sweep_stale_partials

    sweep_stale_partials(Path(params["fits_dir"] or settings.fits_archive_dir))  # leftovers of killed writers
    return select_tm_files(engine, input_files=params["input_files"], name_filter=params["filter"])


def tm_to_lb(tm_file: str) -> dict[str, Any]:
    """TM → LB for one file (the mapped task is labelled with the file name)."""
    from stix_lib.pipeline.tasks import tm_to_lb_step

    context = get_current_context()
    context["tm_file"] = Path(tm_file).name  # map_index_template="{{ tm_file }}": UI label and alert subject
    settings, engine, params = _setup()
    return tm_to_lb_step(_pipeline(settings, params), settings, engine, tm_file)


def group_lb(tm_results: list[dict[str, Any]]) -> list[list[str]]:
    """LB (or given start-level) files per packet type, one list per parallel task."""
    from stix_lib.pipeline.tasks import lb_groups

    params = _params()
    results = list(tm_results or [])
    if params["start_level"] not in ("TM", "ALL"):
        results = [{"lb_files": params["input_files"]}]
    return lb_groups(results)


def lb_to_l1(lb_files: list[str]) -> list[dict[str, Any]]:
    """LB (or L0/L1) → L0 → L1 (→ CAL) for the files of one packet type."""
    from stix_lib.pipeline.orchestrator import Level

    settings, _engine, params = _setup()
    pipeline = _pipeline(settings, params)
    start = "LB" if params["start_level"] in ("TM", "ALL") else params["start_level"]
    if Level.parse(params["end_level"]) <= Level.parse(start):
        return []
    run = pipeline.run([Path(p) for p in lb_files], start_level=start, end_level=params["end_level"])
    return [report.to_dict() for report in run.files]


def record(tm_results: list[dict[str, Any]], group_reports: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Reports, lineage and ledger states; an asset event when L1 files were written."""
    from stix_lib.pipeline.tasks import record_step

    context = get_current_context()
    settings, engine, params = _setup()
    archive = Path(params["fits_dir"] or settings.fits_archive_dir)
    summary = record_step(engine, archive, list(tm_results or []), list(group_reports or []), context["run_id"])
    if summary["written"]["L1"]:
        context["outlet_events"][FITS_L1].extra = {"files": [Path(p).name for p in summary["written"]["L1"]]}
    return summary


def check(summary: dict[str, Any]) -> None:
    """Fail (→ one alert mail) when a TM file failed or was quarantined; the rest is already done."""
    bad = {name: status for name, status in summary["files"].items() if status in ("failed", "unusable")}
    if bad:
        listing = ", ".join(f"{name} ({'quarantined' if s == 'unusable' else s})" for name, s in sorted(bad.items()))
        from airflow.sdk.exceptions import AirflowFailException  # retrying would not change the verdict

        raise AirflowFailException(f"{len(bad)} TM file(s) not processed: {listing}; see processing_reports")
