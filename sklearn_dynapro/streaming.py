"""Predict for millions of sequences in bounded memory: chunk by chunk, in input order.

A pipeline's ``predict`` encodes all of ``X`` before its model sees any of it, so memory grows
with the number of sequences (tokens, biophysical features, one-hot columns, the network's
batches of activations on top). The functions here cut the input into chunks of
``chunk_size`` rows and predict them one after the other (or ``n_jobs`` at a time), so peak
memory is that of one chunk (``n_jobs`` chunks in flight) plus the output. The input may be an
array-like, a DataFrame or any iterable, a generator included, so it need never be in memory
as a whole either; :func:`predict_file` streams a CSV, TSV or FASTA file and writes the
predictions to CSV as they come.

Errors and warnings about rows (invalid sequences, unknown library labels, ...) name the row
of the whole input, not the row within its chunk. (Under a joblib backend that runs tasks in
threads, such as ``"threading"``, warnings are issued as they arise and name the row within
the chunk: catching them there would race with the other threads.)
"""

from __future__ import annotations

import gzip
import itertools
import os
import re
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from scipy import sparse
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from ._validation import check_bool, check_int
from .datasets import iter_sequences
from .features._common import check_n_jobs

__all__ = ["iter_predictions", "predict_chunked", "predict_file"]

# The row lists that ``format_rows`` writes: "row [3]", "rows [0, 4]", "rows [0, 1, ..., 9, ...]".
_ROW_LIST = re.compile(r"\b(rows?) \[(\d+(?:, \d+)*)((?:, \.\.\.)?)\]")
# "row [12] (index label [12])": a chunk of a default-indexed frame, once its rows are shifted.
_SAME_LABELS = re.compile(r"\b(rows? \[([^\]]*)\]((?: and \d+ more)?)) \(index labels? \[\2\]\3\)")
_EMPTY = "X must contain at least one sequence, got 0 rows."
_END = object()


# ------------------------------------------------------------------------------ rows
def _shift_rows(text: str, offset: int) -> str:
    """Add ``offset`` to every row number that :func:`format_rows` wrote into ``text``."""
    if not offset:
        return text

    def shift(match: re.Match) -> str:
        rows = ", ".join(str(int(r) + offset) for r in match.group(2).split(", "))
        return f"{match.group(1)} [{rows}{match.group(3)}]"

    # A chunk's index labels are shown beside its positions; where they are the whole
    # input's positions too, once is enough.
    return _SAME_LABELS.sub(r"\1", _ROW_LIST.sub(shift, text))


def _rows_error(exc: Exception, offset: int, source: str | None) -> Exception | None:
    """The same error with row numbers of the whole input, or None if nothing changes."""
    text = _shift_rows(str(exc), offset)
    if source is not None:
        note = " (Rows count the records of the file from 0.)" if _ROW_LIST.search(text) else ""
        text = f"{source}: {text}{note}"
    if text == str(exc):
        return None
    try:
        return type(exc)(text)
    except TypeError:  # an exception class whose constructor takes other arguments
        return (ValueError if isinstance(exc, ValueError) else TypeError)(text)


def _n_rows(obj) -> int:
    return obj.shape[0] if hasattr(obj, "shape") else len(obj)


def _call(estimator, method: str, chunk, start: int, source: str | None):
    try:
        return getattr(estimator, method)(chunk)
    except (ValueError, TypeError) as exc:
        shifted = _rows_error(exc, start, source)
        if shifted is None:
            raise
        raise shifted from exc


