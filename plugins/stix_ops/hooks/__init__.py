"""Hooks of the STIX pipeline (connections → ``stix_lib`` endpoints)."""
