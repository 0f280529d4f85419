"""Incident state machine and sample store over a real SQLite pipeline DB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stix_lib.db import connect
from stix_lib.monitor import incidents, samples
from stix_lib.monitor.incidents import Finding

T0 = datetime(2026, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)
SCHED = Finding("unhealthy:scheduler", "component_unhealthy", "Airflow scheduler unhealthy", {"state": "unhealthy"})
STUCK = Finding("backlog_stuck", "backlog_stuck", "pipeline stuck? backlog 5", {})


@pytest.fixture
def engine(tmp_path):
    return connect(f"sqlite:///{tmp_path / 'pipeline.sqlite'}")


class Mailer:
    """Collects sent subjects; can be told to fail."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.fail = False

    def deliver(self, engine) -> list[str]:
        """Send what is due, like run_check does."""
        out = []
        for incident in incidents.due_alerts(engine):
            if self.fail:
                continue
            out.append(f"ALERT {incident.key}")
            incidents.mark_alert_sent(engine, incident.id, T0)
        for incident in incidents.due_recoveries(engine):
            if self.fail:
                continue
            out.append(f"RECOVERED {incident.key}")
            incidents.mark_recovery_sent(engine, incident.id, T0)
        self.sent += out
        return out


def test_one_alert_while_open_one_recovery_when_cleared(engine):
    mailer = Mailer()
    t = incidents.reconcile(engine, [SCHED], {"component_unhealthy"}, T0)
    assert [i.key for i in t.opened] == ["unhealthy:scheduler"]
    assert mailer.deliver(engine) == ["ALERT unhealthy:scheduler"]
    for n in range(1, 4):  # still unhealthy: no new mail
        t = incidents.reconcile(engine, [SCHED], {"component_unhealthy"}, T0 + n * STEP)
        assert [i.key for i in t.ongoing] == ["unhealthy:scheduler"] and not t.opened
        assert mailer.deliver(engine) == []
    t = incidents.reconcile(engine, [], {"component_unhealthy"}, T0 + 4 * STEP)
    assert [i.key for i in t.resolved] == ["unhealthy:scheduler"]
    assert mailer.deliver(engine) == ["RECOVERED unhealthy:scheduler"]
    assert mailer.deliver(engine) == []
    (row,) = incidents.all_incidents(engine)
    assert row.opened_at == T0 and row.last_seen_at == T0 + 3 * STEP and row.resolved_at == T0 + 4 * STEP
    # the same problem again later is a new incident with its own alert
    incidents.reconcile(engine, [SCHED], {"component_unhealthy"}, T0 + 10 * STEP)
    assert mailer.deliver(engine) == ["ALERT unhealthy:scheduler"]
    assert len(incidents.all_incidents(engine)) == 2


def test_unchecked_kinds_are_left_alone(engine):
    incidents.reconcile(engine, [STUCK, SCHED], {"backlog_stuck", "component_unhealthy"}, T0)
    # API down: only airflow_api checked -> the stuck and scheduler incidents stay open
    t = incidents.reconcile(engine, [], {"airflow_api"}, T0 + STEP)
    assert t.resolved == [] and {i.key for i in incidents.open_incidents(engine)} == {"backlog_stuck", SCHED.key}
    t = incidents.reconcile(engine, [STUCK], {"backlog_stuck", "component_unhealthy"}, T0 + 2 * STEP)
    assert [i.key for i in t.resolved] == [SCHED.key] and [i.key for i in t.ongoing] == ["backlog_stuck"]


def test_failed_mail_is_retried_and_resolved_before_alert_is_silent(engine):
    mailer = Mailer()
    mailer.fail = True
    incidents.reconcile(engine, [SCHED], {"component_unhealthy"}, T0)
    assert mailer.deliver(engine) == []
    mailer.fail = False
    assert mailer.deliver(engine) == ["ALERT unhealthy:scheduler"]  # retried on the next pass

    mailer.fail = True
    incidents.reconcile(engine, [STUCK], {"backlog_stuck"}, T0 + STEP)
    assert mailer.deliver(engine) == []
    incidents.reconcile(engine, [], {"backlog_stuck"}, T0 + 2 * STEP)  # cleared before anyone was told
    mailer.fail = False
    assert mailer.deliver(engine) == []
    stuck = next(i for i in incidents.all_incidents(engine) if i.key == "backlog_stuck")
    assert stuck.alert_sent_at is None and "resolved before its alert" in stuck.notes


def test_samples_window_query_and_retention(engine):
    for n in range(12):
        samples.record_sample(
            engine, T0 + n * timedelta(hours=3), staged=4, active_tasks=1, health={"scheduler": "healthy"}
        )
    latest = samples.latest_sample(engine)
    assert latest.backlog == 5 and latest.staged == 4 and latest.active_tasks == 1
    assert latest.sampled_at == T0 + 11 * timedelta(hours=3)
    window = samples.window_samples(engine, latest.sampled_at, timedelta(days=1))
    assert len(window) == 9 and window[0].at == T0 + 3 * timedelta(hours=3)
    samples.record_sample(engine, T0 + timedelta(days=40), staged=0, active_tasks=0)
    assert samples.window_samples(engine, T0 + timedelta(days=40), timedelta(days=60)) == [
        samples.Sample(T0 + timedelta(days=40), 0)
    ]
