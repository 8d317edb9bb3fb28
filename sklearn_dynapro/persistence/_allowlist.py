"""The classes a saved model may name, and how their dotted names are resolved.

Two lists, both by exact dotted name. ``TRUSTED_CLASSES`` holds what ``config.json`` may name:
the pipeline class, and for a neural step the estimator, its network, loss, optimizer, data
loader and dataset classes. ``TRUSTED_SKOPS_TYPES`` holds the types a skops file may contain
on top of the scikit-learn, NumPy and SciPy types that skops itself trusts: this library's
transformers (by the module that defines them) and scikit-learn's fitted tree and neighbour
structures. Nothing outside these lists (and a caller's explicit ``trusted``) is imported on load.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

__all__ = [
    "TRUSTED_CLASSES",
    "TRUSTED_SKOPS_TYPES",
    "check_trusted",
    "class_name",
    "resolve_class",
]

#: Classes ``config.json`` may name, by their public import path.
TRUSTED_CLASSES: tuple[str, ...] = (
    # pipelines (the baselines' pipeline checks the target before fitting)
    "sklearn.pipeline.Pipeline",
    "sklearn_dynapro.baselines._classic._TargetCheckedPipeline",
    # neural estimators
    "sklearn_dynapro.models.DynaProRegressor",
    "sklearn_dynapro.baselines.FramePoolRegressor",
    "sklearn_dynapro.baselines.MTtransRegressor",
    "sklearn_dynapro.baselines.OptimusRegressor",
    # their networks
    "sklearn_dynapro.nn.DynaProNet",
    "sklearn_dynapro.nn.FramePoolNet",
    "sklearn_dynapro.nn.MTtransNet",
    "sklearn_dynapro.nn.OptimusNet",
    # losses
    "torch.nn.HuberLoss",
    "torch.nn.L1Loss",
    "torch.nn.MSELoss",
    "torch.nn.SmoothL1Loss",
    # optimizers
    "torch.optim.SGD",
    "torch.optim.Adadelta",
    "torch.optim.Adagrad",
    "torch.optim.Adam",
    "torch.optim.AdamW",
    "torch.optim.Adamax",
    "torch.optim.NAdam",
    "torch.optim.RAdam",
    "torch.optim.RMSprop",
    # skorch's data plumbing
    "torch.utils.data.DataLoader",
    "skorch.dataset.Dataset",
)

#: Types a skops file may hold besides those skops trusts by default, by defining module.
TRUSTED_SKOPS_TYPES: tuple[str, ...] = (
    "sklearn_dynapro.baselines._encoder.SequenceLibraryEncoder",
    "sklearn_dynapro.features._biophysical.BiophysicalFeatures",
    "sklearn_dynapro.features._cao.CaoFeatures",
    "sklearn_dynapro.features._kmers.KmerFeatures",
    "sklearn_dynapro.preprocessing._multimodal.DynaProEncoder",
    "sklearn_dynapro.preprocessing._onehot.SequenceOneHot",
    "sklearn_dynapro.preprocessing._tokenizer.SequenceTokenizer",
    "sklearn_dynapro.pretraining._language_model.UTRLanguageModel",
    "sklearn_dynapro.uncertainty._seed_ensemble.SeedEnsembleRegressor",
    # fitted structures of scikit-learn estimators that skops leaves to the caller
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.tree._tree.Tree",
)


def check_trusted(trusted) -> frozenset[str]:
    """Validate ``load``'s ``trusted`` argument: None or an iterable of dotted names."""
    if trusted is None:
        return frozenset()
    if isinstance(trusted, bool | str | bytes) or not isinstance(trusted, Iterable):
        raise TypeError(
            "trusted must be None or a list of dotted class names (e.g. "
            f"['mypackage.MyTransformer']), got {trusted!r}."
        )
    names = list(trusted)
    bad = [name for name in names if not isinstance(name, str) or not name]
    if bad:
        raise TypeError(f"trusted must hold non-empty strings, got {bad[0]!r}.")
    return frozenset(names)


def canonical_name(cls: type) -> str:
    """``module.QualName`` of a class, the form skops reports."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _import_dotted(name: str):
    """Import ``a.b.C`` (or ``a.b.C.Inner``), trying the longest importable module prefix."""
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        if obj is not None:
            return obj
    return None


def class_name(cls: type) -> str:
    """The name to store for a class: its allow-list entry when it has one.

    Parameters
    ----------
    cls : type
        A class found in an estimator's parameters.

    Returns
    -------
    name : str
        The public name from :data:`TRUSTED_CLASSES` naming this very class, else
        ``module.QualName`` (which ``load`` then accepts only when passed in ``trusted``).
    """
    for name in TRUSTED_CLASSES:
        if name.rsplit(".", 1)[1] == cls.__name__ and _import_dotted(name) is cls:
            return name
    name = canonical_name(cls)
    if _import_dotted(name) is not cls:
        raise TypeError(
            f"classes in the parameters must be importable by name, got {cls!r} (defined "
            "inside a function or replaced after import?); only importable classes can be saved."
        )
    return name


def resolve_class(name, *, trusted: frozenset[str], where: str) -> type:
    """Import the class a saved model names, refusing anything not allow-listed.

    Parameters
    ----------
    name : str
        Dotted name read from ``config.json``.
    trusted : frozenset of str
        Extra names the caller trusts.
    where : str
        What names the class (for the error message).

    Returns
    -------
    cls : type
        The class.
    """
    if not isinstance(name, str) or (name not in TRUSTED_CLASSES and name not in trusted):
        raise ValueError(
            f"{where} must name an allow-listed class, got {name!r}; pass "
            "trusted=[name] to load() only if you trust where the model comes from."
        )
    cls = _import_dotted(name)
    if not isinstance(cls, type):
        raise ValueError(f"{where} must name a class, got {name!r}, which is not importable.")
    return cls