def _predict_chunk(estimator, chunk, start: int, method: str, source: str | None, catch: bool):
    """Call ``estimator.<method>`` on one chunk; rows in errors count from the start of X.

    Returns the output and, when ``catch``, the warnings it raised, as ``(text, category,
    filename, lineno)`` with rows of the whole input, for the caller to issue: a worker
    process's warnings would otherwise go to its own stderr. Catching swaps the warnings
    module's global state, so it is done only by the calling thread or in a worker
    process's main thread, never in a thread that runs beside others.
    """
    caught: list = []
    if catch or threading.current_thread() is threading.main_thread():
        # Recorded as the active filters let them through.
        with warnings.catch_warnings(record=True) as caught:
            out = _call(estimator, method, chunk, start, source)
    else:
        out = _call(estimator, method, chunk, start, source)
    if _n_rows(out) != _n_rows(chunk):
        raise ValueError(
            f"{type(estimator).__name__}.{method} must return one row per input row, got "
            f"{_n_rows(out)} rows for a chunk of {_n_rows(chunk)} starting at row {start}."
        )
    if isinstance(out, pd.DataFrame | pd.Series) and not isinstance(
        chunk, pd.DataFrame | pd.Series
    ):
        out.index = pd.RangeIndex(start, start + _n_rows(out))
    found = [(_shift_rows(str(w.message), start), w.category, w.filename, w.lineno) for w in caught]
    return out, found


def _reissue(found: list, registry: dict) -> None:
    """Issue a chunk's recorded warnings at their original location, each text once."""
    for text, category, filename, lineno in found:
        warnings.warn_explicit(text, category, filename, lineno, registry=registry)


# ---------------------------------------------------------------------------- chunks
def _is_sized(X) -> bool:
    if isinstance(X, pd.DataFrame | pd.Series | np.ndarray):
        return True
    return isinstance(X, Sequence) and not isinstance(X, str | bytes)


def _sized_chunks(X, chunk_size: int) -> Iterator[tuple[int, object]]:
    take = X.iloc if isinstance(X, pd.DataFrame | pd.Series) else X
    for start in range(0, _n_rows(X), chunk_size):
        yield start, take[start : start + chunk_size]


def _stream_chunks(iterable: Iterable, chunk_size: int) -> Iterator[tuple[int, object]]:
    """Chunks of an iterable of sequences, or of an iterable of DataFrames (split if larger)."""
    iterator = iter(iterable)
    first = next(iterator, _END)
    if first is _END:
        raise ValueError(_EMPTY)
    items = itertools.chain([first], iterator)
    start = 0
    if not isinstance(first, pd.DataFrame):
        while block := list(itertools.islice(items, chunk_size)):
            yield start, block
            start += len(block)
        return
    for k, frame in enumerate(items):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                "X must yield DataFrames only, as its first item is one, got "
                f"{type(frame).__name__} for item {k}."
            )
        for offset in range(0, len(frame), chunk_size):
            piece = frame.iloc[offset : offset + chunk_size]
            yield start, piece
            start += len(piece)
    if start == 0:
        raise ValueError(_EMPTY)


def _check_args(estimator, chunk_size, n_jobs, progress, method) -> int:
    if not isinstance(method, str) or not callable(getattr(estimator, method, None)):
        raise TypeError(f"estimator must have a {method!r} method, got {type(estimator).__name__}.")
    check_is_fitted(estimator)
    check_n_jobs(n_jobs)
    check_bool("progress", progress)
    return check_int("chunk_size", chunk_size, minimum=1)


def _chunks_of(X, chunk_size: int) -> tuple[Iterator[tuple[int, object]], int | None]:
    """(start, chunk) pairs of ``X`` and its length when known, checked before any work."""
    if isinstance(X, str | bytes):
        raise TypeError(
            "X must be an array-like or an iterable of sequences, got a single "
            f"{type(X).__name__} {X[:20]!r}; pass a list such as [seq]."
        )
    if _is_sized(X):
        n = _n_rows(X)
        if n == 0:
            raise ValueError(_EMPTY)
        if isinstance(X, Sequence) and isinstance(X[0], pd.DataFrame):
            # A list of DataFrame chunks: rows are theirs, not the list's items.
            return _stream_chunks(X, chunk_size), None
        return _sized_chunks(X, chunk_size), n
    if not isinstance(X, Iterable):
        raise TypeError(
            f"X must be an array-like, a DataFrame or an iterable of sequences, got "
            f"{type(X).__name__}."
        )
    return _stream_chunks(X, chunk_size), None


