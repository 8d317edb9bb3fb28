"""DynaProRegressor and make_dynapro_pipeline in the scikit-learn workflows, on real data."""

import copy
import io
import itertools
import os
import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, cross_val_score
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)
from skorch.callbacks import Callback

from sklearn_dynapro import DynaProRegressor, make_dynapro_pipeline
from sklearn_dynapro.datasets import load_cao2021_te, load_mpra_random50, load_mpra_varlen_random
from sklearn_dynapro.preprocessing import DynaProEncoder

TINY = {
    "module__d_model": 16,
    "module__n_heads": 4,
    "module__n_layers": 1,
    "module__ffn_dim": 32,
    "optimizer": torch.optim.AdamW,
    "lr": 3e-3,
    "weight_decay": 1e-2,
    "max_epochs": 2,
    "batch_size": 64,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def mrl():
    X, y = load_mpra_random50()
    return X[:400], y[:400]


def tiny_pipeline(**params):
    return make_dynapro_pipeline(features=None, **{**TINY, **params})


def test_predicts_one_value_per_input_in_order(mrl):
    X, y = mrl
    pipe = tiny_pipeline().fit(X, y)
    pred = pipe.predict(X[:50])
    assert pred.shape == (50,)
    assert pred.dtype == np.float64
    np.testing.assert_allclose(pipe.predict(X[:50][::-1]), pred[::-1], rtol=1e-5, atol=1e-6)


def test_fit_on_real_subset_beats_the_mean():
    # Sequence only: the biophysical features alone reach R² 0.67 here with a ridge, so a
    # fit with them would pass even with a broken network.
    X, y = load_mpra_random50()
    X_train, y_train, X_test, y_test = X[:3000], y[:3000], X[3000:3600], y[3000:3600]
    pipe = make_dynapro_pipeline(
        **{**TINY, "features": None, "module__d_model": 32, "module__n_heads": 4, "max_epochs": 6}
    )
    pipe.fit(X_train, y_train)
    assert r2_score(y_test, pipe.predict(X_test)) > 0.5


def test_cross_val_score_and_grid_search(mrl):
    X, y = mrl
    cv = KFold(2, shuffle=True, random_state=0)
    scores = cross_val_score(tiny_pipeline(), X, y, cv=cv)
    # The same seeded fits by hand, fold by fold, score the same.
    by_hand = [tiny_pipeline().fit(X[tr], y[tr]).score(X[te], y[te]) for tr, te in cv.split(X)]
    np.testing.assert_allclose(scores, by_hand, rtol=0, atol=1e-9)
    grid = GridSearchCV(tiny_pipeline(max_epochs=1), {"model__module__n_layers": [1, 2]}, cv=2)
    grid.fit(X, y)
    means = grid.cv_results_["mean_test_score"]
    assert np.isfinite(means).all() and grid.best_index_ == np.argmax(means)
    best = grid.cv_results_["params"][grid.best_index_]["model__module__n_layers"]
    assert grid.best_params_["model__module__n_layers"] == best
    assert len(grid.best_estimator_[-1].module_.layers) == best


def test_clone_and_joblib_round_trip(mrl, tmp_path):
    X, y = mrl
    pipe = tiny_pipeline().fit(X, y)
    # A clone of the fitted pipeline has its settings and none of its training.
    copy = clone(pipe)
    assert copy.get_params()["model__module__n_layers"] == 1
    assert not hasattr(copy[-1], "module_") and not hasattr(copy[0], "tokenizer_")
    np.testing.assert_array_equal(copy.fit(X, y).predict(X[:64]), pipe.predict(X[:64]))
    path = tmp_path / "model.joblib"
    joblib.dump(pipe, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(X[:64]), pipe.predict(X[:64]))


def test_training_rows_are_reshuffled_every_epoch():
    # skorch's DataLoader keeps one row order unless told otherwise; SGD needs a fresh one.
    net = DynaProRegressor(**TINY)
    rows = np.arange(256, dtype=np.int64)[:, None]
    dataset = net.get_dataset({"tokens": rows}, np.zeros((256, 1), np.float32))
    loader = net.get_iterator(dataset, training=True)
    orders = [torch.cat([X["tokens"][:, 0] for X, _ in loader]) for _ in range(2)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(256))
        assert not torch.equal(order, torch.arange(256))
    assert not torch.equal(orders[0], orders[1])


class _FirstBatches(Callback):
    """Record the last token column of each epoch's first training batch."""

    def __init__(self):
        self.seen = []

    def on_epoch_begin(self, net, **kwargs):
        self._first = True

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training and self._first:
            self.seen.append(batch[0]["tokens"][:, -1].clone())
            self._first = False


def test_training_calls_that_go_on_draw_new_batch_orders(mrl):
    # Each partial_fit, and each warm-start fit after the first, used to reseed torch with
    # seed_ and so replay the previous call's batch orders and dropout masks.
    X, y = mrl
    X, y = X[:64], y[:64]
    record = _FirstBatches()
    pipe = tiny_pipeline(max_epochs=1, valid_fraction=0, callbacks=[("rec", record)])
    pipe.fit(X, y)
    inputs = pipe[0].transform(X)
    for _ in range(2):
        pipe[-1].partial_fit(inputs, y)
    warm = _FirstBatches()
    params = {"max_epochs": 1, "valid_fraction": 0, "warm_start": True}
    tiny_pipeline(**params, callbacks=[("rec", warm)]).fit(X, y).fit(X, y).fit(X, y)
    for seen in (record.seen, warm.seen):
        assert len(seen) == 3
        assert not any(torch.equal(a, b) for a, b in itertools.combinations(seen, 2))
    # and repeatable: the same calls draw the same orders
    again = _FirstBatches()
    tiny_pipeline(**params, callbacks=[("rec", again)]).fit(X, y).fit(X, y).fit(X, y)
    assert all(torch.equal(a, b) for a, b in zip(again.seen, warm.seen, strict=True))


def test_callbacks_set_on_a_fitted_net_run_when_training_goes_on(mrl):
    # skorch rebuilt callbacks_ before storing the new list: partial_fit and warm starts,
    # which do not rebuild them, ran the old callbacks.
    X, y = mrl
    X, y = X[:64], y[:64]
    pipe = tiny_pipeline(max_epochs=1, valid_fraction=0).fit(X, y)
    inputs = pipe[0].transform(X)
    record = _FirstBatches()
    pipe[-1].set_params(callbacks=[("rec", record)]).partial_fit(inputs, y)
    assert len(record.seen) == 1
    pipe.set_params(model__warm_start=True).fit(X, y)
    assert len(record.seen) == 2


def test_pickle_leaves_the_lr_scheduler_out(mrl):
    # The scheduler holds the optimizer and with it every parameter; skorch pickled it with
    # the callbacks, apart from the device-mapped weights: the file held the weights twice
    # and, trained on a GPU, could not be loaded on a CPU-only machine.
    X, y = mrl
    pipe = tiny_pipeline(lr_schedule="onecycle").fit(X, y)
    net = pipe[-1]
    assert dict(net.callbacks_)["lr_schedule"].lr_scheduler_ is not None  # the live net keeps it

    class NoTensors(pickle.Pickler):
        def reducer_override(self, obj):
            assert not isinstance(obj, torch.Tensor), "callbacks pickle a tensor"
            return NotImplemented

    NoTensors(io.BytesIO()).dump(net.__getstate__()["callbacks_"])
    loaded = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(loaded.predict(X[:20]), pipe.predict(X[:20]))
    loaded.set_params(model__warm_start=True).fit(X, y)  # builds its schedule anew
    assert len(loaded[-1].history_) == 2 * TINY["max_epochs"]


def test_warm_start_on_data_of_other_sizes_is_refused(mrl):
    X, y = mrl
    y = np.asarray(y)
    pipe = tiny_pipeline().fit(X, np.c_[y, y])
    before = pipe.predict(X[:10])
    with pytest.raises(ValueError, match=r"warm_start=True.*n_outputs 2 -> 1"):
        pipe.set_params(model__warm_start=True).fit(X, y)
    np.testing.assert_array_equal(pipe.predict(X[:10]), before)
    assert pipe[-1].n_outputs_ == 2
    pipe.fit(X, np.c_[y, 2 * y])  # same sizes: training goes on
    assert len(pipe[-1].history_) == 2 * TINY["max_epochs"]


def test_random_state_repeatable_and_global_state_untouched(mrl):
    X, y = mrl
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global state)
    a = tiny_pipeline(random_state=1).fit(X, y).predict(X[:20])
    b = tiny_pipeline(random_state=1).fit(X, y).predict(X[:20])
    c = tiny_pipeline(random_state=2).fit(X, y).predict(X[:20])
    np.testing.assert_array_equal(a, b)
    # fit and predict leave the caller's global generators where they were
    assert not np.allclose(a, c)
    assert torch.equal(torch_state, torch.get_rng_state())
    np.testing.assert_array_equal(np_state, np.random.get_state()[1])  # noqa: NPY002


