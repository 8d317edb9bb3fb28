"""Invariances every estimator should have, on real UTRs with tiny networks.

* A sequence's prediction does not depend on what else is in the batch, in what order, or
  on ``batch_size`` (padding, masks, per-library batching and eval-mode layers must not leak
  across rows).
* Refitting an already fitted estimator, even one fitted on other data, gives the same model
  as a fresh fit with the same ``random_state``.
* ``fit`` and ``predict`` leave numpy's and torch's global random state alone.
* ``n_jobs`` does not change results (``BiophysicalFeatures`` and ``CaoFeatures`` are checked in
  tests/features/test_biophysical.py and tests/features/test_cao.py; the pipelines that fold in
  worker processes are checked here).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_dynapro import make_dynapro_pipeline
from sklearn_dynapro.baselines import (
    SequenceLibraryEncoder,
    make_framepool_pipeline,
    make_kmer_baseline,
    make_mttrans_pipeline,
    make_optimus_pipeline,
    make_rf_baseline,
)
from sklearn_dynapro.datasets import load_mpra_random50, load_mpra_varlen_random
from sklearn_dynapro.features import (
    BiophysicalFeatures,
    CaoFeatures,
    KmerFeatures,
    clear_fold_cache,
)
from sklearn_dynapro.preprocessing import DynaProEncoder, SequenceOneHot, SequenceTokenizer

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"max_epochs": 2, "batch_size": 32, "lr": 3e-3, "device": "cpu"}

#: name -> factory(random_state); networks small but wide enough that predictions vary.
PIPELINES = {
    "dynapro": lambda seed: make_dynapro_pipeline(
        module__d_model=16,
        module__n_heads=2,
        module__n_layers=1,
        module__ffn_dim=16,
        optimizer=torch.optim.AdamW,
        random_state=seed,
        **TINY,
    ),
    "optimus": lambda seed: make_optimus_pipeline(
        module__n_filters=8, module__dense_dim=8, random_state=seed, **TINY
    ),
    "framepool": lambda seed: make_framepool_pipeline(
        module__n_filters=8, module__dense_dim=8, random_state=seed, **TINY
    ),
    "mttrans": lambda seed: make_mttrans_pipeline(
        module__conv_channels=(8, 8, 8, 8), module__tower_hidden=8, random_state=seed, **TINY
    ),
    "rf": lambda seed: make_rf_baseline(n_estimators=10, random_state=seed),
    "kmer": lambda seed: make_kmer_baseline(k_range=(1, 3)),
}
NEURAL = ("dynapro", "optimus", "framepool", "mttrans")
TRANSFORMERS = {
    "SequenceTokenizer": SequenceTokenizer,
    "SequenceOneHot": SequenceOneHot,
    "DynaProEncoder": DynaProEncoder,
    "BiophysicalFeatures": BiophysicalFeatures,
    "CaoFeatures": CaoFeatures,
    "KmerFeatures": lambda: KmerFeatures(k_range=(1, 3)),
    "SequenceLibraryEncoder": SequenceLibraryEncoder,
}


@pytest.fixture(scope="module")
def varlen():
    """240 UTRs of 25-100 nt, shuffled with a fixed seed, so batches mix lengths."""
    X, y = load_mpra_varlen_random()
    rows = np.random.default_rng(0).permutation(len(X))[:240]
    return X[rows], y[rows]


@pytest.fixture(scope="module")
def mixed():
    """Two libraries in one frame: 60 random-50 and 60 variable-length UTRs."""
    X50, y50 = load_mpra_random50(as_frame=True)
    Xv, yv = load_mpra_varlen_random(as_frame=True)
    X = pd.concat([X50.iloc[:60], Xv.iloc[::60].iloc[:60]], ignore_index=True)
    y = np.concatenate([y50.to_numpy()[:60], yv.to_numpy()[::60][:60]])
    return X, y


def _fit(pipe, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tiny networks on few samples
        return pipe.fit(X, y)


def _set_batch_size(pipe, batch_size: int) -> None:
    if "batch_size" in pipe[-1].get_params():
        pipe[-1].set_params(batch_size=batch_size)


# ------------------------------------------------------------------ batch composition
@pytest.mark.parametrize("name", PIPELINES)
def test_prediction_ignores_batch_order_and_size(name, varlen):
    X, y = varlen
    pipe = _fit(PIPELINES[name](0), X[:160], y[:160])
    query = X[160:200]
    alone = pipe.predict(query)
    assert np.std(alone) > 1e-4, "predictions are constant: the check would be vacuous"

    # The query inside a shuffled superset, predicted in batches of 7 that mix lengths.
    order = np.random.default_rng(1).permutation(len(X))
    _set_batch_size(pipe, 7)
    superset = pipe.predict(X[order])
    inside = superset[np.argsort(order)][160:200]
    np.testing.assert_allclose(inside, alone, rtol=1e-5, atol=1e-5)

    # One sequence per batch.
    _set_batch_size(pipe, 1)
    np.testing.assert_allclose(pipe.predict(query[:8]), alone[:8], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["framepool", "mttrans"])
def test_prediction_ignores_the_other_libraries_in_the_batch(name, mixed):
    X, y = mixed
    pipe = PIPELINES[name](0)
    if name == "framepool":  # per-library output scaling; MTtrans reads the column by default
        pipe.set_params(encode__library_column="library", model__library_scaling=True)
    pipe = _fit(pipe, X, y)
    assert pipe[-1].n_libraries_ == 2
    one_library = X[X["library"] == "random50"]
    alone = pipe.predict(one_library)
    order = np.random.default_rng(2).permutation(len(X))
    _set_batch_size(pipe, 5)
    shuffled = pipe.predict(X.iloc[order])[np.argsort(order)]
    np.testing.assert_allclose(shuffled[: len(one_library)], alone, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------ refitting
@pytest.mark.parametrize("name", PIPELINES)
def test_refit_equals_a_fresh_fit(name, varlen, mixed):
    X, y = varlen
    X_other, y_other = mixed
    refitted = _fit(PIPELINES[name](3), X_other, y_other)  # other lengths, a DataFrame
    _fit(refitted, X[:120], y[:120])
    fresh = _fit(PIPELINES[name](3), X[:120], y[:120])
    again = _fit(PIPELINES[name](3), X[:120], y[:120])
    np.testing.assert_array_equal(again.predict(X[120:160]), fresh.predict(X[120:160]))
    np.testing.assert_array_equal(refitted.predict(X[120:160]), fresh.predict(X[120:160]))


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_transformer_refit_equals_a_fresh_fit(name, varlen):
    X, _ = varlen
    refitted = TRANSFORMERS[name]().fit(X[:50])
    refitted.fit(X[100:130])  # shorter longest sequence: learned widths must follow
    fresh = TRANSFORMERS[name]().fit(X[100:130])
    a, b = refitted.transform(X[100:130]), fresh.transform(X[100:130])
    for key in a if isinstance(a, dict) else [None]:
        np.testing.assert_array_equal(a if key is None else a[key], b if key is None else b[key])


# -------------------------------------------------------------- global random state
def _global_states():
    state = np.random.get_state()  # noqa: NPY002 (the legacy global generator callers use)
    return state[0], state[1].copy(), state[2:], torch.get_rng_state().clone()


def _assert_same_states(before, after):
    assert before[0] == after[0] and before[2] == after[2]
    np.testing.assert_array_equal(before[1], after[1])
    assert torch.equal(before[3], after[3])


@pytest.mark.parametrize("name", PIPELINES)
def test_fit_and_predict_leave_global_random_state_alone(name, varlen):
    X, y = varlen
    # The neural estimators draw a fresh seed without numpy when random_state=None. The
    # forest follows scikit-learn, where None means numpy's global generator, so it is seeded.
    seed = 0 if name == "rf" else None
    np.random.seed(123)  # noqa: NPY002
    torch.manual_seed(123)
    before = _global_states()
    pipe = _fit(PIPELINES[name](seed), X[:80], y[:80])
    pipe.predict(X[80:100])
    _assert_same_states(before, _global_states())


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_transformers_leave_global_random_state_alone(name, varlen):
    X, _ = varlen
    before = _global_states()
    TRANSFORMERS[name]().fit(X[:30]).transform(X[:10])
    _assert_same_states(before, _global_states())


# --------------------------------------------------------------------------- n_jobs
def test_rf_baseline_two_jobs_equal_one(varlen):
    X, y = varlen
    X, y = X[:60], y[:60]
    features, predictions = [], []
    for n_jobs in (1, 2):
        clear_fold_cache()  # fold again, in worker processes for n_jobs=2
        pipe = make_rf_baseline(n_estimators=10, n_jobs=n_jobs, random_state=0).fit(X, y)
        features.append(pipe[0].transform(X[:20]))
        predictions.append(pipe.predict(X[:20]))
    np.testing.assert_array_equal(features[1], features[0])
    # Same trees; threads add the trees' outputs in another order (last-bit differences).
    np.testing.assert_allclose(predictions[1], predictions[0], rtol=1e-12, atol=0)


def test_dynapro_encoder_two_jobs_equal_one(varlen):
    X, _ = varlen
    outputs = []
    for n_jobs in (1, 2):
        clear_fold_cache()
        outputs.append(DynaProEncoder(n_jobs=n_jobs).fit(X[:60]).transform(X[:60]))
    for key in outputs[0]:
        np.testing.assert_array_equal(outputs[1][key], outputs[0][key])
