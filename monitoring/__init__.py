"""Monitoring for served mlgate models: Prometheus metrics, the ASGI middleware and the sidecar proxy.

`monitoring.exporter` defines the metrics and `instrument()`; `monitoring.sidecar`
puts the same metrics in front of any MLflow-protocol endpoint
(`python -m monitoring.exporter --upstream URL`). Nothing is imported here, so
that `python -m monitoring.exporter` runs the module once, as __main__.
"""