def test_partial_fit_fits_first_then_takes_the_fitted_inputs_only(mrl, tmp_path):
    # scikit-learn's convention: the first partial_fit builds the model, as fit does;
    # later calls train it further and refuse inputs of another layout.
    X, y = mrl
    X, y = X[:60], y[:60]
    pipe = make_dynapro_pipeline(**TINY)
    encoded = pipe[0].fit_transform(X)
    first = clone(pipe[-1]).partial_fit(encoded, y)
    np.testing.assert_array_equal(first.predict(encoded), pipe.fit(X, y)[-1].predict(encoded))
    first.partial_fit(encoded, y)
    assert len(first.history_) == 2 * TINY["max_epochs"]
    # Its first call is no checkpointed fit: the checkpoint's name does not record epochs=,
    # so rerunning the same script would resume and add epochs on every run.
    for _ in range(2):
        again = clone(pipe[-1]).set_params(checkpoint_dir=tmp_path)
        again.partial_fit(encoded, y, epochs=1)
        assert len(again.history_) == 1 and again.resumed_from_epoch_ == 0
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"X has 0 features columns .* fitted with \d+"):
        first.partial_fit({"tokens": encoded["tokens"]}, y)
    fewer = {**encoded, "features": encoded["features"][:, :3]}
    with pytest.raises(ValueError, match=r"X has 3 features columns"):
        first.partial_fit(fewer, y)


