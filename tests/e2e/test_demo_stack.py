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
    manual = [r for r in summary["dag_runs"] if r["dag_id"] == "stix_tm_ingest" and r["run_id"].startswith("manual")]
    assert [r["state"] for r in manual] == ["success"]
    assert summary["tm_files"] == {"incoming": 1}
    incoming = tmp_path / "demo" / "data" / "SOLSOC" / "from_edds" / "tm" / "incoming" / demo.DEMO_TM_NAME
    assert incoming.read_bytes() == (reference_data / "tm" / "moc_test.PktTmRaw.xml").read_bytes()
    assert "=== STIX pipeline demo summary ===" in capsys.readouterr().out
