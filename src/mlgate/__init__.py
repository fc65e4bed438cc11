"""mlgate: a quality-gated training harness for tabular models, as a library, a pytest plugin and a command.

The library never imports pytest outside `mlgate.plugin` and `mlgate.gates`;
only `mlgate.tracking` imports mlflow.
"""

__version__ = "0.2.0"