def _run(
    estimator,
    chunks: Iterator[tuple[int, object]],
    *,
    method: str,
    n_jobs: int | None,
    progress: bool,
    total: int | None,
    source: str | None = None,
) -> Iterator[tuple[int, object, object]]:
    """Yield ``(start, chunk, output)`` in input order, ``n_jobs`` chunks at a time."""
    registry: dict = {}
    bar = tqdm(total=total, desc="Predicting", unit="seq", disable=not progress)
    with bar:
        n_workers = effective_n_jobs(n_jobs)
        if n_workers == 1:
            for start, chunk in chunks:
                out, found = _predict_chunk(estimator, chunk, start, method, source, True)
                _reissue(found, registry)
                bar.update(_n_rows(out))
                yield start, chunk, out
            return
        # Blocks of 2 chunks per worker bound what is in flight; reusing one Parallel keeps
        # the workers across blocks. Every backend (loky, dask, ray) returns in task order.
        with Parallel(n_jobs=n_jobs) as parallel:
            while block := list(itertools.islice(chunks, 2 * n_workers)):
                outputs = parallel(
                    delayed(_predict_chunk)(estimator, chunk, start, method, source, False)
                    for start, chunk in block
                )
                for (start, chunk), (out, found) in zip(block, outputs, strict=True):
                    _reissue(found, registry)
                    bar.update(_n_rows(out))
                    yield start, chunk, out


def _stack(outputs: Iterator, total: int | None):
    """Stack chunk outputs as they come, so peak memory is the output plus one chunk.

    ``np.concatenate`` over a list of chunks holds the output twice. Dense arrays are
    instead copied into one array, allocated for ``total`` rows when the input's length is
    known, or grown by doubling with ``ndarray.resize`` (``realloc``; pages not yet written
    take no memory) when it is streamed. Sparse and pandas outputs are concatenated.
    """
    first = next(outputs)
    if sparse.issparse(first):
        return sparse.vstack([first, *outputs], format=first.format)
    if isinstance(first, pd.DataFrame | pd.Series):
        return pd.concat([first, *outputs])
    first = np.asarray(first)
    tail = first.shape[1:]
    capacity = total if total is not None else max(2 * len(first), 1)
    out = np.empty((capacity, *tail), dtype=first.dtype)
    filled = 0
    for part in itertools.chain([first], outputs):
        part = np.asarray(part)
        if part.shape[1:] != tail:
            raise ValueError(
                f"Every chunk's output must have the first chunk's shape past its rows, "
                f"{tail}, got {part.shape[1:]} for the chunk starting at row {filled}."
            )
        dtype = np.result_type(out.dtype, part.dtype)
        if dtype != out.dtype:  # as np.concatenate would promote
            out = out.astype(dtype)
        end = filled + len(part)
        if end > capacity:
            capacity = max(2 * capacity, end)
            out.resize((capacity, *tail), refcheck=False)
        out[filled:end] = part
        filled = end
    if filled != capacity:
        out.resize((filled, *tail), refcheck=False)
    return out


def _outputs(estimator, X, chunk_size, n_jobs, progress, method) -> tuple[Iterator, int | None]:
    """Each chunk's output in input order, and the number of rows when ``X``'s is known."""
    chunk_size = _check_args(estimator, chunk_size, n_jobs, progress, method)
    chunks, total = _chunks_of(X, chunk_size)
    run = _run(estimator, chunks, method=method, n_jobs=n_jobs, progress=progress, total=total)
    return (out for _, _, out in run), total


