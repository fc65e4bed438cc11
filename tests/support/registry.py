"""A registry with a history, made fast: runs and versions written straight through MlflowClient.

Each version gets what a gate session leaves (see model/session/promotion.py):
its run's metrics and tags, the version's gate tags, `mlgate.refused_because`
on refused ones, and `@champion` on the last crowned one. No model is logged;
`history` reads only the registry and the runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities import Metric, RunTag

from mlgate import tracking

REFUSAL = "@champion moved from version {before} to {after} while this session ran; rerun the gates."


@dataclass(frozen=True)
class Made:
    crowned: list[int]
    refused: list[int]
    champion: int


def version_numbers(client: MlflowClient, name: str) -> list[int]:
    return sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))


def make_history(uri: str, name: str, count: int, refused: set[int] = frozenset(), commit: str = "") -> Made:
    """`count` versions of `name`, 1..count; those in `refused` tagged as a refused promotion.

    Scores and latency drift with the version number, so a trend has a
    direction to show: accuracy up from 0.90, p99 up from 2 ms.
    """
    client = MlflowClient(uri, registry_uri=uri)
    experiment = client.create_experiment(f"history-{time.time_ns()}")
    client.create_registered_model(name)
    now_ms = int(time.time() * 1000)
    crowned = []
    for number in range(1, count + 1):
        accuracy = 0.90 + 0.05 * number / count
        run = client.create_run(experiment, run_name=f"gates-{number}")
        run_id = run.info.run_id
        refused_now = number in refused
        client.log_batch(
            run_id,
            metrics=[
                Metric(k, v, now_ms, 0)
                for k, v in {
                    "accuracy": accuracy,
                    "macro_f1": accuracy - 0.01,
                    "roc_auc": 0.98,
                    "recall_0": accuracy - 0.03,
                    "recall_1": accuracy + 0.02,
                    "perf.serving_p50_seconds": 0.001 + 0.0005 * number / count,
                    "perf.serving_p99_seconds": 0.002 + 0.002 * number / count,
                    "perf.serving_overhead_p50_seconds": 0.0004,
                }.items()
            ],
            tags=[
                RunTag(k, v)
                for k, v in {
                    tracking.TAG_DATASET: "sklearn:breast_cancer",
                    tracking.TAG_DATA_FINGERPRINT: f"{number % 3:064x}",
                    tracking.TAG_SERVING_ENGINE: "onnxruntime",
                    tracking.TAG_GATE_STATUS: tracking.STATUS_FAILED if refused_now else tracking.STATUS_PASSED,
                    **({tracking.TAG_GIT_COMMIT: commit} if commit else {}),
                }.items()
            ],
        )
        client.set_terminated(run_id, "FAILED" if refused_now else "FINISHED")
        tags = {tracking.TAG_GATED_AT: str(now_ms / 1000 + number), tracking.metric_tag_key("accuracy"): repr(accuracy)}
        if refused_now:
            tags[tracking.TAG_REFUSED_BECAUSE] = REFUSAL.format(before=number - 1, after=number + 1)
        else:
            crowned.append(number)
        client.create_model_version(name, f"runs:/{run_id}/model", run_id, tags=tags)
    client.set_registered_model_alias(name, tracking.CHAMPION_ALIAS, str(crowned[-1]))
    return Made(crowned, sorted(refused), crowned[-1])
