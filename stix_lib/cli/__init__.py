"""The ``stix-pipeline`` command line."""