# ------------------------------------------------------------------------- public API
def iter_predictions(
    estimator,
    X,
    *,
    chunk_size: int = 10_000,
    n_jobs: int | None = None,
    progress: bool = False,
    method: str = "predict",
) -> Iterator[np.ndarray]:
    """Predict chunk by chunk, yielding each chunk's predictions in input order.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        Anything with a ``method`` that maps rows to rows, e.g. a pipeline from
        :func:`~sklearn_dynapro.make_dynapro_pipeline` or a baseline.
    X : array-like of shape (n_samples,), DataFrame or iterable
        Sequences (list, ndarray, Series), a DataFrame with the columns the estimator reads
        (sequence, library), or an iterable of either single sequences or DataFrame chunks
        (such as ``pd.read_csv(..., chunksize=...)``); generators are consumed lazily.
    chunk_size : int, default=10_000
        Rows predicted at a time. DataFrame chunks of an iterable are split when larger.
    n_jobs : int or None, default=None
        Chunks predicted at once by joblib workers (joblib convention: ``None`` means 1
        unless inside a :func:`joblib.parallel_config` context, ``-1`` all CPUs). Each task
        carries a copy of the estimator, so it pays off when a chunk's work (RNA folding)
        outweighs sending the model; the active joblib backend (loky, dask, ray) is used.
    progress : bool, default=False
        Show a progress bar over the rows.
    method : str, default="predict"
        Method of ``estimator`` to call, as in :func:`~sklearn.model_selection.cross_val_predict`
        (``"transform"`` computes features chunk by chunk).

    Yields
    ------
    y_chunk : ndarray of shape (n_chunk,) or (n_chunk, n_outputs)
        The output for the next ``chunk_size`` rows (fewer for the last chunk), in input
        order; whatever ``method`` returns (a sparse matrix or DataFrame for some
        transformers).

    Raises
    ------
    TypeError
        If ``estimator`` lacks ``method`` or ``X`` is a bare string or not iterable.
    ValueError
        If ``X`` is empty (raised on the first ``next`` for an iterable), or a row is invalid:
        the message names the row of the whole input.
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.

    Examples
    --------
    >>> from sklearn_dynapro.streaming import iter_predictions
    >>> for y_chunk in iter_predictions(pipe, read_sequences(), chunk_size=50_000):
    ...     store(y_chunk)  # doctest: +SKIP
    """
    return _outputs(estimator, X, chunk_size, n_jobs, progress, method)[0]


def predict_chunked(
    estimator,
    X,
    *,
    chunk_size: int = 10_000,
    n_jobs: int | None = None,
    progress: bool = False,
    method: str = "predict",
) -> np.ndarray:
    """Predict in chunks of ``chunk_size`` rows, so memory does not grow with ``len(X)``.

    Peak memory is that of predicting one chunk (``n_jobs`` chunks when parallel), plus
    the output (``n_samples`` floats) and whatever ``X`` itself holds; pass a generator
    to keep the input out of memory too. Results are in input order and equal what
    ``estimator.predict`` gives chunk by chunk: models whose arithmetic does not depend on
    the batch (trees, the feature transformers) give exactly ``estimator.predict(X)``;
    networks and linear models agree with it to float rounding (BLAS sums in an order that
    depends on the number of rows).

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        Anything with a ``method`` that maps rows to rows.
    X : array-like of shape (n_samples,), DataFrame or iterable
        See :func:`iter_predictions`.
    chunk_size : int, default=10_000
        Rows predicted at a time.
    n_jobs : int or None, default=None
        Chunks predicted at once by joblib workers; see :func:`iter_predictions`.
    progress : bool, default=False
        Show a progress bar over the rows.
    method : str, default="predict"
        Method of ``estimator`` to call (``"transform"`` for features).

    Returns
    -------
    y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        One row per input row, in input order (a sparse matrix or DataFrame when
        ``method`` returns those).

    Raises
    ------
    TypeError, ValueError, sklearn.exceptions.NotFittedError
        As :func:`iter_predictions`; errors about rows name the row of the whole input.

    Examples
    --------
    >>> from sklearn_dynapro import predict_chunked
    >>> y_pred = predict_chunked(pipe, sequences, chunk_size=10_000)  # doctest: +SKIP
    """
    return _stack(*_outputs(estimator, X, chunk_size, n_jobs, progress, method))


# ----------------------------------------------------------------------------- files
def _prediction_table(ids, y_pred) -> pd.DataFrame:
    table = pd.DataFrame({"id": np.asarray(ids)})
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 1:
        table["prediction"] = y_pred
    else:
        for j in range(y_pred.shape[1]):
            table[f"prediction_{j}"] = y_pred[:, j]
    return table


