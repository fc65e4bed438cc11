"""Behavioural claims about a model, searched with hypothesis.

schema  the rows the data suite accepts, and hypothesis strategies for them
spec    the expectations a user declares in `<dataset>.behaviour.toml`
checks  one function per claim: what it measured, or a BehaviourViolation
declared  the spec's expectations: holdout perturbations, scored together
violation  BehaviourViolation, what a broken claim raises
search  several claims on one stream of draws; the champion's replay
"""