def test_numpy_integers_from_a_grid_train(mrl):
    # torch's BatchSampler and OneCycleLR take built-in ints only; np.arange grids give numpy.
    X, y = mrl
    params = {"batch_size": np.int64(64), "max_epochs": np.int64(2), "lr_schedule": "onecycle"}
    pipe = tiny_pipeline(**params).fit(X[:100], y[:100])
    expected = tiny_pipeline(batch_size=64, max_epochs=2, lr_schedule="onecycle").fit(
        X[:100], y[:100]
    )
    np.testing.assert_array_equal(pipe.predict(X[:20]), expected.predict(X[:20]))


def test_set_params_on_a_fitted_net_applies_to_the_next_training_call(mrl):
    X, y = mrl
    pipe = tiny_pipeline(optimizer=torch.optim.SGD, lr_schedule=None).fit(X[:100], y[:100])
    net = pipe[-1].set_params(warm_start=True)
    encoded = pipe[0].transform(X[:100])
    torch.manual_seed(0)
    state = torch.get_rng_state()
    net.set_params(weight_decay=0.5, momentum=0.0, lr=1e-2, patience=1, valid_fraction=0.2)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's generator is left alone
    (group,) = net.optimizer_.param_groups
    assert (group["weight_decay"], group["momentum"], group["lr"]) == (0.5, 0.0, 1e-2)
    net.partial_fit(encoded, y[:100])
    assert "valid_loss" in net.history_[-1] and dict(net.callbacks_)["early_stopping"].patience == 1
    # Without the split, early stopping goes too (it watched a loss no longer recorded).
    net.set_params(valid_fraction=0.0)
    pipe.fit(X[:100], y[:100])
    assert "early_stopping" not in dict(net.callbacks_) and "valid_loss" not in net.history_[-1]
    # A module change on a fitted net rebuilds it (skorch) from the fit's seed, leaving
    # the caller's generator alone.
    torch.manual_seed(1)
    state = torch.get_rng_state()
    a, b = (copy.deepcopy(net).set_params(module__ffn_dim=8) for _ in range(2))
    assert torch.equal(torch.get_rng_state(), state)
    right = b.module_.state_dict()
    assert all(torch.equal(left, right[name]) for name, left in a.module_.state_dict().items())


