"""mlgate's shipped data gates, upgraded with `pip install -U mlgate`; add the team's own data gates beside them."""

from mlgate.gates.data import *  # noqa: F403
