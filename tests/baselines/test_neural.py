"""The neural baselines (Optimus 5-Prime, FramePool, MTtrans) in scikit-learn workflows."""

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)
from skorch.callbacks import Callback

from sklearn_dynapro.baselines import (
    FramePoolRegressor,
    MTtransRegressor,
    OptimusRegressor,
    SequenceLibraryEncoder,
    make_framepool_pipeline,
    make_mttrans_pipeline,
    make_optimus_pipeline,
)
from sklearn_dynapro.datasets import (
    load_cao2021_te,
    load_mpra_random50,
    load_mpra_varlen_random,
)

pytestmark = pytest.mark.usefixtures("one_thread")

COMMON = {"max_epochs": 2, "batch_size": 64, "lr": 3e-3, "random_state": 0}

#: name -> (factory, tiny network, one grid parameter and its values, the module attribute
#: the grid parameter sets)
SPECS = {
    "optimus": (
        make_optimus_pipeline,
        {"module__n_filters": 4, "module__dense_dim": 4},
        ("model__module__n_filters", [2, 4]),
        "n_filters",
    ),
    "framepool": (
        make_framepool_pipeline,
        {"module__n_filters": 4, "module__dense_dim": 4},
        ("model__module__n_filters", [2, 4]),
        "n_filters",
    ),
    "mttrans": (
        make_mttrans_pipeline,
        {"module__conv_channels": (4, 4, 4, 4), "module__tower_hidden": 4},
        ("model__module__tower_hidden", [2, 4]),
        "tower_hidden",
    ),
}
NAMES = list(SPECS)


def tiny_pipeline(name: str, **params):
    make, network, _, _ = SPECS[name]
    return make(**{**COMMON, **network, **params})


@pytest.fixture(scope="module")
def mrl():
    X, y = load_mpra_random50()
    return X[:300], y[:300]


@pytest.fixture(scope="module")
def mixed():
    """150 random-50 and 150 variable-length UTRs, with their library labels."""
    X50, y50 = load_mpra_random50(as_frame=True)
    Xv, yv = load_mpra_varlen_random(as_frame=True)
    X = pd.concat([X50.iloc[:150], Xv.iloc[:150]], ignore_index=True)
    y = np.concatenate([y50.to_numpy()[:150], yv.to_numpy()[:150]])
    return X, y


@pytest.fixture(scope="module", params=NAMES)
def fitted(request, mrl):
    X, y = mrl
    torch.set_num_threads(1)
    return request.param, tiny_pipeline(request.param).fit(X, y)


# ----------------------------------------------------------------------- the workflow
def test_predicts_one_value_per_input_in_order(fitted, mrl):
    _, pipe = fitted
    X, _ = mrl
    pred = pipe.predict(X[:50])
    assert pred.shape == (50,) and pred.dtype == np.float64
    np.testing.assert_allclose(pipe.predict(X[:50][::-1]), pred[::-1], rtol=1e-5, atol=1e-6)
    assert len(pipe[-1].history_) == COMMON["max_epochs"]


