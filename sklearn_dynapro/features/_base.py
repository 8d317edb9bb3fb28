"""The fit/transform plumbing shared by the feature transformers."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._base import SequenceInputMixin

__all__ = ["SequenceFeatureTransformer"]


class SequenceFeatureTransformer(SequenceInputMixin, TransformerMixin, BaseEstimator):
    """Base for stateless sequence → named-columns transformers.

    Nothing is learnt from the data: ``fit`` validates parameters and sequences and fixes the
    output columns. Subclasses implement ``_check_params``, ``_fit`` (which must set
    ``feature_names_out_`` and ``n_features_out_``) and ``_transform(sequences)``, which gets
    sequences already validated by :func:`sklearn_dynapro.check_sequences`.
    """

    def _check_params(self) -> None:
        """Raise for invalid parameters (called in ``fit`` and again in ``transform``)."""

    def _fit(self):
        raise TypeError(f"{type(self).__name__} must define _fit().")

    def _transform(self, sequences: np.ndarray):
        raise TypeError(f"{type(self).__name__} must define _transform().")

    def fit(self, X, y=None):
        """Validate the parameters and the sequences; nothing is learnt from the data.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            5' UTR sequences, or a DataFrame with a ``sequence_column``.
        y : None
            Ignored.

        Returns
        -------
        self : estimator
        """
        self._check_sequences(X)
        return self._fit()

    def transform(self, X):
        """Compute the features.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            5' UTR sequences, or a DataFrame with a ``sequence_column``.

        Returns
        -------
        features : ndarray (or CSR matrix, where offered) of shape (n_samples, n_features_out_)
        """
        check_is_fitted(self)
        self._check_params()
        return self._transform(self._check_sequences(X))

    def fit_transform(self, X, y=None):
        """Fit and transform, validating the sequences once.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            5' UTR sequences, or a DataFrame with a ``sequence_column``.
        y : None
            Ignored.

        Returns
        -------
        features : ndarray (or CSR matrix, where offered) of shape (n_samples, n_features_out_)
        """
        sequences = self._check_sequences(X)
        return self._fit()._transform(sequences)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output columns.

        Parameters
        ----------
        input_features : None
            Ignored; the columns do not depend on the input's names.

        Returns
        -------
        feature_names_out : ndarray of shape (n_features_out_,), dtype object
        """
        check_is_fitted(self)
        return self.feature_names_out_.copy()
