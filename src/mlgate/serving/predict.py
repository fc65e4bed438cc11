"""What the server calls to predict a batch of checked columns.

The compiled model (onnxruntime) when the servable carries one, fed the
request's column arrays as they are; otherwise the scikit-learn model, fed a
DataFrame built from them. Both return labels as the scikit-learn model would.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mlgate.serving.payload import Columns

Predict = Callable[[Columns], np.ndarray]


def predictor_for(servable) -> Predict:
    compiled = getattr(servable, "compiled", None)
    if compiled is not None:
        predict_columns = compiled.predict_columns

        def compiled_predict(columns: Columns) -> np.ndarray:
            return predict_columns(columns.as_mapping())

        return compiled_predict
    model = servable.model

    def sklearn_predict(columns: Columns) -> np.ndarray:
        return model.predict(columns.to_frame())

    return sklearn_predict


def engine_of(servable) -> str:
    """What answers predictions for anything with a `compiled` (a servable, a Compilation): "onnxruntime" or
    "scikit-learn"."""
    return "onnxruntime" if getattr(servable, "compiled", None) is not None else "scikit-learn"
