"""Pipeline monitor: backlog window rule, component health, incidents with one alert and one recovery mail.

Replaces STIXCore's ``pipeline_monitor.py`` (3-hourly cron, 9 samples, mails on every run while
stuck) and the status socket behind ``stix-pipeline-status``. The pieces:

:mod:`~stix_lib.monitor.window`
    the stuck-backlog rule over a series of samples (pure, unit tested on synthetic series);
:mod:`~stix_lib.monitor.health`
    which Airflow components ``/api/v2/monitor/health`` reports as unhealthy;
:mod:`~stix_lib.monitor.incidents`
    the incident state machine in the pipeline database (open, still open, resolved; which mails
    are due);
:mod:`~stix_lib.monitor.samples`
    backlog samples in the pipeline database;
:mod:`~stix_lib.monitor.api`
    a small Airflow REST API v2 client (httpx; token from ``POST /auth/token``);
:mod:`~stix_lib.monitor.check`
    one monitor pass tying them together (called by the ``stix_pipeline_monitor`` DAG);
:mod:`~stix_lib.monitor.mails`
    subject and body of alert and recovery mails.

Nothing here imports Airflow; mails go out through a ``send(subject, html)`` callable that the
caller provides (the DAG passes one that uses the ``smtp_default`` connection).
"""

from stix_lib.monitor.window import Sample, Verdict, WindowResult, evaluate_window

__all__ = ["Sample", "Verdict", "WindowResult", "evaluate_window"]
