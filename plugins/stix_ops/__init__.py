"""Thin Airflow adapters of the STIX pipeline: hooks, operators, sensors, notifiers, defaults.

Imported as ``stix_ops.*`` (Airflow puts ``plugins/`` on ``sys.path`` in every process). All
processing logic lives in :mod:`stix_lib`; modules here translate Airflow context, connections
and settings into ``stix_lib`` calls. Nothing here does work at import time.
"""
