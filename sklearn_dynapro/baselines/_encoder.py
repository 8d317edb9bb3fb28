"""``SequenceLibraryEncoder``: sequences (+ library labels) → one-hot, lengths, library index."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._base import NonTabularOutputMixin, SequenceInputMixin
from .._validation import (
    AMBIGUOUS_POLICIES,
    check_library_labels,
    library_indices,
)
from ..preprocessing import SequenceOneHot

__all__ = ["SequenceLibraryEncoder"]


class SequenceLibraryEncoder(
    NonTabularOutputMixin,
    SequenceInputMixin,
    TransformerMixin,
    BaseEstimator,
    auto_wrap_output_keys=None,
):
    """Encode sequences as 5'-padded one-hot channels with their lengths and library index.

    The output is the ``dict`` that :class:`FramePoolRegressor` and :class:`MTtransRegressor`
    feed to their networks. The lengths are explicit because an all-zero one-hot column can be
    padding or an ``N`` (with ``n_value=0``); the networks build their padding masks from them.

    Library labels come from ``library_column`` of a DataFrame ``X``. When ``fit`` sees no such
    column (a list of sequences, or a DataFrame without it) every row belongs to one implicit
    library, index 0, and later library labels are ignored.

    Parameters
    ----------
    max_len : int or None, default=None
        Padded length in nucleotides; learned in :meth:`fit` as the longest training sequence
        when None.
    library_column : str or None, default="library"
        Column of a DataFrame ``X`` holding the library/assay label; None always uses one
        implicit library.
    sequence_column : str, default="sequence"
        Column of a DataFrame ``X`` holding the sequences.
    n_value : {0.0, 0.25}, default=0.0
        Value of every channel at an ``N``.
    truncate : bool, default=False
        Cut sequences longer than ``max_len_`` from the 5' end (keeping the bases next to the
        start codon) with a warning, instead of raising.
    ambiguous : {"error", "warn", "mask"}, default="warn"
        Policy for ``N`` and other IUPAC ambiguity codes.

    Attributes
    ----------
    max_len_ : int
        Padded length of the one-hot output.
    libraries_ : ndarray of shape (n_libraries,) or None
        Library labels seen in fit (sorted; row ``i`` of the output has index
        ``libraries_.tolist().index(label)``), or None for one implicit library.
    n_libraries_ : int
        Number of libraries (1 for the implicit one).

    Examples
    --------
    >>> from sklearn_dynapro.baselines import SequenceLibraryEncoder
    >>> out = SequenceLibraryEncoder().fit_transform(["ACG", "T"])
    >>> out["onehot"].shape, out["length"].tolist(), out["library"].tolist()
    ((2, 4, 3), [3, 1], [0, 0])
    """

    _output_kind = "a dict of arrays (onehot, length, library)"

    _parameter_constraints: ClassVar[dict] = {
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
        "library_column": [str, Integral, None],
        "sequence_column": [str, Integral, None],
        "n_value": [Options(Real, {0.0, 0.25})],
        "truncate": ["boolean"],
        "ambiguous": [StrOptions(set(AMBIGUOUS_POLICIES))],
    }

    def __init__(
        self,
        *,
        max_len: int | None = None,
        library_column: str | None = "library",
        sequence_column: str = "sequence",
        n_value: float = 0.0,
        truncate: bool = False,
        ambiguous: str = "warn",
    ) -> None:
        self.max_len = max_len
        self.library_column = library_column
        self.sequence_column = sequence_column
        self.n_value = n_value
        self.truncate = truncate
        self.ambiguous = ambiguous

    def _labels(self, X) -> np.ndarray | None:
        """Library labels of ``X`` as strings, or None when it has no library column."""
        if (
            self.library_column is None
            or not isinstance(X, pd.DataFrame)
            or self.library_column not in X.columns
        ):
            return None
        return check_library_labels(X[self.library_column])

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> SequenceLibraryEncoder:
        """Learn the padded length and the library labels.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            Sequences, or a DataFrame with ``sequence_column`` (and ``library_column``).
        y : None
            Ignored.

        Returns
        -------
        self : SequenceLibraryEncoder
            The fitted encoder.
        """
        sequences = self._check_sequences(X, max_len=self.max_len)
        self.onehot_ = SequenceOneHot(
            max_len=self.max_len, n_value=self.n_value, ambiguous="mask", sequence_column=None
        ).fit(sequences)
        self.max_len_ = self.onehot_.max_len_
        labels = self._labels(X)
        self.libraries_ = None if labels is None else np.unique(labels)
        self.n_libraries_ = 1 if labels is None else len(self.libraries_)
        return self

    def _library_index(self, X, n: int) -> np.ndarray:
        if self.libraries_ is None:
            return np.zeros(n, dtype=np.int64)
        labels = self._labels(X)
        if labels is None:
            raise ValueError(
                f"X must be a DataFrame with the library column {self.library_column!r} (the "
                f"encoder was fitted on libraries {self.libraries_.tolist()}), got "
                + (
                    f"columns {list(X.columns)}."
                    if isinstance(X, pd.DataFrame)
                    else f"{type(X).__name__}."
                )
            )
        return library_indices(labels, self.libraries_, X.index)

    def transform(self, X) -> dict[str, np.ndarray]:
        """Encode sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            As in :meth:`fit`; sequences at most ``max_len_`` long unless ``truncate=True``.

        Returns
        -------
        inputs : dict
            ``"onehot"``: ndarray of shape (n_samples, 4, max_len_), float32, channels
            ``A, C, G, T``, right-aligned so the last column is the base before the start
            codon; ``"length"``: ndarray of shape (n_samples,), int64, the real bases of each
            row; ``"library"``: ndarray of shape (n_samples,), int64, the library index.
        """
        check_is_fitted(self, "onehot_")
        sequences = self._check_sequences(X, max_len=self.max_len_)
        n = sequences.shape[0]
        return {
            "onehot": self.onehot_.transform(sequences),
            "length": np.fromiter(map(len, sequences), dtype=np.int64, count=n),
            "library": self._library_index(X, n),
        }

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the encoded columns: the one-hot channels, then ``length`` and ``library``.

        Parameters
        ----------
        input_features : None
            Ignored; the names do not depend on the input's.

        Returns
        -------
        names : ndarray of shape (4 * max_len_ + 2,), dtype object
            ``"A_-d"`` … ``"T_-d"`` as in
            :meth:`~sklearn_dynapro.preprocessing.SequenceOneHot.get_feature_names_out`, in
            the order of the ``"onehot"`` output flattened, then ``"length"`` and ``"library"``.
        """
        check_is_fitted(self, "onehot_")
        return np.asarray(
            [*self.onehot_.get_feature_names_out(), "length", "library"], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
