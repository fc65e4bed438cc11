"""mlgate's library: data, training, evaluation, tracking and serving.

Never imports pytest; only `model.tracking` imports mlflow.
"""
