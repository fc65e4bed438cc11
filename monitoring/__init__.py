"""Monitoring for served mlgate models.

metrics     the metric definitions, on a registry passed in (multiprocess-aware)
middleware  the ASGI middleware that records them and answers /metrics
sidecar     the same metrics in front of any MLflow-protocol endpoint
exporter    `python -m monitoring.exporter --upstream URL`, the sidecar's entry point
"""
