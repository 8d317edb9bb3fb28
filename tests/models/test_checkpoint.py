"""Per-epoch checkpoints: an interrupted or killed fit resumes where it stopped."""

import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_validate
from skorch.callbacks import Callback, LRScheduler

from sklearn_dynapro import DynaProRegressor, make_dynapro_pipeline
from sklearn_dynapro.baselines import (
    FramePoolRegressor,
    MTtransRegressor,
    OptimusRegressor,
    make_mttrans_pipeline,
)
from sklearn_dynapro.datasets import load_mpra_random50, load_mpra_varlen_random
from sklearn_dynapro.models._checkpoint import fingerprint, load_checkpoint

# Tiny network; the one-cycle schedule and AdamW make the resumed state non-trivial.
TINY = {
    "features": None,
    "module__d_model": 16,
    "module__n_layers": 1,
    "module__n_heads": 2,
    "module__ffn_dim": 16,
    "optimizer": torch.optim.AdamW,
    "lr": 3e-3,
    "lr_schedule": "onecycle",
    "max_epochs": 4,
    "batch_size": 64,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def mrl():
    X, y = load_mpra_random50()
    return X[:240], y[:240]


@pytest.fixture(scope="module")
def uninterrupted(mrl, tmp_path_factory):
    """Four epochs straight through, with and without a checkpoint folder."""
    X, y = mrl
    plain = make_dynapro_pipeline(**TINY).fit(X, y)
    folder = tmp_path_factory.mktemp("full")
    checkpointed = make_dynapro_pipeline(**TINY, checkpoint_dir=folder).fit(X, y)
    return plain, checkpointed, folder


class InterruptAtEpoch(Callback):
    """Press Ctrl-C as epoch ``epoch`` (1-based) begins."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


class RecordLearningRate(Callback):
    """Write the learning rate of the epoch just ended into the history."""

    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr_now", net.optimizer_.param_groups[0]["lr"])


def losses(pipeline):
    return [(row["train_loss"], row["valid_loss"]) for row in pipeline[-1].history]


def test_standardize_target_at_its_default_names_checkpoints_as_before():
    # The parameter came after checkpoints existed: at its default it leaves their names
    # unchanged, so they still resume; set otherwise it names another fit.
    data, y = {"tokens": np.zeros((4, 3), dtype=np.int64)}, np.arange(4.0)
    default = fingerprint(DynaProRegressor(), data, y)["params"]
    assert "standardize_target" not in default
    raw = fingerprint(DynaProRegressor(standardize_target=False), data, y)["params"]
    assert raw.pop("standardize_target") == "False" and raw == default


def test_checkpoints_change_nothing_and_mark_the_end(mrl, uninterrupted):
    X, _ = mrl
    plain, checkpointed, folder = uninterrupted
    np.testing.assert_array_equal(checkpointed.predict(X[:60]), plain.predict(X[:60]))
    assert losses(checkpointed) == losses(plain)
    # One file, named by the fit; no temporary file left over.
    (name,) = os.listdir(folder)
    assert re.fullmatch(r"checkpoint-[0-9a-f]{16}\.pt", name)
    state = load_checkpoint(folder)
    assert state["epoch"] == 4 and state["finished"] is True
    assert state["fingerprint"]["n_samples"] == len(X)
    assert "checkpoint_dir" not in state["fingerprint"]["params"]
    copy = pickle.loads(pickle.dumps(checkpointed))
    np.testing.assert_array_equal(copy.predict(X[:10]), plain.predict(X[:10]))


def test_interrupted_fit_resumes_to_the_uninterrupted_model(mrl, uninterrupted, tmp_path):
    X, y = mrl
    _, full, _ = uninterrupted
    stop = [("stop", InterruptAtEpoch(3))]
    interrupted = make_dynapro_pipeline(**TINY, checkpoint_dir=tmp_path, callbacks=stop)
    with pytest.warns(UserWarning, match="interrupted in epoch 3 of 4.*checkpoint of epoch 2"):
        interrupted.fit(X, y)  # skorch ends training on KeyboardInterrupt; the model is usable
    assert np.isfinite(interrupted.predict(X[:20])).all()
    state = load_checkpoint(tmp_path)
    assert (state["epoch"], state["finished"]) == (2, False)

    resumed = make_dynapro_pipeline(**TINY, checkpoint_dir=tmp_path).fit(X, y)
    assert resumed[-1].resumed_from_epoch_ == 2
    assert len(resumed[-1].history) == 4
    # Same schedule position, optimizer moments, early-stopping state and random stream.
    assert losses(resumed) == losses(full)
    np.testing.assert_allclose(resumed.predict(X[:60]), full.predict(X[:60]), rtol=0, atol=1e-6)
    assert load_checkpoint(tmp_path)["finished"] is True


def test_resumed_fit_keeps_what_the_users_callbacks_did(mrl, tmp_path):
    # The checkpoint is written after every callback (a user's scheduler and scorer too),
    # or it would keep their state and history entries one epoch out of date.
    X, y = mrl
    params = {**TINY, "lr_schedule": None, "valid_fraction": 0.0}

    def callbacks():
        return [
            ("halve", LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)),
            ("lr_now", RecordLearningRate()),
        ]

    full = make_dynapro_pipeline(**params, callbacks=callbacks()).fit(X, y)
    names = [name for name, _ in full[-1].callbacks_]
    assert "epoch_checkpoint" not in names
    stop = [*callbacks(), ("stop", InterruptAtEpoch(3))]
    with pytest.warns(UserWarning, match="interrupted in epoch 3"):
        make_dynapro_pipeline(**params, checkpoint_dir=tmp_path, callbacks=stop).fit(X, y)
    resumed = make_dynapro_pipeline(**params, checkpoint_dir=tmp_path, callbacks=callbacks())
    resumed.fit(X, y)
    names = [name for name, _ in resumed[-1].callbacks_]
    assert names[-2:] == ["epoch_checkpoint", "print_log"]
    assert resumed[-1].resumed_from_epoch_ == 2
    history, expected = resumed[-1].history, full[-1].history
    assert history[:, "lr_now"] == expected[:, "lr_now"] == [1.5e-3, 7.5e-4, 3.75e-4, 1.875e-4]
    assert history[:, "train_loss"] == expected[:, "train_loss"]
    np.testing.assert_array_equal(resumed.predict(X[:60]), full.predict(X[:60]))


def test_training_that_goes_on_leaves_the_checkpoints_alone(mrl, tmp_path):
    # A checkpoint is the fit from scratch that its name describes. partial_fit and a
    # warm-start fit go on from the model in memory: had they written there, a later fit
    # from scratch would "resume" a model trained on other data.
    X, y = mrl
    params = {**TINY, "max_epochs": 2, "checkpoint_dir": tmp_path}
    first = make_dynapro_pipeline(**params).fit(X[:120], y[:120])
    (path,) = tmp_path.iterdir()
    written = path.read_bytes()

    Xt = first[:-1].transform(X[120:])
    first[-1].partial_fit(Xt, y[120:])
    first[-1].set_params(warm_start=True).fit(Xt, y[120:])
    first[-1].set_params(checkpoint_dir=None).fit(Xt, y[120:])
    assert len(first[-1].history) == 8
    assert list(tmp_path.iterdir()) == [path] and path.read_bytes() == written

    again = make_dynapro_pipeline(**params).fit(X[:120], y[:120])
    assert again[-1].resumed_from_epoch_ == 2 and len(again[-1].history) == 2
    fresh = make_dynapro_pipeline(**params).fit(X[120:], y[120:])
    assert fresh[-1].resumed_from_epoch_ == 0


def test_mttrans_resumes_its_library_batch_order(tmp_path):
    # MTtrans shuffles batches with a generator of its own, made once per fit: the
    # checkpoint keeps its state, or a resumed fit would see other batches from epoch 3 on.
    X50, y50 = load_mpra_random50(as_frame=True)
    Xv, yv = load_mpra_varlen_random(as_frame=True)
    X = pd.concat([X50.iloc[:120], Xv.iloc[:120]], ignore_index=True)
    y = np.r_[y50.to_numpy()[:120], yv.to_numpy()[:120]]
    params = {"max_epochs": 4, "batch_size": 32, "valid_fraction": 0.0, "random_state": 0}
    params |= {"module__conv_channels": (4, 4, 4, 4), "module__tower_hidden": 4}
    full = make_mttrans_pipeline(**params).fit(X, y)
    stop = [("stop", InterruptAtEpoch(3))]
    with pytest.warns(UserWarning, match="interrupted in epoch 3"):
        make_mttrans_pipeline(**params, checkpoint_dir=tmp_path, callbacks=stop).fit(X, y)
    resumed = make_mttrans_pipeline(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert resumed[-1].resumed_from_epoch_ == 2
    assert [r["train_loss"] for r in resumed[-1].history] == [
        r["train_loss"] for r in full[-1].history
    ]
    np.testing.assert_array_equal(resumed.predict(X), full.predict(X))
    assert "_sampler_generator_" not in vars(resumed[-1])  # training state only


def test_finished_checkpoint_gives_the_model_back_without_training(mrl, tmp_path):
    X, y = mrl
    # lr=0 keeps the validation loss flat, so early stopping (patience 1) ends epoch 2.
    params = {**TINY, "lr_schedule": None, "lr": 0.0, "patience": 1, "max_epochs": 6}
    first = make_dynapro_pipeline(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert len(first[-1].history) == 2
    state = load_checkpoint(tmp_path)
    assert (state["epoch"], state["finished"]) == (2, True)
    again = make_dynapro_pipeline(**params, checkpoint_dir=tmp_path, resume=True).fit(X, y)
    assert again[-1].resumed_from_epoch_ == 2 and len(again[-1].history) == 2
    np.testing.assert_array_equal(again.predict(X[:30]), first.predict(X[:30]))


def test_mismatched_checkpoint_is_refused_or_replaced(mrl, uninterrupted, tmp_path):
    X, y = mrl
    _, _, folder = uninterrupted
    strict = {**TINY, "checkpoint_dir": folder, "resume": True}
    with pytest.raises(ValueError, match=r"of this fit.*written for 240 training samples, got 200"):
        make_dynapro_pipeline(**strict).fit(X[:200], y[:200])
    with pytest.raises(ValueError, match=r"different training data \(X, y or the groups"):
        make_dynapro_pipeline(**strict).fit(X, y[::-1])
    with pytest.raises(ValueError, match=r"other parameters: lr=0\.003 \(now 0\.01\)"):
        make_dynapro_pipeline(**{**strict, "lr": 1e-2}).fit(X, y)
    with pytest.raises(FileNotFoundError, match="resume=True needs a checkpoint"):
        make_dynapro_pipeline(**{**strict, "checkpoint_dir": tmp_path}).fit(X, y)
    assert os.listdir(tmp_path) == []

    # resume="auto" trains afresh on other data, in a file of its own beside the other fit's.
    (tmp_path / "other").mkdir()
    (original,) = folder.iterdir()
    copied = tmp_path / "other" / original.name
    copied.write_bytes(original.read_bytes())
    params = {**TINY, "max_epochs": 1, "checkpoint_dir": tmp_path / "other"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: no checkpoint was this fit's
        other = make_dynapro_pipeline(**params).fit(X[:200], y[:200])
    assert other[-1].resumed_from_epoch_ == 0
    assert len(os.listdir(tmp_path / "other")) == 2
    assert load_checkpoint(tmp_path / "other")["fingerprint"]["n_samples"] == 200  # newest
    assert load_checkpoint(copied)["fingerprint"]["n_samples"] == 240  # left alone
    again = make_dynapro_pipeline(**params).fit(X[:200], y[:200])
    assert again[-1].resumed_from_epoch_ == 1  # its own checkpoint, finished
    fresh = make_dynapro_pipeline(**params, resume=False).fit(X[:200], y[:200])
    assert fresh[-1].resumed_from_epoch_ == 0

    # A file named for this fit but written by another (copied by hand) is not resumed.
    (own,) = set((tmp_path / "other").iterdir()) - {copied}
    own.write_bytes(copied.read_bytes())
    with pytest.raises(ValueError, match=r"cannot be resumed: .*240 training samples, got 200"):
        make_dynapro_pipeline(**params, resume=True).fit(X[:200], y[:200])
    with pytest.warns(UserWarning, match=r"Not resuming .*240 training samples, got 200"):
        make_dynapro_pipeline(**params).fit(X[:200], y[:200])
    assert load_checkpoint(own)["fingerprint"]["n_samples"] == 200  # overwritten

    own.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="must be a training checkpoint"):
        make_dynapro_pipeline(**params, resume=True).fit(X[:200], y[:200])
    with pytest.warns(UserWarning, match="must be a training checkpoint.*from scratch"):
        make_dynapro_pipeline(**params).fit(X[:200], y[:200])


def test_groups_of_the_validation_split_name_the_checkpoint(mrl, tmp_path):
    # The groups move the early-stopping split, so a fit with other groups (or none) is
    # another fit: resuming it would mix two splits in one training run.
    X, y = mrl
    groups = np.arange(len(X)) // 4
    params = {**TINY, "max_epochs": 2, "checkpoint_dir": tmp_path}
    first = make_dynapro_pipeline(**params).fit(X, y, model__groups=groups)
    again = make_dynapro_pipeline(**params).fit(X, y, model__groups=groups)
    assert again[-1].resumed_from_epoch_ == 2
    np.testing.assert_array_equal(again.predict(X[:30]), first.predict(X[:30]))
    with pytest.raises(ValueError, match=r"different training data \(X, y or the groups"):
        make_dynapro_pipeline(**params, resume=True).fit(X, y)
    with pytest.raises(ValueError, match=r"different training data \(X, y or the groups"):
        make_dynapro_pipeline(**params, resume=True).fit(X, y, model__groups=groups // 2)
    # Labels that group the rows alike are the same split, whatever their names.
    renamed = make_dynapro_pipeline(**params, resume=True)
    assert renamed.fit(X, y, model__groups=groups + 100)[-1].resumed_from_epoch_ == 2


def test_cross_validation_folds_keep_and_resume_their_own_checkpoints(mrl, tmp_path):
    X, y = mrl
    pipe = make_dynapro_pipeline(**{**TINY, "max_epochs": 2}, checkpoint_dir=tmp_path)
    cv = KFold(3, shuffle=True, random_state=0)
    first = cross_validate(pipe, X, y, cv=cv, return_estimator=True)
    assert len(list(tmp_path.glob("checkpoint-*.pt"))) == 3  # one per fold, none overwritten
    assert [est[-1].resumed_from_epoch_ for est in first["estimator"]] == [0, 0, 0]
    # Rerun (as after a crash): every fold finds its own finished checkpoint.
    again = cross_validate(pipe, X, y, cv=cv, return_estimator=True)
    assert [est[-1].resumed_from_epoch_ for est in again["estimator"]] == [2, 2, 2]
    np.testing.assert_array_equal(again["test_score"], first["test_score"])


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"resume": "yes"}, ValueError, "'resume' parameter of DynaProRegressor must be .*'auto'"),
        ({"checkpoint_dir": 3}, TypeError, "'checkpoint_dir' parameter of DynaProRegressor must"),
    ],
)
def test_bad_checkpoint_parameters(mrl, params, error, match):
    X, y = mrl
    with pytest.raises(error, match=match):
        make_dynapro_pipeline(**{**TINY, **params}).fit(X[:20], y[:20])


@pytest.mark.parametrize(
    "estimator", [DynaProRegressor, OptimusRegressor, FramePoolRegressor, MTtransRegressor]
)
def test_every_neural_estimator_takes_the_checkpoint_parameters(estimator, tmp_path):
    model = estimator(checkpoint_dir=tmp_path, resume=False)
    params = model.get_params()
    assert params["checkpoint_dir"] == tmp_path and params["resume"] is False
    twin = clone(model)
    assert twin.checkpoint_dir == tmp_path and twin.resume is False
    assert estimator().get_params()["checkpoint_dir"] is None


CHILD = """
import time

import torch
from skorch.callbacks import Callback, LRScheduler

from sklearn_dynapro import make_dynapro_pipeline
from sklearn_dynapro.datasets import load_mpra_random50


class Slow(Callback):  # leaves time to kill the process between two epochs
    def on_epoch_end(self, net, **kwargs):
        time.sleep(0.3)


X, y = load_mpra_random50()
params = {params!r}
params["optimizer"] = torch.optim.AdamW
make_dynapro_pipeline(**params, callbacks=[("slow", Slow())]).fit(X[:240], y[:240])
"""


def test_killed_process_resumes_from_its_last_checkpoint(mrl, tmp_path):
    X, y = mrl
    params = {**TINY, "max_epochs": 8, "checkpoint_dir": str(tmp_path / "ckpt")}
    script = tmp_path / "child.py"
    shown = {k: v for k, v in params.items() if k != "optimizer"}
    script.write_text(textwrap.dedent(CHILD.format(params=shown)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        state = None
        while time.monotonic() < deadline and child.poll() is None:
            state = load_checkpoint(params["checkpoint_dir"])
            if state is not None and state["epoch"] >= 2:
                break
            time.sleep(0.05)
        assert child.poll() is None, child.stderr.read().decode()
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    state = load_checkpoint(params["checkpoint_dir"])  # intact despite the kill
    epoch = state["epoch"]
    assert 2 <= epoch < 8 and not state["finished"]

    resumed = make_dynapro_pipeline(**params, resume=True).fit(X, y)
    assert resumed[-1].resumed_from_epoch_ == epoch
    assert len(resumed[-1].history) == 8
    assert np.isfinite(resumed.predict(X[:30])).all()
    full = make_dynapro_pipeline(**{**params, "checkpoint_dir": None}).fit(X, y)
    # The killed process ran the same code on one thread: the same run, epoch for epoch.
    np.testing.assert_allclose(losses(resumed), losses(full), rtol=1e-6)
    np.testing.assert_allclose(resumed.predict(X[:30]), full.predict(X[:30]), atol=1e-5)
