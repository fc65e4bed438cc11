"""Reference pages generated from the code: settings, CLI, MLflow tags, metrics and alerts, gates.

`python -m mlgate.reference docs/reference` (or `make reference`) writes them
(mlgate.reference.pages);
tests/unit/test_docs_reference.py fails when a committed page differs from a
fresh rendering, so the docs cannot drift from the code they describe.
Source is read with ast/tokenize where the code keeps its documentation in
comments; nothing here imports pytest or the project.
"""
