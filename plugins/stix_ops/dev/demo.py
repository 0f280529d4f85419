"""``make demo`` / ``make up``: the pipeline on a local Airflow (SQLite, LocalExecutor).

``python -m stix_ops.dev.demo run``   build demo data, start Airflow, run the pipeline DAGs, wait,
                                  print and write the summary (``build/demo-summary.json``),
                                  stop everything; exit 1 if anything failed.
``python -m stix_ops.dev.demo up``    start the same Airflow over the same data and keep the UI up
                                  until Ctrl-C (prints URL and login).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from stix_ops import preflight
from stix_ops.dev.localstack import REPO, LocalStack, RunFailed, StackConfig

BUILD = REPO / "build"
DEMO_ROOT = BUILD / "demo"
SUMMARY_FILE = BUILD / "demo-summary.json"
#: DAGs the demo drives, in pipeline order; later stages are added as they exist.
#: Each is triggered by hand once the previous one and everything it set off (asset-scheduled runs,
#: e.g. stix_level_processing after staging) has finished, so the chain runs in pipeline order.
DEMO_DAGS = (
    "stix_spice_sync",
    "stix_conf_sync",
    "stix_tm_ingest",
    "stix_tm_staging",
    "stix_level_processing",
    "stix_daily_products",
    "stix_soar_publish",
    "stix_fits_nas_sync",
)
#: Trigger-form values of the demo runs: the daily products look at the whole archive (the demo day
#: lies outside the default window of the last 40 days before today).
DEMO_CONF: dict[str, dict[str, Any]] = {"stix_daily_products": {"days_back": 0}}
#: The simulated day: quiet background, a flare, science requests (``--scenario all``).
DEMO_DAY = "2024-05-14T00:00:00"
DEMO_SCENARIO = "all"
DEMO_SEED = 20240514
#: The day arrives in this many SOC deliveries.
DEMO_FILES = 4
#: Kernel deliveries: predicted orbit/attitude for two months, flown kernels up to this date.
DEMO_KERNELS = ("2024-05-01", "2024-06-30", "2024-05-20")
#: STIX-CONF tags of the demo's upstream repository (oldest first); an untagged commit follows them.
DEMO_CONF_TAGS = ("v0.1.8", "v0.1.9", "v0.1.10")


def demo_env(root: Path, reference: Path) -> dict[str, str]:
    """``STIX_*`` settings of the demo: everything under ``root``, local SOC exchange, no delay."""
    return {
        "STIX_DATA_ROOT": str(root / "data"),
        "STIX_REFERENCE_DATA": str(reference),
        "STIX_IDB_DIR": str(reference / "idb"),
        "STIX_TM_SOURCE": str(root / "soc-exchange"),
        "STIX_TM_SOURCE_LOCAL": "true",
        "STIX_FROM_SOC_SOURCE": str(root / "soc-from_soc"),
        "STIX_FROM_SOC_SOURCE_LOCAL": "true",
        "STIX_CONF_REPO_URL": str(root / "upstream" / "STIX-CONF"),
        "STIX_STAGING_DELAY": "0",
        "STIX_PUBLISH_WAITING_PERIOD": "0",
        # no data-center API offline: refreshing fails at once and the shipped local LUT is used
        "STIX_RID_LUT_UPDATE_URL": "http://127.0.0.1:1/api/bsd/info/",
    }


def build_kernel_zips(target: Path, work: Path) -> list[Path]:
    """SOC-style kernel deliveries covering the demo day, from ``stix_lib.dev.synthetic_kernels``."""
    from stix_lib.dev.synthetic_kernels import build_kernel_set

    start, end, flown_until = DEMO_KERNELS
    manifest = build_kernel_set(work, start, end, flown_until, make_zips=True, zip_dir=target)
    return list(manifest.zips)


def simulate_telemetry(exchange: Path, work: Path, idb_dir: Path) -> list[Path]:
    """Simulate the demo day with ``stix_lib.dev.simulate`` and place its XML files in the SOC exchange."""
    from stix_lib.dev.simulate import SimulationConfig, simulate

    config = SimulationConfig(
        start=DEMO_DAY, duration=86400.0, out_dir=work, idb_dir=idb_dir,
        scenario=DEMO_SCENARIO, seed=DEMO_SEED, files=DEMO_FILES,
    )  # fmt: skip
    result = simulate(config)
    placed = []
    for path in result.files:
        target = exchange / Path(path).name
        shutil.copyfile(path, target)
        placed.append(target)
    return placed


def build_conf_repo(target: Path, snapshot: Path, tags: tuple[str, ...] = DEMO_CONF_TAGS) -> None:
    """A STIX-CONF-like git repository from the snapshot: one commit per tag, then an untagged commit."""
    shutil.copytree(snapshot, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # the shared snapshot is read-only
    identity = {"GIT_AUTHOR_NAME": "STIX demo", "GIT_AUTHOR_EMAIL": "demo@localhost",
                "GIT_COMMITTER_NAME": "STIX demo", "GIT_COMMITTER_EMAIL": "demo@localhost"}  # fmt: skip

    def git(*args: str, day: int = 1) -> None:
        stamp = f"2024-01-{day:02d}T12:00:00+00:00"  # increasing dates: rev-list --tags orders by them
        env = {**os.environ, **identity, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        subprocess.run(["git", *args], cwd=target, env=env, check=True, capture_output=True, timeout=60)

    git("init", "-q", "-b", "main")
    readme = target / "README.md"
    for day, tag in enumerate([*tags, None], start=1):
        if day > 1:
            readme.write_text(readme.read_text() + f"\n{tag or 'unreleased change'}\n")
        git("add", "-A", day=day)
        git("commit", "-q", "-m", f"release {tag}" if tag else "work in progress", day=day)
        if tag:
            git("tag", tag, day=day)


def write_rid_lut(path: Path) -> None:
    """A local request-id table for the demo's science requests (the data-center API is offline)."""
    from stix_lib.atomic import atomic_write_text
    from stix_lib.ridlut.table import COLUMNS

    if not path.exists():
        row = ["1", "0", "2024-05-14T00:00:00", "86400", "xray-cpd", "demo flare", "imaging", "", "", "demo"]
        atomic_write_text(path, ",".join(COLUMNS) + "\n" + ",".join(row) + "\n")


