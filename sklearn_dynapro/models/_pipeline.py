"""``make_dynapro_pipeline``: raw sequences → predictions in one scikit-learn Pipeline."""

from __future__ import annotations

from sklearn.pipeline import Pipeline

from ..preprocessing import DynaProEncoder, vocabulary_size
from ._dynapro import DynaProRegressor

__all__ = ["make_dynapro_pipeline"]


def make_dynapro_pipeline(
    *,
    max_len: int | None = None,
    k: int | None = None,
    features="biophysical",
    library_column: str | None = None,
    sequence_column: str = "sequence",
    truncate: bool = False,
    ambiguous: str = "warn",
    n_jobs: int | None = None,
    **regressor_params,
) -> Pipeline:
    """Build ``Pipeline([("encode", DynaProEncoder), ("model", DynaProRegressor)])``.

    Parameters
    ----------
    max_len, k, features, library_column, sequence_column, truncate, ambiguous, n_jobs
        Passed to :class:`~sklearn_dynapro.preprocessing.DynaProEncoder`. ``k=None`` takes
        the token size of ``pretrained`` weights (a language model, possibly in a
        ``FrozenEstimator``, a saved backbone file or its dict), else 1.
    **regressor_params
        Passed to :class:`~sklearn_dynapro.DynaProRegressor` (for example
        ``module__n_layers=2``, ``max_epochs=30``, ``random_state=0`` or ``**FAST_CPU_PARAMS``).
        ``module__vocab_size`` defaults to the tokenizer's vocabulary for ``k``.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Takes sequences (or a DataFrame with the sequence and library columns) and predicts
        one value per input, in input order. Grid keys look like ``model__module__n_layers``.
    """
    if k is None:
        pretrained = regressor_params.get("pretrained")
        if pretrained is None:
            k = 1
        else:
            from ..pretraining._weights import backbone_token_size

            try:
                k = backbone_token_size(pretrained)
            except (TypeError, ValueError):
                k = 1  # weights that cannot be read: fit says why, naming its parameters
    encoder = DynaProEncoder(
        max_len=max_len,
        k=k,
        features=features,
        library_column=library_column,
        sequence_column=sequence_column,
        truncate=truncate,
        ambiguous=ambiguous,
        n_jobs=n_jobs,
    )
    regressor_params.setdefault("module__vocab_size", vocabulary_size(k))
    return Pipeline([("encode", encoder), ("model", DynaProRegressor(**regressor_params))])
