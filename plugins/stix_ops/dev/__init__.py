"""Development runners (``python -m stix_ops.dev.demo``, ``localstack``, ``prodstack``) and the
loopback service stands they start. Not imported by any DAG, operator or sensor."""
