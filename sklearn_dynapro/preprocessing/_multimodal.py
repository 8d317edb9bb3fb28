"""``DynaProEncoder``: raw sequences (+ library labels) → the network's three inputs."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.feature_selection import VarianceThreshold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._base import NonTabularOutputMixin, SequenceInputMixin
from .._validation import AMBIGUOUS_POLICIES, check_library_labels, library_indices
from ._tokenizer import SequenceTokenizer

__all__ = ["DynaProEncoder"]


def _dense(values) -> np.ndarray:
    """Feature values as a dense array: the scaler centres them, and the network takes dense."""
    return values.toarray() if sp.issparse(values) else values


class DynaProEncoder(
    NonTabularOutputMixin,
    SequenceInputMixin,
    TransformerMixin,
    BaseEstimator,
    auto_wrap_output_keys=None,
):
    """Encode sequences into tokens, standardised biophysical features and a library one-hot.

    The output is the ``dict`` that :class:`~sklearn_dynapro.DynaProRegressor` feeds to the
    network's ``forward``; put this step first in a :class:`~sklearn.pipeline.Pipeline` so
    ``fit``, ``cross_val_score`` and ``joblib.dump`` work on raw sequences.

    Parameters
    ----------
    max_len : int or None, default=None
        Longest sequence in nucleotides; learned from the training data when None.
    k : int, default=1
        Token size (1 = nucleotides; 3–6 = overlapping k-mers).
    features : "biophysical", transformer or None, default="biophysical"
        Feature transformer applied to the sequences and standardised, less the columns
        that are constant in the training data:
        ``"biophysical"`` is :class:`~sklearn_dynapro.features.BiophysicalFeatures`; any
        scikit-learn transformer on sequences works (sparse output is made dense; columns it
        cannot name are named ``x<column>``); None leaves the features out.
    library_column : str or None, default=None
        Column of a DataFrame ``X`` holding the library/assay label, one-hot encoded as the
        network's "experiment indicator". Labels unseen in ``fit`` are an error.
    sequence_column : str, default="sequence"
        Column of a DataFrame ``X`` holding the sequences.
    truncate : bool, default=False
        Cut sequences longer than ``max_len`` from the 5' end instead of raising.
    ambiguous : {"error", "warn", "mask"}, default="warn"
        Policy for N and other IUPAC codes.
    n_jobs : int or None, default=None
        Processes used to fold sequences for the default features.

    Attributes
    ----------
    tokenizer_ : SequenceTokenizer
        Fitted tokenizer.
    features_ : Pipeline or None
        Fitted feature transformer, VarianceThreshold (drops columns constant in the
        training data) and StandardScaler; None without features or when no column varies.
    libraries_ : ndarray of shape (n_libraries,) or None
        Library labels seen in ``fit``, in one-hot column order.
    vocab_size_ : int
        Number of token ids (for ``module__vocab_size``).
    n_features_ : int
        Number of feature columns.
    """

    _output_kind = "a dict of arrays (tokens, features, library)"

    _parameter_constraints: ClassVar[dict] = {
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
        "k": [Interval(Integral, 1, 6, closed="both")],
        "features": "no_validation",  # checked with its own message when built
        "library_column": [str, Integral, None],
        "sequence_column": [str, Integral, None],
        "truncate": ["boolean"],
        "ambiguous": [StrOptions(set(AMBIGUOUS_POLICIES))],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        max_len: int | None = None,
        k: int = 1,
        features="biophysical",
        library_column: str | None = None,
        sequence_column: str = "sequence",
        truncate: bool = False,
        ambiguous: str = "warn",
        n_jobs: int | None = None,
    ):
        self.max_len = max_len
        self.k = k
        self.features = features
        self.library_column = library_column
        self.sequence_column = sequence_column
        self.truncate = truncate
        self.ambiguous = ambiguous
        self.n_jobs = n_jobs

    def _feature_transformer(self):
        if self.features is None:
            return None
        if isinstance(self.features, str):
            if self.features != "biophysical":
                raise ValueError(
                    f"features must be 'biophysical', a transformer or None, got {self.features!r}."
                )
            from ..features import BiophysicalFeatures

            return BiophysicalFeatures(n_jobs=self.n_jobs, ambiguous="mask")
        if not hasattr(self.features, "fit") or not hasattr(self.features, "transform"):
            raise TypeError(
                f"features must be a transformer with fit/transform, got {self.features!r}."
            )
        return clone(self.features)

    def _library_labels(self, X) -> np.ndarray | None:
        if self.library_column is None:
            return None
        if not isinstance(X, pd.DataFrame) or self.library_column not in X.columns:
            raise ValueError(
                f"library_column={self.library_column!r} needs X to be a DataFrame with that "
                "column, got "
                + (
                    f"columns {list(X.columns)}"
                    if isinstance(X, pd.DataFrame)
                    else type(X).__name__
                )
                + "."
            )
        return check_library_labels(X[self.library_column])

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the token width, feature scaling and library labels.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            Sequences, or a DataFrame with ``sequence_column`` (and ``library_column``).
        y : ignored

        Returns
        -------
        self : DynaProEncoder
        """
        sequences = self._check_sequences(X, max_len=self.max_len, min_len=self.k)
        # Labels are checked before the features, whose folding is the slow part.
        labels = self._library_labels(X)
        self.tokenizer_ = SequenceTokenizer(
            max_len=self.max_len, k=self.k, truncate=self.truncate, ambiguous="mask"
        ).fit(sequences)
        self.vocab_size_ = self.tokenizer_.vocab_size_
        transformer = self._feature_transformer()
        if transformer is None:
            self.features_ = None
            self.n_features_ = 0
        else:
            # A column constant in training (``length`` when every UTR is 50 nt) would keep
            # its untrained weight and scale it by an unbounded z-score on other data (z=50
            # for 100-nt UTRs after 50-nt training), so it is dropped before scaling.
            pipeline = make_pipeline(transformer, VarianceThreshold(), StandardScaler())
            values = _dense(pipeline[:1].fit_transform(sequences))  # folds each sequence once
            if np.ptp(values, axis=0).any():
                pipeline[1:].fit(values)
                self.features_ = pipeline
                self.n_features_ = int(pipeline[1].get_support().sum())
            else:  # nothing varies (e.g. one training sequence): nothing to learn from
                self.features_ = None
                self.n_features_ = 0
        self.libraries_ = None if labels is None else np.unique(labels)
        return self

    def transform(self, X) -> dict[str, np.ndarray]:
        """Encode sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            As in :meth:`fit`.

        Returns
        -------
        inputs : dict
            ``"tokens"``: ndarray of shape (n_samples, width), int64; ``"features"``: ndarray
            of shape (n_samples, n_features), float32 (when features are on); ``"library"``:
            ndarray of shape (n_samples, n_libraries), float32 (when ``library_column`` is set).
        """
        check_is_fitted(self, "tokenizer_")
        sequences = self._check_sequences(X, max_len=self.tokenizer_.max_len_, min_len=self.k)
        if self.libraries_ is not None:  # checked before the features fold anything
            labels = self._library_labels(X)
            index = library_indices(labels, self.libraries_, X.index)
        out = {"tokens": self.tokenizer_.transform(sequences)}
        if self.features_ is not None:
            values = _dense(self.features_[0].transform(sequences))
            out["features"] = np.asarray(self.features_[1:].transform(values), dtype=np.float32)
        if self.libraries_ is not None:
            onehot = np.zeros((len(labels), len(self.libraries_)), dtype=np.float32)
            onehot[np.arange(len(labels)), index] = 1.0
            out["library"] = onehot
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the encoded columns: tokens, then features, then library indicators.

        Returns
        -------
        names : ndarray of str
            In the order ``tokens``, ``features``, ``library`` of the output dict.
        """
        check_is_fitted(self, "tokenizer_")
        names = list(self.tokenizer_.get_feature_names_out())
        if self.features_ is not None:
            try:
                names += list(self.features_.get_feature_names_out())
            except AttributeError:
                # A transformer that cannot name its columns (a plain FunctionTransformer):
                # scikit-learn's generic names, x<column>, for the columns kept.
                names += list(self.features_[1:].get_feature_names_out())
        if self.libraries_ is not None:
            names += [f"library_{label}" for label in self.libraries_]
        return np.asarray(names, dtype=object)
