"""Table files in chunks: CSV or Parquet read a chunk at a time, predictions written the same way.

What `mlgate score` reads and writes, with memory bounded by the chunk, not
the file. The kind comes from the suffix. A chunk's numeric columns are
float64 (a gap is NaN, an integer column too, as the server gives them), its
text columns plain objects (NaN for a gap), as `as_model_input` trained on.
Output goes to a temporary file beside the target, renamed into place only
when every chunk is written: a failed run leaves no partial file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

KINDS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# Progress: rows done so far and the share of the input read (None: unknown).
Progress = Callable[[int, float | None], None]


class TableError(ValueError):
    """A table mlgate cannot read or write; the message names the file, the problem and the fix."""


def table_kind(path: Path, role: str) -> str:
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise TableError(
            f"the {role} {path} has suffix '{path.suffix}'; use a .csv or .parquet file (the suffix picks the format)"
        )
    return kind


def column_names(path: Path, kind: str) -> list[str]:
    """The input's column names, read from its header or Parquet schema only."""
    if not path.is_file():
        raise TableError(f"the input {path} does not exist; give the path of a .csv or .parquet file")
    try:
        if kind == "csv":
            return [str(c) for c in pd.read_csv(path, nrows=0).columns]
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(path).schema_arrow.names)
    except (ValueError, OSError) as error:
        raise TableError(f"cannot read the columns of {path}: {error}; is it a {kind} file?") from None


def read_chunks(
    path: Path, kind: str, columns: dict[str, str], chunk_rows: int, progress: Progress
) -> Iterator[pd.DataFrame]:
    """The input's `columns` ({name: "number", "text" or "flag"}), `chunk_rows` rows at a time, in that order."""
    present = set(column_names(path, kind))
    wanted = [c for c in columns if c in present]
    if kind == "csv":
        chunks = _csv_chunks(path, {c: k for c, k in columns.items() if c in present}, chunk_rows)
    else:
        chunks = _parquet_chunks(path, wanted, chunk_rows)
    dtypes = {c: "float64" if k == "number" else object for c, k in columns.items()}
    done = 0
    for chunk, share in chunks:
        for name in columns:
            if name not in present:  # an optional column the input leaves out: all missing
                chunk[name] = float("nan")
        chunk = chunk[list(columns)].astype(dtypes)
        done += len(chunk)
        yield chunk
        progress(done, share)


def _csv_chunks(path, columns: dict[str, str], chunk_rows) -> Iterator[tuple[pd.DataFrame, float | None]]:
    size = max(path.stat().st_size, 1)
    # Text read as text in every chunk: inference per chunk could read a chunk of "1", "2" as numbers.
    # Flags are left to pandas, which reads True/False as the booleans the model was trained on.
    dtypes = {c: "float64" if k == "number" else str for c, k in columns.items() if k != "flag"}
    with path.open("rb") as handle:
        try:
            for chunk in pd.read_csv(handle, usecols=list(columns), dtype=dtypes, chunksize=chunk_rows):
                yield chunk, min(handle.tell() / size, 1.0)
        except ValueError as error:  # a number column holding text
            raise TableError(
                f"{path} holds a value that is not a number in a numeric column ({error}); "
                "fix the cell or leave it empty for a missing value"
            ) from None


def _parquet_chunks(path, wanted, chunk_rows) -> Iterator[tuple[pd.DataFrame, float | None]]:
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path)
    total = max(table.metadata.num_rows, 1)
    done = 0
    for batch in table.iter_batches(batch_size=chunk_rows, columns=wanted):
        done += batch.num_rows
        yield batch.to_pandas(), done / total


class ChunkWriter:
    """Chunks of one frame shape appended to a temporary file; `commit` renames it to `path`."""

    def __init__(self, path: Path, kind: str) -> None:
        if not path.parent.is_dir():
            raise TableError(f"cannot write {path}: the folder {path.parent} does not exist; create it first")
        self.path, self.kind = path, kind
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(handle)
        self.temporary = Path(name)
        self._parquet = None
        self._wrote = False

    def write(self, frame: pd.DataFrame) -> None:
        if self.kind == "csv":
            frame.to_csv(self.temporary, mode="a" if self._wrote else "w", header=not self._wrote, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.temporary, table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        self._wrote = True

    def commit(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        os.replace(self.temporary, self.path)

    def abort(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        self.temporary.unlink(missing_ok=True)
