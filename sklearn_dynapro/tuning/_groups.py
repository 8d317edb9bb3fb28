"""Group labels that keep identical sequences (and related rows) on one side of every split."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .._validation import check_groups

__all__ = ["sequence_groups"]


def _normalised(sequences) -> pd.Series:
    """Sequences as the estimators see them: stripped, upper case, ``U`` written as ``T``."""
    if isinstance(sequences, str | bytes):
        raise TypeError(
            "sequences must be a 1-D array-like of strings (pass a list for one sequence), "
            f"got a single {type(sequences).__name__}."
        )
    values = pd.Series(np.asarray(sequences, dtype=object).ravel(), dtype=object)
    return values.astype(str).str.strip().str.upper().str.replace("U", "T", regex=False)


def sequence_groups(sequences, groups=None) -> np.ndarray:
    """Label rows so that splitting by label never puts one sequence on both sides.

    Rows with the same sequence (after upper-casing and writing ``U`` as ``T``) share a
    label. With ``groups`` (for example transcript ids), rows that share a group share a
    label too, and the two relations are chained: if transcript A and transcript B contain
    one identical window, every row of A and of B gets the same label. Pass the result as
    ``groups`` to :class:`~sklearn.model_selection.GroupKFold` or
    :func:`~sklearn.model_selection.cross_validate`.

    Parameters
    ----------
    sequences : array-like of shape (n_samples,), str
        The sequences.
    groups : array-like of shape (n_samples,) or None, default=None
        Existing group labels to respect as well. Missing labels are an error.

    Returns
    -------
    labels : ndarray of shape (n_samples,), int64
        Connected components of "same sequence or same group", numbered from 0.

    Examples
    --------
    >>> from sklearn_dynapro.tuning import sequence_groups
    >>> sequence_groups(["ACG", "acg", "TTT", "GGG"], groups=["t1", "t2", "t2", "t3"]).tolist()
    [0, 0, 0, 1]
    """
    seq = _normalised(sequences)
    seq_codes, seq_uniques = pd.factorize(seq)
    n_rows = len(seq_codes)
    if groups is None:
        return seq_codes.astype(np.int64)
    group_codes = check_groups(groups, n_rows)
    n_seq, n_group = len(seq_uniques), int(group_codes.max(initial=-1)) + 1
    # Bipartite graph: node i < n_seq is a sequence, node n_seq + j is a group.
    graph = coo_matrix(
        (np.ones(n_rows, dtype=np.int8), (seq_codes, n_seq + group_codes)),
        shape=(n_seq + n_group, n_seq + n_group),
    )
    _, components = connected_components(graph, directed=False)
    # Renumber in order of first appearance so labels do not depend on the factorisation.
    labels, _ = pd.factorize(components[seq_codes])
    return labels.astype(np.int64)
