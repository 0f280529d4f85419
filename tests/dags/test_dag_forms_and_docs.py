"""What an operator sees in the UI: trigger forms submittable as they open, task docs, the asset chain."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.airflow


def _ui_required(schema: dict) -> bool:
    """The trigger form's rule (Airflow 3 UI): a Param with a ``type`` that does not allow ``null`` is required."""
    kind = schema.get("type")
    return bool(kind) and (not isinstance(kind, list) or "null" not in kind)


def _empty(value: object) -> bool:
    """The trigger form's notion of a missing value."""
    return value is None or value == ""


def test_every_trigger_form_is_submittable_as_it_opens(dagbag):
    """No Param the form marks required starts empty: Trigger is enabled without touching a field."""
    problems = []
    for dag in dagbag.dags.values():
        for name in dag.params:
            param = dag.params.get_param(name)
            if _ui_required(param.schema) and _empty(param.value):
                problems.append(f"{dag.dag_id}.{name}: type {param.schema.get('type')!r} with empty default")
    assert dagbag.dags and problems == []


def test_every_form_default_is_valid(dagbag):
    """Submitting a form unchanged passes Param validation (what the API does with the form's values)."""
    problems = []
    for dag in dagbag.dags.values():
        try:
            dag.params.validate()
        except Exception as exc:  # ParamValidationError names the Param
            problems.append(f"{dag.dag_id}: {exc}")
    assert problems == []


def test_every_task_has_docs(dagbag):
    """Every task carries a doc_md (shown in the UI's task details)."""
    missing = [f"{dag.dag_id}.{task.task_id}" for dag in dagbag.dags.values() for task in dag.tasks if not task.doc_md]
    assert dagbag.dags and missing == []


def _assets(condition: object) -> list:
    """The assets in a schedule condition (an asset, or nested ``&``/``|`` of them)."""
    from airflow.sdk import Asset

    if isinstance(condition, Asset):
        return [condition]
    return [a for c in getattr(condition, "objects", ()) for a in _assets(c)]


def _asset_names(condition: object) -> set[str]:
    """Names of the assets in a schedule condition."""
    return {asset.name for asset in _assets(condition)}


def _consumers(dagbag, asset_name: str) -> set[str]:
    return {
        dag.dag_id
        for dag in dagbag.dags.values()
        if asset_name in _asset_names(getattr(dag.timetable, "asset_condition", None))
    }


def test_asset_chain_reaches_daily_products_and_nas(dagbag):
    """L1 products set off the daily products; a publication sets off the NAS mirror."""
    assert "stix_daily_products" in _consumers(dagbag, "stix_fits_l1")
    assert "stix_fits_nas_sync" in _consumers(dagbag, "stix_soar_published")


def test_every_scheduling_asset_has_a_declared_producer(dagbag):
    """The asset graph shows each producer from the start: outlets are declared, not resolved through an alias.

    An alias is linked to its asset only by the first event through it (issue 17: ``stix_soar_publish``
    did not show as the producer of ``stix_soar_published``). Watched assets are produced by the triggerer.
    """
    from airflow.sdk import Asset

    producers: dict[str, set[str]] = {}
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            for outlet in task.outlets:
                if isinstance(outlet, Asset):
                    producers.setdefault(outlet.name, set()).add(f"{dag.dag_id}.{task.task_id}")
    consumed = {
        asset.name: dag.dag_id
        for dag in dagbag.dags.values()
        for asset in _assets(getattr(dag.timetable, "asset_condition", None))
        if not asset.watchers
    }
    assert consumed and {name: dag for name, dag in consumed.items() if name not in producers} == {}
    assert producers["stix_soar_published"] == {"stix_soar_publish.announce_published"}
