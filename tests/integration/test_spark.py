"""Beyond one machine: the champion scores through `mlflow.pyfunc.spark_udf` on Spark.

Local mode (one core) stands for a cluster: the same UDF, the same Arrow
batches, the same schema enforcement. The table has string categories with
gaps, numbers with gaps and an integer `year`; Spark gives the UDF its nulls,
and the labels must be pyfunc's on the same rows in pandas.
"""

from __future__ import annotations

import os
import shutil
import sys

import mlflow
import pytest

from tests.support.penguins import TARGET, penguins_frame

pyspark = pytest.importorskip("pyspark", reason="pyspark is in the dev extra: pip install -e '.[dev]'")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java 17: `make java` installs openjdk-17-jre-headless", allow_module_level=True)


@pytest.fixture(scope="module")
def spark():
    """One local SparkSession for the module: its JVM takes seconds to start, so it starts once."""
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers import mlgate and the model from this venv
    session = (
        SparkSession.builder.master("local[1]")
        .appName("mlgate-spark-udf")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def fluent_store(penguins):
    """mlflow's fluent API (which spark_udf downloads the model through) on the champion's store."""
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(penguins.tracking_uri)
    yield
    mlflow.set_tracking_uri(before)


def test_spark_udf_gives_pyfuncs_labels_on_a_table_with_categories_and_gaps(spark, penguins, fluent_store):
    features = penguins_frame(rows=400, seed=3, gap_fraction=0.1).drop(columns=[TARGET])
    assert features.isna().any().sum() == 6 and features["year"].dtype == "int64"
    expected = list(mlflow.pyfunc.load_model(penguins.model_uri).predict(features))

    table = spark.createDataFrame(features.astype(object).where(features.notna(), None))
    udf = mlflow.pyfunc.spark_udf(spark, penguins.model_uri, result_type="string", env_manager="local")
    scored = table.withColumn("prediction", udf(*features.columns)).select("prediction").toPandas()
    assert scored["prediction"].tolist() == expected
    assert len(set(expected)) == 3  # all three species: the labels were not all one answer
