"""Scores the field reports, each under its own name so they are never mixed.

``r2_pearson`` is the squared Pearson correlation (what Optimus 5-Prime, FramePool, UTR-LM and
the DynaPro notebook quote); ``R2`` is the coefficient of determination
(:func:`sklearn.metrics.r2_score`, what MTtrans computes). They differ whenever predictions are
biased or mis-scaled.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import make_scorer

from ._validation import format_rows

__all__ = ["SCORING", "pearson_r2_score", "spearman_score"]


def _columns(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got {t.shape} and {p.shape}."
        )
    t, p = t.reshape(len(t), -1), p.reshape(len(p), -1)
    for name, values in (("y_true", t), ("y_pred", p)):
        # pearsonr would return NaN and spearmanr rank an infinity as the largest value.
        bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
        if bad.size:
            raise ValueError(f"{name} must be finite, got NaN or infinity at {format_rows(bad)}.")
    return t, p


def pearson_r2_score(y_true, y_pred) -> float:
    """Squared Pearson correlation, averaged over target columns.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)

    Returns
    -------
    float
        r² in [0, 1]; NaN when either side is constant.

    Raises
    ------
    ValueError
        If the shapes differ or a value is NaN or infinite (the rows are named).
    """
    t, p = _columns(y_true, y_pred)
    return float(np.mean([pearsonr(t[:, j], p[:, j])[0] ** 2 for j in range(t.shape[1])]))


def spearman_score(y_true, y_pred) -> float:
    """Spearman rank correlation ρ, averaged over target columns.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)

    Returns
    -------
    float
        ρ in [-1, 1]; NaN when either side is constant.

    Raises
    ------
    ValueError
        If the shapes differ or a value is NaN or infinite (the rows are named).
    """
    t, p = _columns(y_true, y_pred)
    return float(np.mean([spearmanr(t[:, j], p[:, j])[0] for j in range(t.shape[1])]))


#: Labelled scorers for :func:`sklearn.model_selection.cross_validate`.
SCORING = {
    "r2_pearson": make_scorer(pearson_r2_score),
    "R2": "r2",
    "spearman": make_scorer(spearman_score),
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
}