def prepare_data(root: Path, reference: Path) -> list[Path]:
    """Lay out the demo's data folders, SOC exchange (telemetry, kernel zips), STIX-CONF upstream.

    Returns
    -------
    list of Path
        The TM files placed in the exchange.
    """
    from stix_lib.settings import load_settings

    # the installation step of a real deployment: the data folders exist (an absent FITS archive is
    # refused by the NAS sync as "not mounted")
    load_settings(environ=demo_env(root, reference)).ensure_folders()
    exchange = root / "soc-exchange"
    exchange.mkdir(parents=True, exist_ok=True)
    placed = sorted(exchange.glob("*PktTmRaw*.xml")) or simulate_telemetry(
        exchange, root / "simulated", reference / "idb"
    )
    from_soc = root / "soc-from_soc"
    if not any(from_soc.glob("spice/*.zip")):
        build_kernel_zips(from_soc / "spice", root / "kernel-build")
    write_rid_lut(load_settings(environ=demo_env(root, reference)).rid_lut_file)
    upstream = root / "upstream" / "STIX-CONF"
    if not upstream.exists():
        build_conf_repo(upstream, reference / "stix-conf")
    return placed


def run_chain(stack: LocalStack) -> None:
    """Trigger the demo DAGs one after the other, each once everything before it has finished.

    Raises
    ------
    RunFailed
        At the first failed (or retrying) task of a demo run: the DAG, the task and its error.
    """
    stack.wait_for_dags(DEMO_DAGS)
    for dag_id in DEMO_DAGS:
        stack.unpause(dag_id)
        run_id = stack.trigger(dag_id, conf=DEMO_CONF.get(dag_id))
        print(f"triggered {dag_id}: {run_id}", flush=True)
        stack.wait_until_idle({dag_id: run_id}, settle=4.0, fail_fast=True)


def serve_until_interrupted(stack: LocalStack) -> None:
    """Print the UI address and login; keep the started stack up until Ctrl-C or SIGTERM.

    Call :func:`handle_stop_signals` before starting the stack.
    """
    print(f"\nAirflow UI: {stack.config.api_url}   login: admin / {stack.config.admin_password}")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(5)
            stack._check_alive()
    except KeyboardInterrupt:
        print("stopping ...", flush=True)


def summarize(
    stack: LocalStack, settings_env: dict[str, str], secret_values: dict[str, str] | None = None
) -> dict[str, Any]:
    """Collect DAG runs, products and errors into the summary dictionary.

    A log holding one of the stack's secrets or of ``secret_values`` is an error.
    """
    from stix_lib.db import connect, ledger
    from stix_lib.settings import load_settings

    settings = load_settings(environ=settings_env)
    engine = connect(settings.pipeline_db_url)
    runs = [
        {"dag_id": r["dag_id"], "run_id": r["dag_run_id"], "state": r["state"]}
        for r in stack.runs()
        if r["dag_id"].startswith("stix_")
    ]
    products = {level: 0 for level in ("LB", "L0", "L1", "L2", "CAL", "ANC", "LL03")}
    products.update(ledger.products_per_level(engine))
    paths = _product_paths(settings.fits_archive_dir)
    # plots (LL03) are recorded in the processing history, not the product ledger: count their files
    products.update({level: len(found) for level, found in paths.items() if not products.get(level)})
    errors = [f"DAG run {r['dag_id']} {r['run_id']} {r['state']}" for r in runs if r["state"] != "success"]
    errors += [f"task {t['dag_id']}.{t['task_id']} ({t['dag_run_id']}) {t['state']}" for t in stack.failed_tasks()]
    errors += [f"TM file {row.name}: {row.error}" for row in ledger.in_state(engine, *_error_states())]
    errors += [
        f"secret in log {hit}" for hit in stack.logs_containing({**stack.secret_values(), **(secret_values or {})})
    ]
    return {
        "dag_runs": runs,
        "tm_files": ledger.count_by_state(engine),
        "products": products,
        "product_paths": paths,
        "published": _published_count(engine),
        "spice": _spice_summary(settings, engine),
        "stix_conf": _conf_summary(settings, engine),
        "errors": errors,
    }


