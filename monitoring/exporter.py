"""`python -m monitoring.exporter --upstream URL`: the sidecar proxy, under the name the README and CI use.

The metrics are defined in `monitoring.metrics`, recorded by `monitoring.middleware`,
and put in front of any MLflow-protocol endpoint by `monitoring.sidecar`.
"""

from __future__ import annotations

from monitoring.sidecar import main

if __name__ == "__main__":
    raise SystemExit(main())
