"""Triggers that run in the Airflow triggerer (event-driven scheduling, deferrable waits)."""
