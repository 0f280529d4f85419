"""`make demo` end to end: a real api-server, scheduler, dag-processor and triggerer."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def test_demo_runs_pipeline_under_real_scheduler(tmp_path, reference_data, monkeypatch, capsys):
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
    assert summary["tm_files"] == {"staged": 1}
    data = tmp_path / "demo" / "data"
    tm = data / "SOLSOC" / "from_edds" / "tm"
    original = (reference_data / "tm" / "moc_test.PktTmRaw.xml").read_bytes()
    assert (tm / "processing" / demo.DEMO_TM_NAME).read_bytes() == original
    assert not (tm / "incoming" / demo.DEMO_TM_NAME).exists()
    spice = summary["spice"]
    assert len(spice["zips_unzipped"]) == 2 and spice["flown_mk"].endswith("_20191201_001.tm")
    assert (data / "spice" / "mk" / spice["flown_mk"]).is_file()
    assert summary["stix_conf"] == {"version": demo.DEMO_CONF_TAGS[-1], "recorded": [demo.DEMO_CONF_TAGS[-1]]}
    assert (data / "STIX-CONF" / "VERSION.TXT").read_text() == demo.DEMO_CONF_TAGS[-1] + "\n"
    assert "=== STIX pipeline demo summary ===" in capsys.readouterr().out
