"""mlgate's shipped model gates, upgraded with `pip install -U mlgate`; add the team's own model gates beside them."""

from mlgate.gates.model import *  # noqa: F403
