"""Operators of the STIX pipeline."""