def _spice_summary(settings: Any, engine: Any) -> dict[str, Any]:
    from stix_lib.stages.spice_sync import meta_kernel_names, unzipped

    return {"zips_unzipped": sorted(unzipped(engine)), **meta_kernel_names(settings.spice_dir)}


def _conf_summary(settings: Any, engine: Any) -> dict[str, Any]:
    from stix_lib.stages.conf_sync import current_conf_version, recorded_versions

    return {"version": current_conf_version(settings.conf_dir), "recorded": [v for v, _ in recorded_versions(engine)]}


def _published_count(engine: Any) -> int:
    from sqlalchemy import func, select

    from stix_lib.db.schema import published

    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(published.c.status == "done")).scalar_one())


def _error_states():
    from stix_lib.db.schema import TMState

    return (TMState.FAILED, TMState.QUARANTINED)


def _product_paths(archive: Path) -> dict[str, list[str]]:
    paths: dict[str, list[str]] = {}
    if archive.is_dir():
        for path in sorted(archive.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                paths.setdefault(path.relative_to(archive).parts[0], []).append(str(path))
    return paths


def print_summary(summary: dict[str, Any], summary_file: Path, elapsed: float) -> None:
    """Human-readable summary on stdout."""
    print("\n=== STIX pipeline demo summary ===")
    print(f"DAG runs ({len(summary['dag_runs'])}):")
    for run in summary["dag_runs"]:
        print(f"  {run['state']:<8} {run['dag_id']:<28} {run['run_id']}")
    print(f"TM files by state: {summary['tm_files']}")
    spice = summary.get("spice") or {}
    print(f"SPICE zips unzipped: {len(spice.get('zips_unzipped', []))}; flown MK {spice.get('flown_mk')}")
    print(f"STIX-CONF version: {(summary.get('stix_conf') or {}).get('version')}")
    print("Products per level:")
    for level, count in summary["products"].items():
        print(f"  {level:<5} {count}")
        for path in summary["product_paths"].get(level, [])[:5]:
            print(f"        {path}")
    print(f"Published to SOAR: {summary['published']}")
    print(f"Errors: {len(summary['errors'])}")
    for error in summary["errors"]:
        print(f"  - {error}")
    print(f"Summary JSON: {summary_file}   ({elapsed:.0f} s)")


def _reference() -> Path:
    return Path(os.environ.get("STIX_REFERENCE_DATA", REPO.parent / "shared" / "stix-data")).resolve()


def run_demo(root: Path = DEMO_ROOT, summary_file: Path = SUMMARY_FILE) -> int:
    """The ``run`` command: a fresh demo under ``root``; returns the exit code."""
    started = time.monotonic()
    reference = _reference()
    if not (reference / "tm").is_dir():
        print(f"reference data not found at {reference}; set STIX_REFERENCE_DATA", file=sys.stderr)
        return 2
    if problem := preflight.preflight(install=False):
        print(f"demo: {problem}", file=sys.stderr)
        return 2
    shutil.rmtree(root, ignore_errors=True)
    prepare_data(root, reference)
    env = demo_env(root, reference)
    stack = LocalStack(StackConfig(home=root / "airflow-home", extra_env=env))
    print(f"Airflow home {stack.config.home}; logs in {stack.log_dir}")
    failure = None
    with stack:
        stack.prepare()
        stack.start()
        stack.wait_healthy()
        try:
            run_chain(stack)
        except RunFailed as exc:
            failure = f"demo FAILED: {exc}"
            print(failure, file=sys.stderr, flush=True)  # first, before any summary
        summary = summarize(stack, env)
    if failure:
        summary["errors"].insert(0, failure)
    summary_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = summary_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2))
    tmp.replace(summary_file)
    print_summary(summary, summary_file, time.monotonic() - started)
    return 1 if summary["errors"] else 0


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def handle_stop_signals() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt, so ``with stack:`` blocks stop what they started.

    Explicit handlers: a process started in the background inherits an ignored SIGINT.
    """
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def run_up() -> int:
    """The ``up`` command: UI over the demo data until interrupted (Ctrl-C or SIGTERM)."""
    handle_stop_signals()
    if problem := preflight.preflight(install=False):
        print(f"up: {problem}", file=sys.stderr)
        return 2
    reference = _reference()
    DEMO_ROOT.mkdir(parents=True, exist_ok=True)
    prepare_data(DEMO_ROOT, reference)
    stack = LocalStack(StackConfig(home=DEMO_ROOT / "airflow-home", extra_env=demo_env(DEMO_ROOT, reference)))
    with stack:
        stack.prepare()
        stack.start()
        stack.wait_healthy()
        serve_until_interrupted(stack)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line of the demo."""
    parser = argparse.ArgumentParser(prog="python -m stix_ops.dev.demo", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "up"])
    args = parser.parse_args(argv)
    return run_demo() if args.command == "run" else run_up()


if __name__ == "__main__":
    sys.exit(main())
