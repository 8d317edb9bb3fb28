"""Uncertainty of predictions from repeated training with different seeds.

:class:`SeedEnsembleRegressor` refits any estimator or pipeline of this library under several
seeds (the paper repeats each experiment 6 times) and reports the mean prediction with the
spread over the members, warning when asked about sequence lengths it never saw in training.
"""

from ._seed_ensemble import OutOfRangeLengthWarning, SeedEnsembleRegressor

__all__ = ["OutOfRangeLengthWarning", "SeedEnsembleRegressor"]
