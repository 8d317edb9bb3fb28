"""sklearn_dynapro: 5' UTR translation prediction with scikit-learn ergonomics.

Data flow: sequences → validation (:func:`check_sequences`) → encoding
(:mod:`~sklearn_dynapro.preprocessing`) and biophysical features
(:mod:`~sklearn_dynapro.features`) → the network (:mod:`~sklearn_dynapro.nn`) → estimators
(:class:`DynaProRegressor`, :func:`make_dynapro_pipeline`).

The estimators are imported on first use, so ``import sklearn_dynapro`` and the feature
transformers do not pay for importing torch and skorch (seconds and ~300 MiB per process,
which matters in joblib workers).
"""

from importlib import import_module

from ._validation import check_sequences, check_target

__version__ = "0.1.0"

_LAZY = {
    "FAST_CPU_PARAMS": ".models",
    "DynaProRegressor": ".models",
    "make_dynapro_pipeline": ".models",
    "UTRLanguageModel": ".pretraining",
    "SeedEnsembleRegressor": ".uncertainty",
    "iter_predictions": ".streaming",
    "predict_chunked": ".streaming",
    "predict_file": ".streaming",
    "load": ".persistence",
    "save": ".persistence",
}

__all__ = [
    "FAST_CPU_PARAMS",
    "DynaProRegressor",
    "SeedEnsembleRegressor",
    "UTRLanguageModel",
    "__version__",
    "check_sequences",
    "check_target",
    "iter_predictions",
    "load",
    "make_dynapro_pipeline",
    "predict_chunked",
    "predict_file",
    "save",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
