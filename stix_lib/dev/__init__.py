"""Development tools: the telemetry simulator and the synthetic SPICE kernel writer.

Nothing in production (``stix_lib`` outside ``dev``, ``stix_ops`` outside ``dev``, ``dags``) imports
from here; ``tests/unit/test_import_boundaries.py`` enforces it.
"""
