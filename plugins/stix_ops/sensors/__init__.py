"""Sensors of the STIX pipeline."""
