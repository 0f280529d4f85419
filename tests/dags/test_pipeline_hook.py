"""``StixPipelineHook``: the one place where a STIX task gets its settings and the pipeline database."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "stix_ops"


def test_hook_gives_settings_and_one_migrated_engine(settings):
    from stix_lib.db import current_version
    from stix_lib.db.migrations import MIGRATIONS
    from stix_ops.hooks.pipeline import StixPipelineHook

    hook = StixPipelineHook(settings)
    assert hook.settings is settings
    assert hook.db_url == settings.pipeline_db_url  # no stix_pipeline_db connection: the setting
    assert hook.get_conn() is hook.engine  # one engine per hook
    assert current_version(hook.engine) == MIGRATIONS[-1].version


def test_hook_loads_settings_when_first_asked(settings, monkeypatch: pytest.MonkeyPatch):
    import stix_ops.config
    from stix_ops.hooks.pipeline import StixPipelineHook

    calls = []
    monkeypatch.setattr(stix_ops.config, "get_settings", lambda: calls.append(1) or settings)
    hook = StixPipelineHook()
    assert calls == []  # nothing at construction (operators build it; DAG parsing must not read settings)
    assert hook.settings is settings and hook.pipeline_db_conn_id == settings.pipeline_db_conn_id
    assert calls == [1]


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for pattern in ("operators/*.py", "sensors/*.py", "processing.py")
        for p in PLUGIN.glob(pattern)
        if p.name != "publish.py"  # the publish operator is thinned separately (issue 18 item 1)
    ),
    ids=lambda p: p.relative_to(PLUGIN).as_posix(),
)
def test_tasks_get_settings_and_engine_only_through_the_hook(path: Path):
    """No task module loads settings or opens the pipeline database itself."""
    banned = {"get_settings", "pipeline_engine", "load_settings", "connect"}
    found = [
        f"{path.name}:{node.lineno}: {alias.name}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name in banned
    ]
    assert found == []
