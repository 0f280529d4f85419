"""Pipeline stages that are single modules (one per DAG stage): ingest, staging, syncs, reprocess."""
