"""Work the session starts early so that it overlaps training.

The dataset is read once, as bytes: the model trains on them and the data
gate judges the very same bytes, whatever happens to the file meanwhile.
The data gate runs in a child process (`mlgate validate --stdin`):
importing great_expectations costs ~2 s of pure-Python work that would hold
the GIL in a thread, and in a child process it runs on the other core. Before
that, the store is asked for a verdict a past session recorded for the same
bytes, suite and judges (mlgate.data_verdicts): on a hit no child is started and
great_expectations is never imported. The model's skops trusted types (a full
serialization) are computed on a thread, by a session that may promote: a narrowed
one (`pytest gates/model`) never registers the model.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mlgate.data import DataError, Dataset, load_dataset, read_bytes
from mlgate.settings import Settings


class ValidationProcessError(RuntimeError):
    """The data-gate child process died without a verdict."""


def _validate_in_child(settings: Settings, content: bytes | None):
    from mlgate.expectations import SuiteValidation

    if not settings.suite_path.is_file():
        return None
    with tempfile.TemporaryDirectory(prefix="mlgate-validation-") as folder:
        out = Path(folder) / "validation.json"
        command = [
            sys.executable, "-m", "mlgate", "validate",
            "--dataset", settings.dataset, "--target", settings.target,
            "--suite", str(settings.suite_path), "--out", str(out),
        ]
        if content is not None:
            command.append("--stdin")
        done = subprocess.run(command, input=content or b"", capture_output=True)
        if done.returncode not in (0, 1) or not out.is_file():
            raise ValidationProcessError(
                f"the data gate's validation process failed (exit {done.returncode}): "
                + done.stderr.decode(errors="replace")[-2000:]
            )
        return SuiteValidation.from_json(out.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class DataVerdict:
    validation: object  # SuiteValidation, or None without a suite
    key: str = ""  # mlgate.data_verdicts.verdict_key; empty without a suite
    cached_from: str = ""  # the run whose recorded verdict was reused; empty: validated in this session


def _judge(settings: Settings, content: bytes | None) -> DataVerdict:
    """The recorded verdict for this key if the store has one, else a fresh validation."""
    from mlgate import tracking
    from mlgate.data_verdicts import verdict_key
    from mlgate.expectations import SuiteValidation

    if not settings.suite_path.is_file():
        return DataVerdict(None)
    key = verdict_key(settings, content)
    found = tracking.find_data_verdict(settings, key)
    if found is not None:
        run_id, text = found
        return DataVerdict(SuiteValidation.from_json(text), key, run_id)
    return DataVerdict(_validate_in_child(settings, content), key)


@dataclass
class Background:
    executor: ThreadPoolExecutor
    dataset: Future  # Dataset
    validation: Future  # DataVerdict
    trusted_types: Future | None = None  # list[str], once the model is trained

    @classmethod
    def start(cls, settings: Settings, validate: bool = True) -> "Background":
        """Read the bytes; judge them too when a data gate was collected (`pytest gates/model` needs no verdict)."""
        executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mlgate-background")
        try:
            content = read_bytes(settings.dataset)
        except DataError as error:
            # The file went away after start-up: every gate that reads data errors with this.
            failed: Future = Future()
            failed.set_exception(error)
            return cls(executor, failed, failed)
        if validate:
            validation = executor.submit(_judge, settings, content)
        else:
            validation = Future()
            validation.set_result(DataVerdict(None))
        dataset: Future[Dataset] = executor.submit(load_dataset, settings.dataset, settings.target, content)
        return cls(executor, dataset, validation)

    def compute_trusted_types(self, model, code: tuple[str, ...] = ()) -> None:
        from mlgate.tracking import trusted_types

        self.trusted_types = self.executor.submit(trusted_types, model, code)

    def finish(self) -> list[str] | None:
        """Stop the threads; the trusted types if they were computed (None: compute later)."""
        self.executor.shutdown(wait=True)
        future = self.trusted_types
        if future is None or future.exception() is not None:
            return None
        return future.result()
