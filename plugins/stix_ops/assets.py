"""Assets that chain the STIX DAGs (producers declare outlets, consumers schedule on them)."""

from __future__ import annotations

from airflow.sdk import Asset

TM_INCOMING = Asset(name="stix_tm_incoming", uri="stix://tm/incoming")
