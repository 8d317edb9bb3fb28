"""Estimators: the DynaPro regressor, its pipeline factory and the shared neural base."""

from ._base import SequenceNetRegressor
from ._dynapro import FAST_CPU_PARAMS, DynaProRegressor
from ._pipeline import make_dynapro_pipeline

__all__ = ["FAST_CPU_PARAMS", "DynaProRegressor", "SequenceNetRegressor", "make_dynapro_pipeline"]