def test_set_params_restarts_the_learning_rate_of_the_next_call(mrl):
    # The schedule of the last call leaves the optimizer's rate annealed to ~0 (cosine) or
    # at lr / 25 (one-cycle's start): a new rate or schedule starts from the rate set.
    X, y = mrl
    pipe = tiny_pipeline(lr_schedule="cosine", lr=1e-2).fit(X[:100], y[:100])
    net, encoded = pipe[-1], pipe[0].transform(X[:100])

    def rates():  # of the last call's two epochs
        batches = [b for epoch in net.history_[-2:] for b in epoch["batches"]]
        return [b["event_lr"] for b in batches if "event_lr" in b]

    net.set_params(lr_schedule=None).partial_fit(encoded, y[:100])
    assert net.history_[-1]["batches"][0].get("event_lr") is None
    assert net.optimizer_.param_groups[0]["lr"] == 1e-2  # not cosine's last rate
    net.set_params(lr_schedule="onecycle", lr=0.5).partial_fit(encoded, y[:100])
    assert 0.25 < max(rates()) <= 0.5  # one-cycle peaks at the new lr, not at 1e-2
    net.set_params(lr_schedule="cosine", optimizer__lr=0.2).partial_fit(encoded, y[:100])
    assert rates()[0] == pytest.approx(0.2)  # not one-cycle's 0.5 / 25
    # callbacks="disable" has no callbacks to rebuild.
    quiet = tiny_pipeline(callbacks="disable", valid_fraction=0.0).fit(X[:100], y[:100])
    quiet[-1].set_params(verbose=0, lr=1e-3)
    assert quiet[-1].callbacks_ == []


