"""A tuning study killed mid-way resumes without losing its finished trials."""

import inspect
import os
import signal
import socket
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.tuning import DynaProSearchSpace, make_storage, tune_dynapro
from sklearn_dynapro.tuning._study import fail_dead_trials


def tiny_args() -> dict:
    """One-epoch networks of width 16, two inner folds: about a second a trial."""
    return {
        "space": DynaProSearchSpace(
            n_layers=(1, 1), d_model=(16,), top_k=(0,), batch_size=(64,), max_epochs=(1, 1)
        ),
        "pipeline_params": {"features": None},
        "inner_folds": 2,
        "seed": 0,
        "pruner": optuna.pruners.NopPruner(),
        "study_name": "killed",
    }


# The worker process runs the same settings on the same 200 sequences.
CHILD = """
import optuna

from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.tuning import DynaProSearchSpace, tune_dynapro

{source}
optuna.logging.set_verbosity(optuna.logging.WARNING)
X, y = load_mpra_random50()
tune_dynapro(X[:200], y[:200], n_trials=100, storage={storage!r}, **tiny_args())
"""


@pytest.fixture(autouse=True)
def quiet_optuna():
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(level)


def trials_by_state(storage, state):
    study = optuna.load_study(study_name="killed", storage=make_storage(storage))
    return {t.number: t for t in study.get_trials(states=(state,))}


def test_killed_study_resumes_with_its_finished_trials(tmp_path):
    storage = str(tmp_path / "study.journal")
    script = tmp_path / "tune.py"
    script.write_text(CHILD.format(source=inspect.getsource(tiny_args), storage=storage))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if os.path.exists(storage):
                done = trials_by_state(storage, TrialState.COMPLETE)
                running = trials_by_state(storage, TrialState.RUNNING).values()
                # Kill once the running trial is training (its setting written), so the
                # kill rarely lands inside a journal write, whose lock would then stay
                # held for Optuna's 30 s grace period.
                if len(done) >= 2 and any("pipeline_params" in t.user_attrs for t in running):
                    break
            time.sleep(0.1)
        assert child.poll() is None, child.stderr.read().decode()
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)  # reaped: its pid no longer exists
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    before = trials_by_state(storage, TrialState.COMPLETE)
    stale = trials_by_state(storage, TrialState.RUNNING)
    assert 2 <= len(before) < 5 and len(stale) == 1
    (killed,) = stale.values()

    X, y = load_mpra_random50()
    X, y = X[:200], y[:200]
    study = tune_dynapro(X, y, n_trials=None, max_trials=5, storage=storage, **tiny_args())

    complete = {t.number: t for t in study.get_trials(states=(TrialState.COMPLETE,))}
    assert len(complete) == 5  # max_trials counts the trials of the killed run
    for number, trial in before.items():  # earlier results kept as they were
        assert complete[number].value == trial.value
        assert complete[number].params == trial.params
    assert study.trials[killed.number].state == TrialState.FAIL
    (retry,) = [t for t in complete.values() if t.user_attrs.get("retry_of") == killed.number]
    assert retry.params.items() >= killed.params.items()  # the killed setting, run again
    # The resumed sampler does not propose the earlier settings again.
    earlier = [t.params for t in before.values()]
    assert all(t.params not in earlier for t in complete.values() if t.number not in before)

    # n_trials counts the trials of one call: one more on top of the five.
    study = tune_dynapro(X, y, n_trials=1, storage=storage, **tiny_args())
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 6


def test_fail_dead_trials_leaves_live_and_foreign_workers_alone():
    study = optuna.create_study(direction="maximize")
    host = socket.gethostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    workers = {
        "dead": f"{host}:{dead.pid}",
        "live": f"{host}:{os.getppid()}",
        "elsewhere": f"{host}-other-machine:{dead.pid}",
        "self": f"{host}:{os.getpid()}",
    }
    trials = {}
    for name, worker in workers.items():
        trial = study.ask()
        trial.set_user_attr("worker", worker)
        trial.suggest_float("lr", 1e-3, 1e-2, log=True)
        trials[name] = trial
    study.ask()  # no worker recorded: left alone

    assert fail_dead_trials(study) == [trials["dead"].number]
    states = {name: study.trials[t.number].state for name, t in trials.items()}
    assert states == {
        "dead": TrialState.FAIL,
        "live": TrialState.RUNNING,
        "elsewhere": TrialState.RUNNING,
        "self": TrialState.RUNNING,
    }
    (waiting,) = study.get_trials(states=(TrialState.WAITING,))
    assert waiting.user_attrs["retry_of"] == trials["dead"].number
    assert waiting.system_attrs["fixed_params"] == trials["dead"].params
    assert fail_dead_trials(study) == []  # already failed: nothing more to do