def _writable(out) -> Path:
    path = Path(os.fspath(out)).expanduser()
    if path.is_dir():
        raise ValueError(f"out must be a file name, got the folder {str(path)!r}.")
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"The folder of out must exist, got {str(path.parent)!r} for {str(path)!r}."
        )
    return path


def predict_file(
    estimator,
    path: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    chunk_size: int = 10_000,
    sequence_column: str | None = None,
    id_column: str | None = None,
    format: str | None = None,
    n_jobs: int | None = None,
    progress: bool = False,
):
    """Predict every record of a CSV, TSV or FASTA file, reading and writing in chunks.

    The file is read ``chunk_size`` records at a time by
    :func:`~sklearn_dynapro.datasets.iter_sequences`, each chunk is given to the estimator
    as the DataFrame :func:`~sklearn_dynapro.datasets.load_sequences` would return for it
    (``id``, ``sequence``, then the file's other columns, e.g. a library column), and its
    predictions are appended to ``out``. Memory stays that of one chunk however long the
    file is.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A model that predicts from such a DataFrame, e.g. one written by ``dynapro fit``.
    path : str or path-like
        The input file; gzip-compressed files are recognised by their content.
    out : str, path-like or None, default=None
        CSV file to write (gzip-compressed if its name ends in ``.gz``); its folder must
        exist. It is written under a temporary name and renamed when complete, so a failed
        run leaves no partial file. ``None`` returns the table instead.
    chunk_size : int, default=10_000
        Records read and predicted at a time.
    sequence_column, id_column : str or None, default=None
        Columns of a CSV/TSV file, as in :func:`~sklearn_dynapro.datasets.load_sequences`
        (``None`` picks a column named like ``sequence`` / ``id``; without an id column the
        0-based record number is the id). Must be None for FASTA.
    format : {"csv", "tsv", "fasta"} or None, default=None
        File format; ``None`` infers it from the suffix (ignoring ``.gz``).
    n_jobs : int or None, default=None
        Chunks predicted at once; see :func:`iter_predictions`.
    progress : bool, default=False
        Show a progress bar over the records.

    Returns
    -------
    predictions : DataFrame of shape (n_records, 1 + n_outputs) or pathlib.Path
        Columns ``id`` and ``prediction`` (``prediction_0``, ``prediction_1``, ... for
        several outputs), in file order, when ``out`` is None; otherwise the path of the
        CSV written with those columns.

    Raises
    ------
    FileNotFoundError
        If ``path`` or the folder of ``out`` does not exist.
    ValueError
        If the format cannot be inferred, a column is missing, the file holds no records, or
        a record is invalid: the message names the file and the record, counted from 0 over
        the whole file.

    Examples
    --------
    >>> from sklearn_dynapro.streaming import predict_file
    >>> predict_file(pipe, "library.fasta.gz", out="predictions.csv.gz")  # doctest: +SKIP
    """
    chunk_size = _check_args(estimator, chunk_size, n_jobs, progress, "predict")
    frames = iter_sequences(
        path,
        chunk_size=chunk_size,
        sequence_column=sequence_column,
        id_column=id_column,
        format=format,
    )
    source = Path(os.fspath(path)).expanduser()
    target = None if out is None else _writable(out)

    chunks = _stream_chunks(frames, chunk_size)
    results = _run(
        estimator,
        chunks,
        method="predict",
        n_jobs=n_jobs,
        progress=progress,
        total=None,
        source=str(source),
    )
    tables = (_prediction_table(chunk["id"], y) for _, chunk, y in results)
    try:
        if target is None:
            return pd.concat(list(tables), ignore_index=True)
        partial = target.with_name(target.name + ".part")
        opener = gzip.open if target.name.lower().endswith(".gz") else open
        try:
            with opener(partial, "wt", encoding="utf-8", newline="") as handle:
                for k, table in enumerate(tables):
                    table.to_csv(handle, header=k == 0, index=False)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return target
    finally:
        # After an error the traceback keeps the suspended readers, and with them the input
        # file (and the workers) open: close them now.
        for generator in (tables, results, chunks, frames):
            generator.close()
