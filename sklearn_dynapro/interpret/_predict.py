"""Reading sequence input and predicting it in bounded batches, for any fitted estimator."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from .._validation import check_sequences, naming_input

__all__ = ["check_batch_size", "check_estimator", "predict_batched", "read_sequences"]


def check_estimator(estimator) -> None:
    """Raise a TypeError unless ``estimator`` has a ``predict`` method."""
    if not callable(getattr(estimator, "predict", None)):
        raise TypeError(
            "estimator must be a fitted estimator or pipeline with a predict method that takes "
            f"raw sequences, got {type(estimator).__name__}."
        )


def check_batch_size(batch_size) -> int:
    """Return ``batch_size`` as a positive int, or raise."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batch_size must be a positive int, got {batch_size!r}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    return int(batch_size)


def read_sequences(
    X, *, name: str, sequence_column: str
) -> tuple[np.ndarray, pd.DataFrame | None, np.ndarray]:
    """Validate sequence input and keep what else each row carries.

    Parameters
    ----------
    X : array-like of shape (n_samples,) or DataFrame
        Sequences, or a DataFrame with ``sequence_column`` and any other columns the
        estimator needs (a library label, for instance).
    name : str
        Argument name used in error messages.
    sequence_column : str
        Column of a DataFrame ``X`` holding the sequences.

    Returns
    -------
    sequences : ndarray of shape (n_samples,), dtype object
        Upper-case strings over ``ACGTN``.
    context : DataFrame of shape (n_samples, n_columns) or None
        A DataFrame ``X`` with a fresh RangeIndex (None for other input); predictions are
        made on its rows with the sequence column replaced.
    index : ndarray of shape (n_samples,)
        The index of a pandas input, else ``0 … n_samples - 1``.

    Raises
    ------
    ValueError
        If a sequence is invalid; the message names ``name`` and the rows.
    """
    with naming_input(name):
        sequences = check_sequences(X, sequence_column=sequence_column, ambiguous="mask")
    context = None
    if isinstance(X, pd.DataFrame):
        context = X.reset_index(drop=True)
    index = X.index.to_numpy() if isinstance(X, pd.DataFrame | pd.Series) else None
    if index is None:
        index = np.arange(sequences.shape[0])
    return sequences, context, index


def _select_output(pred, output: int | None, n: int) -> np.ndarray:
    """One column of predictions as float64 of shape (n,)."""
    arr = np.asarray(pred, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1 and output in (None, 0):
        arr = arr[:, 0]
    elif arr.ndim == 2:
        if output is None:
            raise ValueError(
                f"output must be given for an estimator that predicts {arr.shape[1]} outputs: "
                f"pass output= an index in [0, {arr.shape[1]}), got None."
            )
        if not 0 <= output < arr.shape[1]:
            raise ValueError(f"output must lie in [0, {arr.shape[1]}), got {output!r}.")
        arr = arr[:, output]
    elif arr.ndim != 1 or output not in (None, 0):
        raise ValueError(
            f"output must be None or 0 for an estimator with one output, got {output!r}."
        )
    if arr.shape != (n,):
        raise ValueError(f"estimator must predict one value per sequence, got shape {arr.shape}.")
    return arr


def predict_batched(
    estimator,
    sequences: np.ndarray,
    *,
    context: pd.DataFrame | None = None,
    rows: np.ndarray | None = None,
    sequence_column: str = "sequence",
    output: int | None = None,
    batch_size: int = 4096,
    what: str = "sequences",
    first: int = 0,
) -> np.ndarray:
    """Predict ``sequences`` in batches of ``batch_size`` and return one float per sequence.

    Parameters
    ----------
    estimator : estimator
        Fitted; ``predict`` takes raw sequences (or a DataFrame like ``context``).
    sequences : ndarray of shape (n,), dtype object
        Sequences to predict.
    context : DataFrame or None, default=None
        Rows whose other columns go with the sequences; row ``rows[i]`` goes with
        ``sequences[i]``.
    rows : ndarray of shape (n,) or None, default=None
        Context row of each sequence; ``arange(n)`` when None.
    sequence_column : str, default="sequence"
        Column of ``context`` replaced by the sequences.
    output : int or None, default=None
        Column of a multi-output prediction.
    batch_size : int, default=4096
        Sequences per ``predict`` call.
    what : str, default="sequences"
        Name of the sequences in error messages.
    first : int, default=0
        Number of ``sequences[0]`` in error messages, for a caller that passes one slice
        of a longer list at a time.

    Returns
    -------
    predictions : ndarray of shape (n,), float64
    """
    n = sequences.shape[0]
    out = np.empty(n, dtype=np.float64)
    for lo in range(0, n, batch_size):
        hi = min(n, lo + batch_size)
        chunk = sequences[lo:hi]
        if context is None:
            X = chunk
        else:
            picked = np.arange(lo, hi) if rows is None else rows[lo:hi]
            X = context.iloc[picked].reset_index(drop=True)
            X[sequence_column] = chunk
        try:
            pred = estimator.predict(X)
        except ValueError as exc:
            raise ValueError(
                f"estimator could not predict the {what} {first + lo}..{first + hi - 1} (rows "
                f"named below count from {first + lo}): {exc}"
            ) from exc
        out[lo:hi] = _select_output(pred, output, hi - lo)
    return out
