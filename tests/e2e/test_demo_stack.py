"""`make demo` end to end: a real api-server, scheduler, dag-processor and triggerer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def test_demo_runs_pipeline_under_real_scheduler(tmp_path, reference_data, monkeypatch, capsys):
    """Simulated day + kernel zips + STIX-CONF repo flow through the DAGs under the real scheduler."""
    from stix_ops import demo

    monkeypatch.setenv("STIX_REFERENCE_DATA", str(reference_data))
    summary_file = tmp_path / "demo-summary.json"
    assert demo.run_demo(root=tmp_path / "demo", summary_file=summary_file) == 0

    summary = json.loads(summary_file.read_text())
    assert set(summary) >= {"dag_runs", "products", "published", "errors"}
    assert summary["errors"] == []
    for dag_id in demo.DEMO_DAGS:
        manual = [r for r in summary["dag_runs"] if r["dag_id"] == dag_id and r["run_id"].startswith("manual")]
        assert [r["state"] for r in manual] == ["success"], dag_id
    assert summary["tm_files"] == {"processed": demo.DEMO_FILES}
    products = summary["products"]
    assert products["LB"] > 0 and products["L0"] > 0 and products["L1"] > 0, products
    l1 = {Path(p).name for p in summary["product_paths"]["L1"]}
    assert "solo_L1_stix-ql-lightcurve_20240514_V02.fits" in l1, sorted(l1)  # published: U renamed to complete
    assert summary["published"] > 0
    data = tmp_path / "demo" / "data"
    tm = data / "SOLSOC" / "from_edds" / "tm"
    exchange = sorted((tmp_path / "demo" / "soc-exchange").glob("*PktTmRaw*.xml"))
    assert len(exchange) == demo.DEMO_FILES
    for delivered in exchange:  # simulated deliveries went through ingest and staging unchanged
        assert (tm / "processing" / delivered.name).read_bytes() == delivered.read_bytes()
        assert not (tm / "incoming" / delivered.name).exists()
    soar = sorted(p.name for p in (data / "out" / "esa").iterdir())
    assert len(soar) == summary["published"] and "solo_L1_stix-ql-lightcurve_20240514_V02.fits" in soar
    spice = summary["spice"]
    flown_date = demo.DEMO_KERNELS[2].replace("-", "")
    assert len(spice["zips_unzipped"]) == 2 and spice["flown_mk"].endswith(f"_{flown_date}_001.tm")
    assert (data / "spice" / "mk" / spice["flown_mk"]).is_file()
    assert summary["stix_conf"] == {"version": demo.DEMO_CONF_TAGS[-1], "recorded": [demo.DEMO_CONF_TAGS[-1]]}
    assert (data / "STIX-CONF" / "VERSION.TXT").read_text() == demo.DEMO_CONF_TAGS[-1] + "\n"
    assert "=== STIX pipeline demo summary ===" in capsys.readouterr().out
