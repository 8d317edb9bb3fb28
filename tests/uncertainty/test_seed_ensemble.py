"""SeedEnsembleRegressor on real MPRA sequences: members, spread, length warnings, sklearn API."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from joblib import parallel_config
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)

from sklearn_dynapro import make_dynapro_pipeline
from sklearn_dynapro.baselines import make_kmer_baseline
from sklearn_dynapro.datasets import load_mpra_random50, load_mpra_varlen_random
from sklearn_dynapro.features import KmerFeatures
from sklearn_dynapro.pretraining import UTRLanguageModel
from sklearn_dynapro.uncertainty import OutOfRangeLengthWarning, SeedEnsembleRegressor


@pytest.fixture(scope="module")
def mrl():
    X, y = load_mpra_random50()
    return X[:300], y[:300]


def kmer_forest(**params):
    """A cheap estimator with randomness in a nested ``model__random_state``."""
    return Pipeline(
        [
            ("kmers", KmerFeatures(k_range=(1, 2))),
            ("model", RandomForestRegressor(n_estimators=5, max_depth=4, **params)),
        ]
    )


def kmer_ridge():
    return make_kmer_baseline(k_range=(1, 3))


def test_identical_members_have_zero_std(mrl):
    X, y = mrl
    ens = SeedEnsembleRegressor(kmer_ridge(), n_estimators=3, random_state=0)
    with pytest.warns(UserWarning, match="no random_state parameter"):
        ens.fit(X, y)
    mean, std = ens.predict(X[:40], return_std=True)
    assert std.shape == (40,)
    assert np.all(std == 0.0)
    np.testing.assert_array_equal(mean, kmer_ridge().fit(X, y).predict(X[:40]))
    assert ens.seed_params_ == []
    assert ens.train_length_range_ == (50, 50)


def test_seeds_reach_nested_random_states_and_spread_is_positive(mrl):
    X, y = mrl
    ens = SeedEnsembleRegressor(kmer_forest(random_state=123), n_estimators=4, random_state=1)
    ens.fit(X, y)
    assert ens.seed_params_ == ["model__random_state"]
    assert len(set(ens.seeds_.tolist())) == 4
    for member, seed in zip(ens.estimators_, ens.seeds_, strict=True):
        assert member.get_params()["model__random_state"] == seed
    mean, std = ens.predict(X[:40], return_std=True)
    members = np.stack([m.predict(X[:40]) for m in ens.estimators_])
    np.testing.assert_allclose(mean, members.mean(axis=0))
    np.testing.assert_allclose(std, members.std(axis=0))
    assert np.all(std > 0)
    np.testing.assert_array_equal(ens.predict_members(X[:40]), members)
    # input order is kept
    np.testing.assert_allclose(ens.predict(X[:40][::-1]), mean[::-1])
    # the estimator passed in is left untouched
    assert ens.estimator.get_params()["model__random_state"] == 123


def test_random_state_makes_fits_repeatable_across_backends(mrl):
    X, y = mrl
    a = SeedEnsembleRegressor(kmer_forest(), n_estimators=3, random_state=7).fit(X, y)
    with parallel_config(backend="threading"):
        b = SeedEnsembleRegressor(kmer_forest(), n_estimators=3, random_state=7, n_jobs=2)
        b.fit(X, y)
    np.testing.assert_array_equal(a.seeds_, b.seeds_)
    np.testing.assert_array_equal(a.predict(X[:30]), b.predict(X[:30]))
    c = SeedEnsembleRegressor(kmer_forest(), n_estimators=3, random_state=8).fit(X, y)
    assert not np.array_equal(a.seeds_, c.seeds_)


def test_tiny_dynapro_members_disagree(mrl):
    X, y = mrl
    pipe = make_dynapro_pipeline(
        features=None,
        module__d_model=16,
        module__n_layers=1,
        module__n_heads=2,
        module__ffn_dim=16,
        max_epochs=1,
        batch_size=64,
        valid_fraction=0,
        optimizer=torch.optim.AdamW,
        lr=3e-3,
    )
    ens = SeedEnsembleRegressor(pipe, n_estimators=2, random_state=0).fit(X[:200], y[:200])
    assert ens.seed_params_ == ["model__random_state"]
    assert [m[-1].seed_ for m in ens.estimators_] == ens.seeds_.tolist()
    mean, std = ens.predict(X[200:260], return_std=True)
    members = ens.predict_members(X[200:260])
    assert members.shape == (2, 60)
    np.testing.assert_allclose(mean, members.mean(axis=0))
    assert np.all(std > 0)


def test_dynapro_members_on_a_pretrained_backbone(mrl):
    # The README's flow: the language model's own random_state is not the members' to seed.
    X, y = mrl
    lm = UTRLanguageModel(
        d_model=16, n_layers=1, n_heads=2, ffn_dim=16, max_epochs=1, random_state=0
    ).fit(X[:100])
    pipe = make_dynapro_pipeline(
        pretrained=lm, features=None, max_epochs=1, batch_size=64, valid_fraction=0
    )
    ens = SeedEnsembleRegressor(pipe, n_estimators=2, random_state=0).fit(X[:150], y[:150])
    assert ens.seed_params_ == ["model__random_state"]
    assert all(member[-1].pretrained is lm for member in ens.estimators_)
    assert lm.random_state == 0
    assert ens.predict(X[150:170]).shape == (20,)


def test_multi_output_members(mrl):
    X, y = mrl
    Y = np.column_stack([y, np.log(y)])
    ens = SeedEnsembleRegressor(kmer_forest(), n_estimators=2, random_state=0).fit(X, Y)
    mean, std = ens.predict(X[:10], return_std=True)
    assert mean.shape == std.shape == (10, 2)
    assert ens.predict_members(X[:10]).shape == (2, 10, 2)


def test_warns_for_lengths_outside_training_range():
    X, y = load_mpra_varlen_random(as_frame=True)
    lengths = X["sequence"].str.len()
    train = (lengths >= 40) & (lengths <= 60)
    X_train, y_train = X[train].iloc[::5], y[train].iloc[::5]
    ens = SeedEnsembleRegressor(kmer_forest(), n_estimators=2, random_state=0)
    ens.fit(X_train, y_train)
    assert ens.train_length_range_ == (40, 60)

    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfRangeLengthWarning)
        ens.predict(X[train].iloc[:20])

    mixed = X.iloc[[0, 3000, 7599]]  # 25, 55 and 100 nt
    with pytest.warns(OutOfRangeLengthWarning, match=r"2 of 3 sequences at rows \[0, 2\]") as rec:
        ens.predict(mixed)
    assert "25-100 nt" in str(rec[0].message)
    assert "40-60 nt" in str(rec[0].message)


def test_sequence_column_is_taken_from_the_estimator():
    X, y = load_mpra_random50(as_frame=True)
    X = X.iloc[:200].rename(columns={"sequence": "utr"})
    ens = SeedEnsembleRegressor(
        Pipeline(
            [
                ("kmers", KmerFeatures(k_range=(1, 2), sequence_column="utr")),
                ("model", RandomForestRegressor(n_estimators=3)),
            ]
        ),
        n_estimators=2,
    )
    assert ens.fit(X, y.iloc[:200]).predict(X).shape == (200,)
    assert ens.train_length_range_ == (50, 50)


def test_sequence_column_none_inside_a_column_transformer(mrl):
    # The step reads the one column the ColumnTransformer picks; X itself has two.
    X, y = mrl
    frame = pd.DataFrame({"sequence": X[:100], "gc": [s.count("G") for s in X[:100]]})
    kmers = KmerFeatures(k_range=(1, 2), sequence_column=None)
    columns = ColumnTransformer([("k", kmers, ["sequence"]), ("n", "passthrough", ["gc"])])
    forest = make_pipeline(columns, RandomForestRegressor(3))
    ens = SeedEnsembleRegressor(forest, n_estimators=2, random_state=0).fit(frame, y[:100])
    assert ens.predict(frame).shape == (100,)


@pytest.mark.parametrize("column", [0, None])
def test_sequence_column_0_or_none_of_the_estimator(mrl, column):
    X, y = mrl
    frame = pd.DataFrame({0: X[:100]})
    forest = make_pipeline(
        KmerFeatures(k_range=(1, 2), sequence_column=column), RandomForestRegressor(3)
    )
    ens = SeedEnsembleRegressor(forest, n_estimators=2, random_state=0).fit(frame, y[:100])
    np.testing.assert_array_equal(ens.predict(frame), ens.predict_members(frame).mean(axis=0))


def test_cross_val_score_clone_and_pickle(mrl):
    X, y = mrl
    ens = SeedEnsembleRegressor(kmer_forest(), n_estimators=2, random_state=0)
    scores = cross_val_score(ens, X, y, cv=KFold(2, shuffle=True, random_state=0))
    assert scores.shape == (2,) and np.isfinite(scores).all()

    params = ens.get_params(deep=True)
    assert params["estimator__model__n_estimators"] == 5
    ens.set_params(estimator__model__max_depth=3)
    assert ens.estimator[-1].max_depth == 3
    fitted = clone(ens).fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X[:20]), fitted.predict(X[:20]))
    assert not hasattr(clone(fitted), "estimators_")

    check_no_attributes_set_in_init("SeedEnsembleRegressor", SeedEnsembleRegressor(kmer_forest()))
    check_get_params_invariance("SeedEnsembleRegressor", SeedEnsembleRegressor(kmer_forest()))
    check_set_params("SeedEnsembleRegressor", SeedEnsembleRegressor(kmer_forest()))


def test_bad_input(mrl):
    X, y = mrl
    with pytest.raises(ValueError, match="n_estimators must be an int >= 1, got 0"):
        SeedEnsembleRegressor(kmer_forest(), n_estimators=0).fit(X, y)
    with pytest.raises(TypeError, match="estimator must be a regressor"):
        SeedEnsembleRegressor("ridge").fit(X, y)
    with pytest.raises(TypeError, match="pass a list"):
        SeedEnsembleRegressor(kmer_forest()).fit("ACGT", [1.0])
    bad = X[:10].copy()
    bad[3] = "ACGX"
    with pytest.raises(ValueError, match=r"invalid characters 'X' at row \[3\]"):
        SeedEnsembleRegressor(kmer_forest()).fit(bad, y[:10])
    with pytest.raises(ValueError, match="same number of rows"):
        SeedEnsembleRegressor(kmer_forest()).fit(X[:10], y[:9])
    ens = SeedEnsembleRegressor(kmer_forest(), n_estimators=2).fit(X, y)
    with pytest.raises(ValueError, match=r"empty sequence at row \[1\]"):
        ens.predict(["ACGT" * 12 + "AC", ""])
    with pytest.raises(NotFittedError):
        SeedEnsembleRegressor(kmer_forest()).predict(X)
