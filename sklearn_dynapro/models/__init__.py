"""Estimators: the DynaPro regressor and the pipeline factory."""

from ._dynapro import FAST_CPU_PARAMS, DynaProRegressor
from ._pipeline import make_dynapro_pipeline

__all__ = ["FAST_CPU_PARAMS", "DynaProRegressor", "make_dynapro_pipeline"]
