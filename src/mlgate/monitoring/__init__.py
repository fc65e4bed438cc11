"""Monitoring for served mlgate models.

metrics     the metric definitions, on a registry passed in (multiprocess-aware)
middleware  the ASGI middleware that records them and answers /metrics
sidecar     the same metrics in front of any MLflow-protocol endpoint
drift       the reference profile of a training table, its bins, and PSI (pure numpy and pandas)
drift_window  scored rows folded into time-decayed bin counts; the drift gauges, computed at scrape
request_rows  the rows of an MLflow scoring request by column name, for the sidecar's drift window
"""
