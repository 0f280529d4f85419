"""Registers the STIX timetables with Airflow (custom timetables must come from a plugin to be serialized)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from stix_ops.timetables import NextCronTimetable


class StixTimetablesPlugin(AirflowPlugin):
    """``stix_ops.timetables`` for the dag-processor, scheduler and api-server."""

    name = "stix_timetables"
    timetables = [NextCronTimetable]
