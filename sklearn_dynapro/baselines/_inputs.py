"""Checks of the encoded inputs the neural baselines take (one-hot arrays and their dicts)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validation import format_rows
from ..models._base import check_finite_rows

__all__ = ["check_known_libraries", "check_library_codes", "check_onehot", "check_onehot_dict"]

#: Keys of the dict made by :class:`~sklearn_dynapro.baselines.SequenceLibraryEncoder`.
ONEHOT_KEYS = ("onehot", "length", "library")


def check_onehot(X, *, hint: str) -> np.ndarray:
    """Return ``X`` as a float32 one-hot array of shape (n_samples, 4, width).

    Parameters
    ----------
    X : array-like of shape (n_samples, 4, width)
        One-hot sequences as made by :class:`~sklearn_dynapro.preprocessing.SequenceOneHot`.
    hint : str
        What to use instead (the pipeline factory), appended to the error messages.

    Returns
    -------
    onehot : ndarray of shape (n_samples, 4, width), float32
    """
    if isinstance(X, Mapping) or isinstance(X, str | bytes):
        raise TypeError(
            f"X must be a one-hot array of shape (n_samples, 4, width), got "
            f"{type(X).__name__}; {hint}"
        )
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"X must be a numeric one-hot array of shape (n_samples, 4, width), got dtype "
            f"{arr.dtype}; {hint}"
        )
    if arr.ndim != 3 or arr.shape[1] != 4:
        raise ValueError(
            f"X must be a one-hot array of shape (n_samples, 4, width), got shape {arr.shape}; "
            f"{hint}"
        )
    arr = arr.astype(np.float32, copy=False)
    check_finite_rows("X", arr)
    return arr


def check_library_codes(library, n_samples: int) -> np.ndarray:
    """Return library indices as int64 of shape (n_samples,), naming rows that are negative."""
    arr = np.asarray(library)
    if arr.ndim != 1 or arr.shape[0] != n_samples or arr.dtype.kind not in "iu":
        raise ValueError(
            f"library must be an integer array of shape ({n_samples},), got dtype {arr.dtype} "
            f"and shape {arr.shape}."
        )
    bad = arr < 0
    if bad.any():
        raise ValueError(
            f"library must hold indices >= 0, got negative values at "
            f"{format_rows(np.flatnonzero(bad))}."
        )
    return arr.astype(np.int64, copy=False)


def check_onehot_dict(X, *, hint: str) -> dict[str, np.ndarray]:
    """Check the ``{"onehot", "length"[, "library"]}`` dict of variable-length models.

    Parameters
    ----------
    X : dict
        ``"onehot"``: array of shape (n_samples, 4, width); ``"length"``: integer array of
        shape (n_samples,) with the real bases of each row, in ``[1, width]``; optional
        ``"library"``: integer array of shape (n_samples,) of library indices.
    hint : str
        What to use instead (the pipeline factory), appended to the error messages.

    Returns
    -------
    inputs : dict
        ``"onehot"`` float32, ``"length"`` int64 and, when given, ``"library"`` int64.
    """
    if not isinstance(X, Mapping):
        raise TypeError(
            "X must be a dict with keys 'onehot', 'length' and optionally 'library', got "
            f"{type(X).__name__}; {hint}"
        )
    unknown = sorted(set(X) - set(ONEHOT_KEYS))
    if unknown or "onehot" not in X or "length" not in X:
        raise ValueError(
            "X must be a dict with keys 'onehot', 'length' and optionally 'library', got keys "
            f"{sorted(X)}; {hint}"
        )
    onehot = check_onehot(X["onehot"], hint=hint)
    n, width = onehot.shape[0], onehot.shape[2]
    length = np.asarray(X["length"])
    if length.ndim != 1 or length.shape[0] != n or length.dtype.kind not in "iu":
        raise ValueError(
            f"length must be an integer array of shape ({n},), got dtype {length.dtype} and "
            f"shape {length.shape}."
        )
    bad = (length < 1) | (length > width)
    if bad.any():
        raise ValueError(
            f"length must lie in [1, {width}], got values outside at "
            f"{format_rows(np.flatnonzero(bad))}."
        )
    out = {"onehot": onehot, "length": length.astype(np.int64, copy=False)}
    if X.get("library") is not None:
        out["library"] = check_library_codes(X["library"], n)
    return out


def check_known_libraries(library: np.ndarray, n_libraries: int) -> None:
    """Raise a ValueError naming the rows whose library index was not seen in fit."""
    unknown = library >= n_libraries
    if unknown.any():
        raise ValueError(
            f"library must be one of the {n_libraries} libraries seen in fit (indices "
            f"0..{n_libraries - 1}), got {int(library[unknown][0])} at "
            f"{format_rows(np.flatnonzero(unknown))}."
        )
