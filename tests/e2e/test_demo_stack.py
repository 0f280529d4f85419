"""`make demo` end to end: a real api-server, scheduler, dag-processor and triggerer (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

L1_LIGHTCURVE = "solo_L1_stix-ql-lightcurve_20240514_V02.fits"


def test_demo_runs_pipeline_under_real_scheduler(demo_run):
    """Simulated day + kernel zips + STIX-CONF repo flow through the DAGs under the real scheduler."""
    from stix_ops.dev import demo

    root, summary = demo_run
    assert set(summary) >= {"dag_runs", "products", "published", "errors"}
    assert summary["errors"] == []
    for dag_id in demo.DEMO_DAGS:
        manual = [r for r in summary["dag_runs"] if r["dag_id"] == dag_id and r["run_id"].startswith("manual")]
        assert [r["state"] for r in manual] == ["success"], dag_id
    assert summary["tm_files"] == {"processed": demo.DEMO_FILES}
    products = summary["products"]
    assert products["LB"] > 0 and products["L0"] > 0 and products["L1"] > 0, products
    l1 = {Path(p).name for p in summary["product_paths"]["L1"]}
    assert L1_LIGHTCURVE in l1, sorted(l1)  # published: U renamed to complete
    assert summary["published"] > 0
    data = root / "data"
    tm = data / "SOLSOC" / "from_edds" / "tm"
    exchange = sorted((root / "soc-exchange").glob("*PktTmRaw*.xml"))
    assert len(exchange) == demo.DEMO_FILES
    for delivered in exchange:  # simulated deliveries went through ingest and staging unchanged
        assert (tm / "processing" / delivered.name).read_bytes() == delivered.read_bytes()
        assert not (tm / "incoming" / delivered.name).exists()
    soar = sorted(p.name for p in (data / "out" / "esa").iterdir())
    assert len(soar) == summary["published"] and L1_LIGHTCURVE in soar
    spice = summary["spice"]
    flown_date = demo.DEMO_KERNELS[2].replace("-", "")
    assert len(spice["zips_unzipped"]) == 2 and spice["flown_mk"].endswith(f"_{flown_date}_001.tm")
    assert (data / "spice" / "mk" / spice["flown_mk"]).is_file()
    assert summary["stix_conf"] == {"version": demo.DEMO_CONF_TAGS[-1], "recorded": [demo.DEMO_CONF_TAGS[-1]]}
    assert (data / "STIX-CONF" / "VERSION.TXT").read_text() == demo.DEMO_CONF_TAGS[-1] + "\n"


def test_demo_daily_products_plot_the_simulated_day(demo_run):
    """stix_daily_products ran in the chain: the LL03 plot of the demo day (complete, > 30 days old)."""
    root, summary = demo_run
    plots = sorted(Path(p).name for p in summary["product_paths"].get("LL03", []))
    stem = "solo_LL03_stix-ql-lightcurve_20240514T000000-20240514T235959_V02C"
    assert plots == [f"{stem}.png", f"{stem}.svg"], plots
    assert summary["products"]["LL03"] == 2


def test_demo_l1_products_validate_against_the_reference(demo_run, reference_data, capsys):
    """`stix-pipeline validate` accepts every L1 product of a type the reference folder holds."""
    from stix_lib.cli.main import main
    from stix_lib.validate import index_references, product_key

    root, summary = demo_run
    referenced = set(index_references(reference_data / "reference" / "l1"))
    l1 = [Path(p) for p in summary["product_paths"]["L1"] if p.endswith(".fits")]
    checked = [p for p in l1 if product_key(p) in referenced]
    assert len(checked) >= 5, (sorted(p.name for p in l1), referenced)
    code = main(["validate", "--reference", str(reference_data / "reference" / "l1"), *map(str, checked)])
    assert code == 0, capsys.readouterr().out
