"""``SeedEnsembleRegressor``: one model refitted under several seeds, mean ± sd per input."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.random import sample_without_replacement
from sklearn.utils.validation import check_is_fitted

from .._base import SequenceInputMixin
from .._validation import check_sequences, check_target, format_rows

__all__ = ["OutOfRangeLengthWarning", "SeedEnsembleRegressor"]

# Seeds stay below 2**31 - 1 so that every library (numpy's legacy RandomState included)
# accepts them.
_MAX_SEED = np.iinfo(np.int32).max


class OutOfRangeLengthWarning(UserWarning):
    """Prediction inputs are shorter or longer than every training sequence.

    The members then extrapolate, and agreement between them (a small standard deviation)
    says little about the error.
    """


def _seed_keys(estimator) -> list[str]:
    """Every ``random_state`` parameter of ``estimator``, nested ones included."""
    return sorted(
        key
        for key in estimator.get_params(deep=True)
        if key == "random_state" or key.endswith("__random_state")
    )


def _fit_member(estimator, X, y, fit_params: dict):
    return estimator.fit(X, y, **fit_params)


class SeedEnsembleRegressor(SequenceInputMixin, RegressorMixin, BaseEstimator):
    """Fit copies of an estimator under different seeds; predict their mean and spread.

    Each member is a clone of ``estimator`` whose every ``random_state`` parameter (nested
    ones such as ``model__random_state`` included) is set to one seed drawn from
    ``random_state``. The spread of the members' predictions is the seed-to-seed variability
    of the model (initialisation, shuffling, validation split), the repeats the UTR-DynaPro
    paper reports as mean ± sd; it is not a calibrated predictive interval.

    Parameters
    ----------
    estimator : estimator or Pipeline
        Unfitted regressor taking sequences, for example
        :func:`~sklearn_dynapro.make_dynapro_pipeline`. Estimators without a ``random_state``
        parameter give identical members (and a standard deviation of 0, with a warning).
    n_estimators : int, default=6
        Number of members (the paper repeats each experiment 6 times).
    random_state : int, RandomState or None, default=None
        Draws the members' seeds (distinct, in ``[0, 2**31 - 1)``).
    n_jobs : int or None, default=None
        Members fitted in parallel through :class:`joblib.Parallel`, so
        ``joblib.parallel_config(backend="dask")`` spreads them over a Dask cluster.
        Prediction runs the members one after the other.
    sequence_column : str, int or None, default=None
        Column of a DataFrame ``X`` holding the sequences, read to record and check lengths.
        None takes the value of the first ``sequence_column`` parameter of ``estimator`` that
        is not None (for example ``encode__sequence_column``), else the only column of a
        one-column ``X``, else ``"sequence"``.

    Attributes
    ----------
    estimators_ : list of estimators of length n_estimators
        The fitted members.
    seeds_ : ndarray of shape (n_estimators,), int64
        The seed each member was given.
    seed_params_ : list of str
        The parameters that received the seeds (empty if the estimator has none).
    train_length_range_ : tuple of (int, int)
        Shortest and longest training sequence, in nucleotides.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_dynapro.datasets import load_mpra_random50
    >>> from sklearn_dynapro.features import KmerFeatures
    >>> from sklearn_dynapro.uncertainty import SeedEnsembleRegressor
    >>> X, y = load_mpra_random50()
    >>> forest = make_pipeline(KmerFeatures(k_range=(1, 2)), RandomForestRegressor(10))
    >>> ens = SeedEnsembleRegressor(forest, n_estimators=3, random_state=0)
    >>> mean, std = ens.fit(X[:300], y[:300]).predict(X[300:305], return_std=True)
    >>> ens.seed_params_
    ['randomforestregressor__random_state']
    >>> mean.shape, bool((std > 0).all())
    ((5,), True)
    """

    def __init__(
        self,
        estimator,
        *,
        n_estimators: int = 6,
        random_state=None,
        n_jobs: int | None = None,
        sequence_column: str | int | None = None,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.sequence_column = sequence_column

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if hasattr(self.estimator, "__sklearn_tags__"):
            # Multi-output support is the members'.
            tags.target_tags.multi_output = get_tags(self.estimator).target_tags.multi_output
        return tags

    def _resolved_sequence_column(self, X):
        if self.sequence_column is not None:
            return self.sequence_column
        for key, value in self.estimator.get_params(deep=True).items():
            # 0 is a column label; None is a step reading a one-column frame, which may be
            # one column that a ColumnTransformer picked out of X.
            if (key == "sequence_column" or key.endswith("__sequence_column")) and (
                value is not None
            ):
                return value
        if isinstance(X, pd.DataFrame) and X.shape[1] == 1:
            return None
        return "sequence"

    def _lengths(self, X) -> np.ndarray:
        # ambiguous="mask": only lengths are needed here; the members apply their own policy.
        sequences = check_sequences(
            X, sequence_column=self._resolved_sequence_column(X), ambiguous="mask"
        )
        return np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))

    def _check_params(self) -> None:
        if not hasattr(self.estimator, "fit") or not hasattr(self.estimator, "predict"):
            raise TypeError(
                f"estimator must be a regressor with fit and predict, got {self.estimator!r}."
            )
        n = self.n_estimators
        if isinstance(n, bool | np.bool_) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n_estimators must be an int >= 1, got {n!r}.")

    def fit(self, X, y, **fit_params):
        """Fit ``n_estimators`` seeded clones of the estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            Sequences, or a DataFrame with the sequence column (and whatever other columns
            the estimator reads).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target(s).
        **fit_params : dict
            Passed to every member's ``fit``.

        Returns
        -------
        self : SeedEnsembleRegressor
        """
        self._check_params()
        lengths = self._lengths(X)
        check_target(y, len(lengths))
        rng = check_random_state(self.random_state)
        self.seeds_ = sample_without_replacement(
            _MAX_SEED, self.n_estimators, random_state=rng
        ).astype(np.int64)
        self.seed_params_ = _seed_keys(self.estimator)
        if not self.seed_params_:
            warnings.warn(
                f"{type(self.estimator).__name__} has no random_state parameter, so the "
                f"{self.n_estimators} members are identical and their std is 0.",
                UserWarning,
                stacklevel=2,
            )
        members = [
            clone(self.estimator).set_params(**dict.fromkeys(self.seed_params_, int(seed)))
            for seed in self.seeds_
        ]
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_member)(member, X, y, fit_params) for member in members
        )
        self.train_length_range_ = (int(lengths.min()), int(lengths.max()))
        return self

    def _warn_out_of_range(self, lengths: np.ndarray) -> None:
        low, high = self.train_length_range_
        outside = np.flatnonzero((lengths < low) | (lengths > high))
        if outside.size:
            seen = lengths[outside]
            warnings.warn(
                f"{outside.size} of {lengths.size} sequences at {format_rows(outside)} have "
                f"lengths ({seen.min()}-{seen.max()} nt) outside the training range "
                f"{low}-{high} nt; the members extrapolate there and their std understates "
                "the error.",
                OutOfRangeLengthWarning,
                stacklevel=3,
            )

    def predict_members(self, X) -> np.ndarray:
        """Every member's prediction.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            As in :meth:`fit`.

        Returns
        -------
        y_members : ndarray of shape (n_estimators, n_samples) or \
(n_estimators, n_samples, n_outputs), float64
            Rows in input order.
        """
        check_is_fitted(self, "estimators_")
        self._warn_out_of_range(self._lengths(X))
        return np.stack(
            [np.asarray(member.predict(X), dtype=np.float64) for member in self.estimators_]
        )

    def predict(self, X, return_std: bool = False):
        """Mean prediction of the members, and optionally their standard deviation.

        Warns with :class:`OutOfRangeLengthWarning` when a sequence is shorter or longer than
        every training sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            As in :meth:`fit`.
        return_std : bool, default=False
            Also return the standard deviation over the members (``ddof=0``).

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_outputs), float64
            In input order.
        y_std : ndarray of the same shape, float64
            Only with ``return_std=True``; 0 where all members agree.
        """
        members = self.predict_members(X)
        # Where the members agree exactly, report their value and a std of exactly 0
        # (a float mean of equal values can be off in the last bit).
        agree = (members == members[0]).all(axis=0)
        mean = np.where(agree, members[0], members.mean(axis=0))
        if not return_std:
            return mean
        return mean, np.where(agree, 0.0, members.std(axis=0))
