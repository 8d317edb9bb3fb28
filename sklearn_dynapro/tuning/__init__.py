"""Hyper-parameter search: an Optuna study over DynaPro and Optuna's scikit-learn search.

:func:`tune_dynapro` runs (or resumes) an Optuna study over DynaPro's main settings
(:class:`DynaProSearchSpace`), each trial scored by inner cross-validation with folds grouped
by sequence (:func:`sequence_groups`) and pruned during training on its validation loss
(:class:`CVPruningCallback`, built on ``optuna_integration.SkorchPruningCallback``). The
storage is a parameter (:func:`make_storage`): in memory, a journal file shared by
processes on one machine, or a database URL shared by machines. :func:`write_best_params`
saves the best setting as JSON that :func:`load_params` and ``dynapro fit --params`` read.

:class:`OptunaSearchCV` is ``optuna_integration.OptunaSearchCV``, re-exported for a drop-in
replacement of :class:`~sklearn.model_selection.RandomizedSearchCV` over any pipeline of this
library, with Optuna distributions instead of lists::

    from optuna.distributions import FloatDistribution, IntDistribution
    from sklearn_dynapro import make_dynapro_pipeline
    from sklearn_dynapro.tuning import OptunaSearchCV

    search = OptunaSearchCV(
        make_dynapro_pipeline(features=None),
        {"model__lr": FloatDistribution(1e-4, 1e-2, log=True),
         "model__module__n_layers": IntDistribution(1, 3)},
        cv=3, n_trials=20, random_state=0,
    )
    search.fit(X, y)
    search.best_params_
"""

from importlib import import_module

from ._groups import sequence_groups
from ._params import jsonable_params, load_params, resolve_params, save_params
from ._space import DynaProSearchSpace

#: Imported on first use, so that sequence_groups and the parameter helpers do not pay for
#: importing Optuna (about a second per process).
_LAZY = {
    "CVPruningCallback": "._study",
    "OptunaSearchCV": "optuna_integration",
    "best_params": "._study",
    "fail_dead_trials": "._study",
    "make_storage": "._study",
    "tune_dynapro": "._study",
    "write_best_params": "._study",
}

__all__ = [
    "CVPruningCallback",
    "DynaProSearchSpace",
    "OptunaSearchCV",
    "best_params",
    "fail_dead_trials",
    "jsonable_params",
    "load_params",
    "make_storage",
    "resolve_params",
    "save_params",
    "sequence_groups",
    "tune_dynapro",
    "write_best_params",
]


def __getattr__(name: str):
    if name in _LAZY:
        module = _LAZY[name]
        value = getattr(import_module(module, __name__ if module.startswith(".") else None), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