class _ValidRows(Callback):
    """Record the rows each validation pass scores, read from ``y = row index``."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.rows = set()

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            y_std = batch[1].numpy().ravel().astype(np.float64)
            self.rows.update(np.rint(y_std * net.y_scale_[0] + net.y_mean_[0]).astype(int))


@pytest.mark.parametrize("name", NAMES)
def test_groups_hold_whole_groups_out_for_early_stopping(name):
    X, _ = load_cao2021_te(cell_line="PC3", target="te")
    X = X.iloc[:120].reset_index(drop=True)
    transcripts = X["transcript_id"].to_numpy()
    record = _ValidRows()
    pipe = tiny_pipeline(name, max_epochs=1, valid_fraction=0.25, callbacks=[("rows", record)])
    pipe.fit(X, np.arange(len(X), dtype=float), model__groups=transcripts)
    held_out = set(transcripts[sorted(record.rows)])
    assert held_out and np.isin(transcripts, list(held_out)).sum() == len(record.rows)


@pytest.mark.parametrize("name", NAMES)
def test_cross_val_score_and_grid_search(name, mrl):
    X, y = mrl
    cv = KFold(2, shuffle=True, random_state=0)
    scores = cross_val_score(tiny_pipeline(name), X, y, cv=cv)
    assert scores.shape == (2,) and np.isfinite(scores).all()
    key, values, attribute = SPECS[name][2][0], SPECS[name][2][1], SPECS[name][3]
    grid = GridSearchCV(tiny_pipeline(name, max_epochs=1), {key: values}, cv=cv).fit(X, y)
    assert getattr(grid.best_estimator_[-1].module_, attribute) == grid.best_params_[key]


def test_clone_and_joblib_round_trip(fitted, mrl, tmp_path):
    name, pipe = fitted
    X, _ = mrl
    copy = clone(pipe)
    assert copy.get_params()["model__random_state"] == 0
    assert not hasattr(copy[-1], "module_")
    path = tmp_path / f"{name}.joblib"
    joblib.dump(pipe, path)
    np.testing.assert_array_equal(joblib.load(path).predict(X[:64]), pipe.predict(X[:64]))


@pytest.mark.parametrize("name", NAMES)
def test_random_state_repeatable_and_global_state_untouched(name, mrl):
    X, y = mrl
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global state)
    a = tiny_pipeline(name, random_state=1).fit(X, y).predict(X[:20])
    b = tiny_pipeline(name, random_state=1).fit(X, y).predict(X[:20])
    c = tiny_pipeline(name, random_state=2).fit(X, y).predict(X[:20])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert torch.equal(torch_state, torch.get_rng_state())
    np.testing.assert_array_equal(np_state, np.random.get_state()[1])  # noqa: NPY002


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("X_bad", "y_bad", "message"),
    [
        (["ACGT", "AC&T", "GGGG"], [1.0, 2.0, 3.0], r"invalid characters '&' at row \[1\]"),
        (["ACGT", "ACGA", "GGGG"], [1.0, np.nan, 3.0], r"NaN or infinite values at row \[1\]"),
        (["ACGT", "ACGA", "GGGG"], [1.0, 2.0], "got 3 sequences and 2 targets"),
    ],
)
def test_bad_input_is_a_clear_value_error(name, X_bad, y_bad, message):
    with pytest.raises(ValueError, match=message):
        tiny_pipeline(name).fit(X_bad, y_bad)


def test_prediction_input_checks(fitted):
    name, pipe = fitted
    with pytest.raises(TypeError, match="pass a list"):
        pipe.predict("ACGT")
    with pytest.raises(ValueError, match=r"longer than max_len=50 .* at row \[1\]"):
        pipe.predict(["ACGT", "A" * 60])
    factory = SPECS[name][0].__name__
    with pytest.raises(TypeError, match=f"use {factory}\\(\\) to predict from raw sequences"):
        pipe[-1].predict(np.array(["ACGT", "GGCA"], dtype=object))


@pytest.mark.parametrize("name", NAMES)
def test_learns_something(name):
    X, y = load_mpra_random50()
    make, _, _, _ = SPECS[name]
    network = {
        "optimus": {"module__n_filters": 32, "module__dense_dim": 32},
        "framepool": {"module__n_filters": 32, "module__dense_dim": 32},
        "mttrans": {"module__conv_channels": (32, 32, 32, 32), "module__tower_hidden": 32},
    }[name]
    pipe = make(max_epochs=4, batch_size=32, lr=3e-3, valid_fraction=0, random_state=0, **network)
    pipe.fit(X[:1500], y[:1500])
    assert r2_score(y[1500:1800], pipe.predict(X[1500:1800])) > 0.2


# ---------------------------------------------------------------------- per model
def test_optimus_is_fixed_length(mrl):
    X, y = mrl
    pipe = tiny_pipeline("optimus").fit(X, y)
    assert pipe[-1].seq_len_ == 50 and pipe[-1].module_.seq_len == 50
    # Shorter sequences are 5'-padded; longer ones are cut when asked.
    assert pipe.predict(["ACGT"]).shape == (1,)
    cut = tiny_pipeline("optimus", truncate=True).fit(X, y)
    with pytest.warns(UserWarning, match="5' ends were cut off"):
        long_pred = cut.predict(["GG" * 5 + X[0]])
    np.testing.assert_allclose(long_pred, cut.predict([X[0]]))
    with pytest.raises(ValueError, match=r"X must have 50 positions, .* got 40"):
        pipe[-1].predict(np.zeros((2, 4, 40), dtype=np.float32))


@pytest.mark.parametrize("name", ["framepool", "mttrans"])
def test_libraries_and_unknown_label(name, mixed):
    X, y = mixed
    params = {"library_column": "library"} if name == "framepool" else {}
    pipe = tiny_pipeline(name, **params).fit(X, y)
    assert pipe[-1].n_libraries_ == 2
    if name == "framepool":
        assert pipe[-1].library_scaling and pipe[-1].module_.library_scale is not None
    else:
        assert len(pipe[-1].module_.towers) == 2
    assert pipe.predict(X.iloc[::-1]).shape == (300,)
    bad = X.iloc[:3].copy()
    bad.loc[1, "library"] = "unseen"
    with pytest.raises(ValueError, match=r"got 'unseen' at row \[1\]"):
        pipe.predict(bad)
    encoded = pipe[0].transform(X.iloc[:4])
    encoded["library"] = np.array([0, 1, 2, 2])
    with pytest.raises(ValueError, match=r"libraries seen in fit .* got 2 at rows \[2, 3\]"):
        pipe[-1].predict(encoded)
    # Without the library a multi-library model cannot say whose scale or tower to use
    # (MTtrans had sent every row to library 0's tower).
    del encoded["library"]
    with pytest.raises(ValueError, match="X must hold a 'library' array"):
        pipe[-1].predict(encoded)
    # A None entry is a missing one (MTtrans had let it through to library 0's tower).
    encoded["library"] = None
    with pytest.raises(ValueError, match="X must hold a 'library' array"):
        pipe[-1].predict(encoded)
    # The fitted layout holds until the next fit, whatever set_params says meanwhile.
    if name == "framepool":
        expected = pipe.predict(X.iloc[:10])
        pipe[-1].set_params(library_scaling=False)
        np.testing.assert_array_equal(pipe.predict(X.iloc[:10]), expected)


def test_framepool_takes_any_length(mixed):
    X, y = mixed
    pipe = tiny_pipeline("framepool", max_len=130).fit(X, y)
    assert not pipe[-1].library_scaling and pipe[-1].module_.library_scale is None
    long = "ACGT" * 30 + X["sequence"].iloc[0][-10:]
    assert np.isfinite(pipe.predict([long])).all()
    # The padded width does not matter to the network, only the bases.
    wide = SequenceLibraryEncoder(max_len=200).fit(X).transform(X.iloc[:20])
    assert wide["onehot"].shape == (20, 4, 200)
    np.testing.assert_allclose(pipe[-1].predict(wide), pipe.predict(X.iloc[:20]), rtol=1e-5)


def test_mttrans_training_batches_hold_one_library(mixed):
    X, y = mixed
    pipe = tiny_pipeline("mttrans", max_epochs=1, batch_size=32).fit(X, y)
    model = pipe[-1]
    data = model._check_inputs(pipe[0].transform(X))
    dataset = torch.utils.data.Subset(model.get_dataset(data), np.arange(0, 300, 2))
    batches = list(model.get_iterator(dataset, training=True))
    seen = np.concatenate([b[0]["library"].numpy() for b in batches])
    assert all(len(np.unique(b[0]["library"].numpy())) == 1 for b in batches)
    assert sorted(np.bincount(seen).tolist()) == [75, 75]
    assert len(batches) == 2 * 3  # ceil(75 / 32) batches per library
    # Prediction batches keep the input order and may mix libraries.
    first = next(iter(model.get_iterator(model.get_dataset(data), training=False)))
    np.testing.assert_array_equal(first[0]["library"].numpy(), data["library"][:32])


def test_mttrans_one_cycle_schedule_counts_per_library_batches(mixed):
    # Batches of one library each outnumber ceil(rows / batch_size); a schedule sized by the
    # latter ran out of steps in the last epoch.
    X, y = mixed
    pipe = tiny_pipeline("mttrans", lr_schedule="onecycle", batch_size=64).fit(X, y)
    lrs = [b["event_lr"] for e in pipe[-1].history_ for b in e["batches"] if "event_lr" in b]
    scheduler = dict(pipe[-1].callbacks_)["lr_schedule"]
    assert len(lrs) == scheduler.total_steps > 2 * int(np.ceil(270 / 64))
    assert max(lrs) == pytest.approx(3e-3, rel=0.05) and lrs[-1] < 1e-5


def test_mttrans_plain_sequences_are_one_library(mrl):
    X, y = mrl
    pipe = tiny_pipeline("mttrans").fit(X, y)
    assert pipe[0].libraries_ is None and pipe[-1].n_libraries_ == 1
    assert len(pipe[-1].module_.towers) == 1


# ---------------------------------------------------------------- scikit-learn checks
#: Checks skorch's NeuralNet fails by design, with the reason; each is asserted to fail that way.
EXPECTED_FAILURES = {
    # NeuralNet.__init__ sets three bookkeeping attributes; our subclasses add nothing else.
    "check_no_attributes_set_in_init": (
        AssertionError,
        "'history_', 'initialized_', 'virtual_params_'",
    ),
    # NeuralNet keeps a private set `_params_to_validate` that sklearn lists as a parameter
    # (no trailing underscore); the check overwrites it with a float.
    "check_set_params": (AttributeError, "'float' object has no attribute 'add'"),
}


@pytest.mark.parametrize(
    "estimator", [OptimusRegressor(), FramePoolRegressor(), MTtransRegressor()], ids=NAMES
)
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
    if expected is not None:
        error, message = expected
        with pytest.raises(error, match=message), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            check(type(estimator).__name__, estimator)
        return
    check(type(estimator).__name__, estimator)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", NAMES)
def test_gpu_training_with_amp_loads_on_cpu(name, mixed, tmp_path):
    X, y = mixed
    pipe = tiny_pipeline(name, device="cuda", amp=True).fit(X, y)
    path = tmp_path / "gpu.joblib"
    joblib.dump(pipe, path)
    loaded = joblib.load(path)
    loaded[-1].set_params(device="cpu")
    loaded[-1].module_.to("cpu")
    pred = loaded.predict(X.iloc[:10])
    assert np.isfinite(pred).all()
    np.testing.assert_allclose(pred, pipe.predict(X.iloc[:10]), rtol=0.05, atol=0.05)
