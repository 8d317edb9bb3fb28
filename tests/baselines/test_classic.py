"""The Cao random forest and the k-mer ridge baseline on real data."""

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_score

from sklearn_dynapro.baselines._classic import make_kmer_baseline, make_rf_baseline
from sklearn_dynapro.datasets import load_mpra_random50

FACTORIES = {
    "rf": lambda: make_rf_baseline(n_estimators=30, random_state=0),
    "kmer": lambda: make_kmer_baseline(k_range=(1, 4)),
}


@pytest.fixture(scope="module")
def mrl():
    X, y = load_mpra_random50()
    return X[:1800], y[:1800]


@pytest.mark.parametrize("name", FACTORIES)
def test_learns_and_predicts_in_order(name, mrl):
    X, y = mrl
    pipe = FACTORIES[name]().fit(X[:1500], y[:1500])
    pred = pipe.predict(X[1500:])
    assert pred.shape == (300,)
    assert r2_score(y[1500:], pred) > 0.2
    np.testing.assert_allclose(pipe.predict(X[1500:][::-1]), pred[::-1])


@pytest.mark.parametrize("name", FACTORIES)
def test_cross_val_clone_and_joblib(name, mrl, tmp_path):
    X, y = mrl
    X, y = X[:300], y[:300]
    scores = cross_val_score(FACTORIES[name](), X, y, cv=KFold(2, shuffle=True, random_state=0))
    assert np.isfinite(scores).all()
    pipe = clone(FACTORIES[name]()).fit(X, y)
    joblib.dump(pipe, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict(X), pipe.predict(X))


def test_rf_is_seeded(mrl):
    X, y = mrl
    a = make_rf_baseline(n_estimators=10, random_state=3).fit(X[:300], y[:300]).predict(X[:20])
    b = make_rf_baseline(n_estimators=10, random_state=3).fit(X[:300], y[:300]).predict(X[:20])
    np.testing.assert_array_equal(a, b)


def test_kmer_alpha_is_chosen_by_inner_cv(mrl):
    X, y = mrl
    pipe = make_kmer_baseline(k_range=(1, 3), alphas=[1e-3, 1e2, 1e8]).fit(X, y)
    assert pipe[-1].alpha_ in (1e-3, 1e2, 1e8)


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize(
    ("X_bad", "y_bad", "error", "message"),
    [
        (["ACGT", "AC&T", "GGGG"], [1.0, 2.0, 3.0], ValueError, r"'&' at row \[1\]"),
        (["ACGT", None, "GGGG"], [1.0, 2.0, 3.0], ValueError, r"None/NaN\) at row \[1\]"),
        ("ACGT", [1.0], TypeError, "pass a list"),
    ],
)
def test_bad_input(name, X_bad, y_bad, error, message):
    with pytest.raises(error, match=message):
        FACTORIES[name]().fit(X_bad, y_bad)