def test_a_refused_refit_keeps_the_fitted_model_and_its_history(mrl, tmp_path):
    X, y = mrl
    pipe = tiny_pipeline().fit(X[:100], y[:100])
    net, encoded = pipe[-1], pipe[0].transform(X[:100])
    expected, epochs = net.predict(encoded), len(net.history_)
    net.set_params(checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(FileNotFoundError, match="resume=True needs a checkpoint"):
        net.fit(encoded, y[:100] * 100)
    net.set_params(checkpoint_dir=None, resume="auto")
    bad = encoded["tokens"].copy()
    bad[0, -1] = 10**6
    with pytest.raises(ValueError, match=r"out-of-range ids at row \[0\]"):
        net.fit({"tokens": bad}, y[:100] * 100)
    assert len(net.history_) == epochs
    np.testing.assert_array_equal(net.predict(encoded), expected)


def test_warm_starts_keep_the_validation_split(mrl):
    # With random_state=None each fit from scratch draws a seed; a warm start keeps it, or
    # rows it validated on before would be trained on and early stopping judged on them.
    X, y = mrl
    pipe = tiny_pipeline(random_state=None, valid_fraction=0.25, warm_start=True)
    pipe.fit(X[:80], y[:80])
    seed = pipe[-1].seed_
    pipe.fit(X[:80], y[:80])
    assert pipe[-1].seed_ == seed and len(pipe[-1].history_) == 2 * TINY["max_epochs"]


def test_load_balancing_follows_its_weight(mrl):
    X, y = mrl
    X, y = X[:100], y[:100]
    weighted = tiny_pipeline(max_epochs=1).fit(X, y)[-1].module_
    unweighted = tiny_pipeline(max_epochs=1, aux_loss_weight=0).fit(X, y)[-1].module_
    forced = tiny_pipeline(max_epochs=1, aux_loss_weight=0, module__load_balancing=True)
    forced = forced.fit(X, y)[-1].module_
    assert weighted.load_balancing and weighted.aux_loss > 0
    assert not unweighted.load_balancing and unweighted.aux_loss == 0
    assert forced.load_balancing and forced.aux_loss > 0


def test_early_stopping_uses_a_validation_split(mrl):
    X, y = mrl
    # lr=0 keeps the validation loss flat: patience 1 stops training after epoch 2.
    pipe = tiny_pipeline(max_epochs=4, patience=1, valid_fraction=0.2, lr=0.0).fit(X, y)
    history = pipe[-1].history_
    assert len(history) == 2 and "valid_loss" in history[-1]
    # The split is carved from the training rows: 80 of 400 score each epoch.
    batches = history[0]["batches"]
    assert sum(b["train_batch_size"] for b in batches if "train_batch_size" in b) == 320
    assert sum(b["valid_batch_size"] for b in batches if "valid_batch_size" in b) == 80


class _SplitRows(Callback):
    """Record which rows each epoch trains and validates on, read from ``y = row index``."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.rows = {True: set(), False: set()}

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        y_std = batch[1].numpy().ravel().astype(np.float64)
        rows = np.rint(y_std * net.y_scale_[0] + net.y_mean_[0]).astype(int)
        self.rows[training].update(rows.tolist())


@pytest.fixture(scope="module")
def te_windows():
    X, _ = load_cao2021_te(cell_line="HEK293", target="te")
    return X.iloc[:240].reset_index(drop=True)


def _split_transcripts(X, **fit_params):
    # The target is the row index, so the batches say which rows went where.
    record = _SplitRows()
    pipe = tiny_pipeline(max_epochs=1, valid_fraction=0.25, callbacks=[("rows", record)])
    pipe.fit(X, np.arange(len(X), dtype=float), **fit_params)
    transcripts = X["transcript_id"].to_numpy()
    train, valid = sorted(record.rows[True]), sorted(record.rows[False])
    assert sorted(train + valid) == list(range(len(X)))
    return set(transcripts[train]), set(transcripts[valid]), pipe


def test_groups_hold_whole_groups_out_for_early_stopping(te_windows):
    # Windows of one transcript share its labels: a row-wise split validated on windows
    # whose transcript also trains, so early stopping judged on rows it had nearly seen.
    X = te_windows
    train, valid, _ = _split_transcripts(X)
    assert train & valid
    train, valid, pipe = _split_transcripts(X, model__groups=X["transcript_id"])
    assert valid and not train & valid
    # valid_fraction is the share of transcripts held out
    assert len(valid) == int(np.ceil(0.25 * X["transcript_id"].nunique()))
    assert not hasattr(pipe[-1], "_split_groups_")  # nothing of the call stays behind
    # The seed fixes the split; renaming the groups does not move it.
    again = _split_transcripts(X, model__groups=X["transcript_id"].to_numpy())
    renamed = _split_transcripts(X, model__groups="t" + X["transcript_id"].astype(str))
    assert again[:2] == renamed[:2] == (train, valid)


def test_groups_reach_each_fold_through_cross_validate(te_windows):
    X = te_windows
    y = np.arange(len(X), dtype=float)
    groups = X["transcript_id"].to_numpy()
    cv = GroupKFold(2)
    scores = cross_val_score(
        tiny_pipeline(max_epochs=1), X, y, groups=groups, cv=cv, params={"model__groups": groups}
    )
    by_hand = []
    for train, test in cv.split(X, y, groups):
        pipe = tiny_pipeline(max_epochs=1)
        pipe.fit(X.iloc[train], y[train], model__groups=groups[train])
        by_hand.append(pipe.score(X.iloc[test], y[test]))
    np.testing.assert_allclose(scores, by_hand)
    # With scikit-learn's metadata routing, the estimator requests them instead.
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = tiny_pipeline(max_epochs=1)
        pipe[-1].set_fit_request(groups=True)
        routed = cross_val_score(pipe, X, y, cv=cv, params={"groups": groups})
    np.testing.assert_allclose(routed, by_hand)


def test_partial_fit_takes_groups(te_windows):
    X = te_windows
    y = np.arange(len(X), dtype=float)
    groups = X["transcript_id"].to_numpy()
    pipe = tiny_pipeline(max_epochs=1, valid_fraction=0.25).fit(X, y, model__groups=groups)
    record = _SplitRows()
    net = pipe[-1].set_params(callbacks=[("rows", record)])
    net.partial_fit(pipe[0].transform(X), y, groups=groups)
    train, valid = (set(groups[sorted(record.rows[flag])]) for flag in (True, False))
    assert valid and not train & valid


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        (lambda g: g[:-1], r"one label per row \(240\), got 239"),
        (lambda g: np.where(np.arange(len(g)) == 3, None, g), r"missing values at row \[3\]"),
        (lambda g: np.zeros(len(g)), "at least 2 distinct labels"),
        (lambda g: np.stack([g, g], axis=1), "must be 1-D"),
        (lambda g: "t1", "single str"),
    ],
)
def test_bad_groups_are_refused_before_training(te_windows, groups, match):
    X = te_windows
    labels = X["transcript_id"].to_numpy().astype(object)
    pipe = tiny_pipeline(max_epochs=1)
    with pytest.raises(ValueError, match=match):
        pipe.fit(X, np.arange(len(X), dtype=float), model__groups=groups(labels))
    assert not hasattr(pipe[-1], "module_")


def test_one_group_is_fine_when_nothing_is_held_out(te_windows):
    X = te_windows
    pipe = tiny_pipeline(max_epochs=1, valid_fraction=0)
    pipe.fit(X, np.arange(len(X), dtype=float), model__groups=np.zeros(len(X)))
    assert len(pipe[-1].history_) == 1


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_every_training_call_runs_its_own_lr_schedule(mrl, schedule):
    # skorch continues a schedule from the epochs in history: a one-cycle schedule then
    # overran its steps on partial_fit or a warm-start fit, and cosine stayed at ~0.
    X, y = mrl
    pipe = tiny_pipeline(lr_schedule=schedule, lr=1e-2, valid_fraction=0.25, patience=0)
    pipe.fit(X, y)
    net = pipe[-1]
    encoded = pipe[:-1].transform(X[:200])
    net.partial_fit(encoded, y[:200], epochs=3)  # a smaller set, more epochs than fit
    pipe.set_params(model__warm_start=True).fit(X, y)

    def lrs(epochs):
        batches = [batch for epoch in epochs for batch in epoch["batches"]]
        return [batch["event_lr"] for batch in batches if "event_lr" in batch]  # training

    calls = [lrs(net.history_[:2]), lrs(net.history_[2:5]), lrs(net.history_[5:])]
    # 300 and 150 training rows in batches of 64: 5 and 3 batches an epoch.
    assert [len(c) for c in calls] == [10, 9, 10]
    for call in calls:
        assert call[0] < 1e-2 if schedule == "onecycle" else call[0] == pytest.approx(1e-2)
        assert max(call) == pytest.approx(1e-2, rel=0.1)
        assert call[-1] < 1e-3


def test_two_targets_give_two_columns():
    X, y = load_cao2021_te(cell_line="HEK293", target="both")
    X, y = X.iloc[:300], y.iloc[:300]
    pipe = tiny_pipeline(max_len=101, max_epochs=4).fit(X, y)
    pred = pipe.predict(X)
    assert pred.shape == (300, 2)
    # One output per target, each following its own column (not one copied to both).
    assert not np.allclose(pred[:, 0], pred[:, 1])
    for j in range(2):
        own = np.corrcoef(pred[:, j], y.iloc[:, j])[0, 1]
        other = np.corrcoef(pred[:, j], y.iloc[:, 1 - j])[0, 1]
        assert own > other


def test_library_column_and_unknown_label():
    X50, y50 = load_mpra_random50(as_frame=True)
    Xv, yv = load_mpra_varlen_random(as_frame=True)
    X = pd.concat([X50.iloc[:150], Xv.iloc[:150]], ignore_index=True)
    y = np.concatenate([y50.to_numpy()[:150], yv.to_numpy()[:150]])
    pipe = tiny_pipeline(library_column="library", max_len=100).fit(X, y)
    assert pipe[-1].module_.n_libraries == 2
    assert pipe.predict(X.iloc[:5]).shape == (5,)
    bad = X.iloc[:3].copy()
    bad.loc[1, "library"] = "unseen"
    with pytest.raises(ValueError, match=r"'unseen' at row \[1\]"):
        pipe.predict(bad)


def test_features_reach_the_network(mrl):
    X, y = mrl
    pipe = make_dynapro_pipeline(**TINY).fit(X, y)
    assert pipe[-1].module_.n_features == pipe[0].n_features_ > 10
    encoded = pipe[0].transform(X[:50])
    shifted = {**encoded, "features": encoded["features"] + 1.0}
    assert not np.allclose(pipe[-1].predict(shifted), pipe[-1].predict(encoded))


@pytest.mark.parametrize(
    ("X_bad", "y_bad", "message"),
    [
        (["ACGT", "AC&T", "GGGG"], [1.0, 2.0, 3.0], r"invalid characters '&' at row \[1\]"),
        (["ACGT", "", "GGGG"], [1.0, 2.0, 3.0], r"empty sequence at row \[1\]"),
        (["ACGT", "ACGA", "GGGG"], [1.0, np.nan, 3.0], r"NaN or infinite values at row \[1\]"),
        (["ACGT", "ACGA", "GGGG"], [1.0, 2.0], "got 3 sequences and 2 targets"),
    ],
)
def test_bad_input_is_a_clear_value_error(X_bad, y_bad, message):
    with pytest.raises(ValueError, match=message):
        tiny_pipeline().fit(X_bad, y_bad)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        # Each of these trained anyway or failed deep inside skorch before fit checked them.
        ({"max_epochs": 0}, r"'max_epochs' parameter of DynaProRegressor must be an int"),
        ({"patience": -1}, r"'patience' parameter .* range \[0, inf\)\. Got -1 instead"),
        ({"amp": "yes"}, r"'amp' parameter .* Got 'yes' instead"),
        ({"device": "tpu"}, r"'device' parameter .* torch device such as 'cpu'.*Got 'tpu'"),
        ({"standardize_target": 1}, r"'standardize_target' parameter .* Got 1 instead"),
    ],
)
def test_bad_parameters_are_named_before_training(mrl, params, message):
    X, y = mrl
    pipe = tiny_pipeline(**params)
    with pytest.raises(ValueError, match=message):
        pipe.fit(X[:20], y[:20])
    fitted = tiny_pipeline(max_epochs=1).fit(X[:20], y[:20])
    fitted[-1].set_params(**params)
    with pytest.raises(ValueError, match=message):
        fitted[-1].partial_fit(fitted[0].transform(X[:20]), y[:20])


def test_standardize_target_is_a_parameter(mrl):
    # DESIGN lists the standardised target among the training defaults, each a parameter.
    X, y = mrl
    scaled = tiny_pipeline().fit(X, y)
    np.testing.assert_allclose(scaled[-1].y_mean_, [y.mean()])
    np.testing.assert_allclose(scaled[-1].y_scale_, [y.std()])
    raw = tiny_pipeline(standardize_target=False).fit(X, y)
    assert raw[-1].y_mean_.tolist() == [0.0] and raw[-1].y_scale_.tolist() == [1.0]
    # Same seed, same batches: only the target's scale differs, so the training losses do.
    assert raw[-1].history_[0, "train_loss"] != scaled[-1].history_[0, "train_loss"]
    pred = raw.predict(X[:20])
    assert pred.shape == (20,) and np.isfinite(pred).all()
    # partial_fit goes on on the raw scale too.
    raw[-1].partial_fit(raw[0].transform(X[:50]), y[:50])
    assert raw[-1].y_mean_.tolist() == [0.0]


def test_prediction_input_checks(mrl):
    X, y = mrl
    pipe = tiny_pipeline().fit(X, y)
    with pytest.raises(ValueError, match=r"longer than max_len=50 .* at row \[1\]"):
        pipe.predict(["ACGT", "A" * 60])
    with pytest.raises(TypeError, match="pass a list"):
        pipe.predict("ACGT")
    with pytest.raises(ValueError, match="at least one sample to predict, got 0 rows"):
        pipe[-1].predict(pipe[0].transform(X[:3])["tokens"][:0])
    with pytest.raises(ValueError, match="tokens must be an integer array"):
        pipe[-1].predict(np.zeros((2, 50), dtype=np.float32))


def test_tokens_outside_the_vocabulary_are_named_by_fit(mrl):
    # make_dynapro_pipeline sizes the vocabulary from k when it builds the pipeline; a grid
    # over encode__k alone used to fail inside the network without naming rows.
    X, y = mrl
    pipe = tiny_pipeline().set_params(encode__k=3)
    with pytest.raises(ValueError, match=r"out-of-range ids at rows \[0, 1, 2, .*encode__k"):
        pipe.fit(X, y)
    pipe.set_params(model__module__vocab_size=pipe[0].fit(X[:5]).vocab_size_).fit(X, y)
    # A refit refused so stays the model it was: not a new network with the new scaling.
    net = pipe[-1]
    encoded = pipe[0].transform(X[:20])
    expected, mean = net.predict(encoded), net.y_mean_
    bad = encoded["tokens"].copy()
    bad[0, -1] = 10**6
    with pytest.raises(ValueError, match=r"out-of-range ids at row \[0\]"):
        net.fit({**encoded, "tokens": bad}, y[:20] * 100)
    assert net.y_mean_ == mean
    np.testing.assert_array_equal(net.predict(encoded), expected)


def test_amp_without_cuda_warns(mrl):
    if torch.cuda.is_available():
        pytest.skip("this checks the CPU fallback")
    X, y = mrl
    with pytest.warns(UserWarning, match="amp=True needs a CUDA device"):
        tiny_pipeline(amp=True, max_epochs=1).fit(X[:100], y[:100])


#: Checks skorch's NeuralNet fails by design, with the reason; each is asserted to fail that way.
EXPECTED_FAILURES = {
    # NeuralNet.__init__ sets three bookkeeping attributes; our subclass adds nothing else.
    "check_no_attributes_set_in_init": (
        AssertionError,
        "'history_', 'initialized_', 'virtual_params_'",
    ),
    # NeuralNet keeps a private set `_params_to_validate` that sklearn lists as a parameter
    # (no trailing underscore); the check overwrites it with a float.
    "check_set_params": (AttributeError, "'float' object has no attribute 'add'"),
}


@pytest.mark.parametrize("estimator", [DynaProRegressor(), DynaProEncoder()])
@pytest.mark.parametrize(
    "check",
    [
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
        check_parameters_default_constructible,
    ],
)
def test_data_free_sklearn_checks(estimator, check):
    expected = EXPECTED_FAILURES.get(check.__name__)
    if isinstance(estimator, DynaProRegressor) and expected is not None:
        error, message = expected
        with pytest.raises(error, match=message), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            check(type(estimator).__name__, estimator)
        return
    check(type(estimator).__name__, estimator)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_training_with_amp_loads_on_cpu(mrl, tmp_path):
    X, y = mrl
    pipe = tiny_pipeline(device="cuda", amp=True, lr_schedule="onecycle").fit(X, y)
    path = tmp_path / "gpu.joblib"
    joblib.dump(pipe, path)
    # The reference in float32, as a CPU predicts: bf16 autocast differs by about 1e-2.
    np.save(tmp_path / "expected.npy", pipe.set_params(model__amp=False).predict(X[:10]))
    _predict_where_no_gpu_is_visible(path, tmp_path / "expected.npy", X[:10])


def _predict_where_no_gpu_is_visible(path, expected, X):
    """Load the joblib file at ``path`` in a process that sees no GPU, and check it predicts."""
    script = (
        "import sys, joblib, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "pipe = joblib.load(sys.argv[1])  # skorch maps the CUDA weights to the CPU\n"
        "net = pipe[-1]\n"
        "assert str(net.device) == 'cpu' and next(net.module_.parameters()).is_cpu\n"
        "pred = pipe.predict(list(sys.argv[3:]))\n"
        "np.testing.assert_allclose(pred, np.load(sys.argv[2]), rtol=1e-4, atol=1e-5)\n"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    args = [sys.executable, "-W", "ignore", "-c", script, str(path), str(expected), *X]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_a_model_saved_as_on_a_gpu_loads_where_there_is_none(mrl, tmp_path):
    # Without a GPU here, the stand-in for test_gpu_training_with_amp_loads_on_cpu: a net
    # whose device says "cuda" when pickled, as one trained on a GPU, loads onto the CPU.
    X, y = mrl
    pipe = tiny_pipeline(lr_schedule="onecycle").fit(X, y)
    np.save(tmp_path / "expected.npy", pipe.predict(X[:10]))
    pipe[-1].device = "cuda"
    joblib.dump(pipe, tmp_path / "gpu.joblib")
    _predict_where_no_gpu_is_visible(tmp_path / "gpu.joblib", tmp_path / "expected.npy", X[:10])
