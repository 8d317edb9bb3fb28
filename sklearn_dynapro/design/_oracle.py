"""What both design searches share: the cached oracle, the objective, checks and the result."""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from .._validation import check_int, check_sequences, format_rows, naming_input
from ._constraints import DesignConstraints, count_uaug, gc_content

__all__ = ["CachedOracle", "check_constraints", "check_start_sequences", "design_frame"]


def check_rate(name: str, value) -> float:
    """Return ``value`` as a float in [0, 1]."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}.")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}.")
    return float(value)


def check_constraints(constraints) -> DesignConstraints:
    """Raise TypeError unless ``constraints`` is a :class:`DesignConstraints`."""
    if not isinstance(constraints, DesignConstraints):
        raise TypeError(
            f"constraints must be a DesignConstraints, got {type(constraints).__name__}."
        )
    return constraints


def check_start_sequences(start_sequences, constraints: DesignConstraints) -> np.ndarray:
    """Validate user-given starting designs: real sequences that satisfy the constraints."""
    with naming_input("start_sequences"):
        sequences = check_sequences(start_sequences, ambiguous="error")
    problems = [constraints.violations(s) for s in sequences]
    bad = [i for i, p in enumerate(problems) if p]
    if bad:
        raise ValueError(
            f"start_sequences must satisfy the constraints, got violations at "
            f"{format_rows(bad)} (first: row {bad[0]}: {'; '.join(problems[bad[0]])})."
        )
    return sequences


class CachedOracle:
    """Score sequences with an oracle, predicting each distinct sequence once.

    Parameters
    ----------
    oracle : fitted estimator or callable
        Anything with ``predict`` on a 1-D array of sequences, or a function of that array;
        it must return one number per sequence.
    maximize : bool
        Maximise the prediction (else minimise it). Ignored when ``target`` is set.
    target : float or None
        Minimise ``|prediction - target|`` instead.
    batch_size : int or None
        Most sequences per oracle call; None sends all new sequences at once.
    """

    def __init__(self, oracle, *, maximize: bool, target: float | None, batch_size: int | None):
        if hasattr(oracle, "predict"):
            self._predict = oracle.predict
        elif callable(oracle):
            self._predict = oracle
        else:
            raise TypeError(
                "oracle must be a fitted estimator with predict or a callable on a 1-D array "
                f"of sequences, got {type(oracle).__name__}."
            )
        if not isinstance(maximize, bool | np.bool_):
            raise TypeError(f"maximize must be a bool, got {maximize!r}.")
        if target is not None:
            if isinstance(target, bool | np.bool_) or not isinstance(target, numbers.Real):
                raise TypeError(f"target must be a real number or None, got {target!r}.")
            if not math.isfinite(target):
                raise ValueError(f"target must be finite, got {target!r}.")
            target = float(target)
        self.maximize = bool(maximize)
        self.target = target
        self.batch_size = (
            None if batch_size is None else check_int("batch_size", batch_size, minimum=1)
        )
        self.cache: dict[str, float] = {}

    def _call(self, sequences: list[str]) -> np.ndarray:
        pred = np.asarray(self._predict(np.asarray(sequences, dtype=object)), dtype=np.float64)
        if pred.ndim == 2 and pred.shape[1] == 1:
            pred = pred[:, 0]
        if pred.shape != (len(sequences),):
            raise ValueError(
                f"oracle must return one value per sequence, shape ({len(sequences)},), got "
                f"shape {pred.shape}; wrap a multi-output model in a function that picks one."
            )
        bad = ~np.isfinite(pred)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise ValueError(
                f"oracle must return finite values, got NaN or infinite values for "
                f"{sequences[rows[0]]!r} and {rows.size - 1} more."
            )
        return pred

    def predict(self, sequences) -> np.ndarray:
        """Predictions for ``sequences`` (from the cache where possible), in order."""
        new = list(dict.fromkeys(s for s in sequences if s not in self.cache))
        step = self.batch_size or max(len(new), 1)
        for begin in range(0, len(new), step):
            chunk = new[begin : begin + step]
            self.cache.update(zip(chunk, self._call(chunk).tolist(), strict=True))
        return np.array([self.cache[s] for s in sequences], dtype=np.float64)

    def score(self, predictions: np.ndarray) -> np.ndarray:
        """The objective, larger is better."""
        if self.target is not None:
            return -np.abs(predictions - self.target)
        predictions = np.asarray(predictions, dtype=np.float64)
        return predictions.copy() if self.maximize else -predictions


def design_frame(
    sequences, predictions, oracle: CachedOracle, extra: dict[str, np.ndarray]
) -> pd.DataFrame:
    """The designs as a DataFrame sorted best first (ties keep their order)."""
    frame = pd.DataFrame({"sequence": list(sequences), "prediction": predictions})
    if oracle.target is not None:
        frame["distance_to_target"] = np.abs(frame["prediction"].to_numpy() - oracle.target)
    for name, values in extra.items():
        frame[name] = values
    frame["gc"] = [gc_content(s) for s in frame["sequence"]]
    frame["n_uaug"] = [count_uaug(s) for s in frame["sequence"]]
    order = np.argsort(-oracle.score(frame["prediction"].to_numpy()), kind="stable")
    return frame.iloc[order].reset_index(drop=True)
