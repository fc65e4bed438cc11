"""mlgate's shipped perf gates, upgraded with `pip install -U mlgate`; add the team's own perf gates beside them."""

from mlgate.gates.perf import *  # noqa: F403
