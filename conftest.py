"""The reference project adds nothing to mlgate's pytest plugin.

The gate session (options `--mlgate-*`, fixtures, the verdict) comes from the
installed mlgate through its `pytest11` entry point; a team's own fixtures and
hooks for its gates would go here.
"""
