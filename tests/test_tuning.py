"""Optuna tuning of DynaPro: search space, pruning in inner CV, storages, shared studies."""

import json
import subprocess
import sys

import numpy as np
import optuna
import pandas as pd
import pytest
import torch
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, KFold

from sklearn_dynapro import make_dynapro_pipeline
from sklearn_dynapro.datasets import load_cao2021_te, load_mpra_random50
from sklearn_dynapro.metrics import SCORING
from sklearn_dynapro.tuning import (
    CVPruningCallback,
    DynaProSearchSpace,
    OptunaSearchCV,
    best_params,
    load_params,
    make_storage,
    resolve_params,
    save_params,
    sequence_groups,
    tune_dynapro,
    write_best_params,
)
from sklearn_dynapro.tuning._study import FOLD_STRIDE, _data_fingerprint

TINY = {"features": None}


@pytest.fixture(autouse=True)
def quiet_optuna():
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(level)


@pytest.fixture(scope="module")
def mrl():
    X, y = load_mpra_random50()
    return X[:120], y[:120]


def run_tiny(X, y, **kwargs) -> optuna.Study:
    params = {
        "space": DynaProSearchSpace.tiny(),
        "pipeline_params": TINY,
        "inner_folds": 2,
        "n_trials": 2,
        "seed": 0,
    }
    return tune_dynapro(X, y, **{**params, **kwargs})


# ------------------------------------------------------------------------- groups
def test_sequence_groups_join_identical_sequences_and_shared_groups():
    labels = sequence_groups(["ACGU", "acgt", "TTTT", "GGGG", "CCCC"])
    assert labels[0] == labels[1] and len(set(labels)) == 4
    chained = sequence_groups(["AAA", "CCC", "aaa", "GGG"], groups=["t1", "t2", "t3", "t3"])
    # AAA (t1) = aaa (t3) = GGG (t3); CCC alone.
    assert chained.tolist() == [0, 1, 0, 0]


def test_sequence_groups_on_real_windows_never_split_a_transcript():
    X, _ = load_cao2021_te(cell_line="PC3")
    labels = sequence_groups(X["sequence"], X["transcript_id"])
    per_transcript = pd.Series(labels).groupby(X["transcript_id"]).nunique()
    assert (per_transcript == 1).all()


@pytest.mark.parametrize(
    ("sequences", "groups", "error", "match"),
    [
        ("ACGT", None, TypeError, "pass a list"),
        (["AC", "GT"], ["a"], ValueError, "one label per row"),
        (["AC", "GT"], ["a", None], ValueError, r"missing values at row \[1\]"),
    ],
)
def test_sequence_groups_errors(sequences, groups, error, match):
    with pytest.raises(error, match=match):
        sequence_groups(sequences, groups)


# -------------------------------------------------------------------------- space
def test_search_space_suggests_pipeline_arguments():
    fixed = {
        "n_layers": 2,
        "d_model": 128,
        "top_k": 0,
        "dropout": 0.1,
        "optimizer": "SGD",
        "lr": 1e-3,
        "batch_size": 64,
        "max_epochs": 7,
    }
    params = DynaProSearchSpace().suggest(optuna.trial.FixedTrial(fixed))
    assert params["module__n_heads"] == 16 and params["module__ffn_dim"] == 256
    assert params["module__use_experts"] is False and "module__top_k" not in params
    assert params["weight_decay"] == 1e-4 and params["patience"] == 7
    pipeline = make_dynapro_pipeline(**resolve_params(params))
    assert pipeline[-1].optimizer is torch.optim.SGD
    with_experts = DynaProSearchSpace().suggest(optuna.trial.FixedTrial({**fixed, "top_k": 1}))
    assert with_experts["module__top_k"] == 1 and with_experts["module__use_experts"] is True


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_layers": (3, 1)}, "n_layers must be a"),
        ({"d_model": ()}, "d_model must be a non-empty tuple"),
        ({"optimizer": ("Adam",)}, "optimizer must be a non-empty tuple of values"),
        ({"top_k": (5,)}, "top_k must be"),
        ({"dropout": (0.0, 1.0)}, r"dropout must lie in \[0, 1\)"),
        ({"lr": (0.0, 1e-2)}, "lr must be a"),
    ],
)
def test_search_space_rejects_bad_ranges(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DynaProSearchSpace(**kwargs)


# ------------------------------------------------------------------------- params
def test_params_json_round_trip(tmp_path):
    params = {"optimizer": torch.optim.AdamW, "module__expert_kernels": (3, 5), "lr": 1e-3}
    path = save_params(tmp_path / "p.json", params, metadata={"note": "x"})
    document = json.loads(path.read_text())
    assert document["params"]["optimizer"] == "AdamW"
    assert document["params"]["module__expert_kernels"] == [3, 5]
    assert load_params(path) == params
    (tmp_path / "flat.json").write_text(json.dumps({"optimizer": "torch.optim.SGD", "lr": 0.1}))
    assert load_params(tmp_path / "flat.json")["optimizer"] is torch.optim.SGD


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        ("{not json", ValueError, "must hold JSON"),
        ("[1, 2]", ValueError, "must hold a JSON object"),
        ('{"optimizer": "Adamm"}', ValueError, "optimizer must name a class in torch.optim"),
        ('{"criterion": "nn.Nope"}', ValueError, "criterion must name a class"),
    ],
)
def test_load_params_errors(content, error, match, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(error, match=match):
        load_params(path)
    with pytest.raises(FileNotFoundError, match="No such parameter file"):
        load_params(tmp_path / "missing.json")


def test_save_params_rejects_objects(tmp_path):
    with pytest.raises(TypeError, match=r"params\['features'\] must be JSON-serialisable"):
        save_params(tmp_path / "p.json", {"features": object()})


# ----------------------------------------------------------------------- pruning
def test_pruning_callback_clones_share_the_trial_and_count_folds():
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    callback = CVPruningCallback(trial)
    twin = clone(make_dynapro_pipeline(callbacks=[("prune", callback)]))[-1].callbacks[0][1]
    assert twin is not callback and twin._trial is trial
    callback.on_train_begin(None)
    twin.on_train_begin(None)
    assert (callback._fold, twin._fold) == (0, 1)
    assert twin._sign() == -1.0  # a loss, reported negated in a maximising study


def test_trials_report_every_inner_fold_and_complete(mrl):
    X, y = mrl
    study = run_tiny(X, y, pruner=optuna.pruners.NopPruner())
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    for trial in study.trials:
        epochs = trial.params["max_epochs"]
        expected = {fold * FOLD_STRIDE + e for fold in range(2) for e in range(epochs)}
        assert set(trial.intermediate_values) == expected
        assert all(v < 0 for v in trial.intermediate_values.values())  # -valid_loss
        assert len(trial.user_attrs["inner_scores"]) == 2
        assert trial.value == pytest.approx(np.mean(trial.user_attrs["inner_scores"]))
    params = best_params(study)
    assert params["features"] is None and params["module__d_model"] == 16


def test_inner_fits_hold_out_whole_groups_for_early_stopping(fit_groups):
    # The pruner judges trials on the early-stopping split's loss: rows of one transcript
    # on both sides of it would flatter every trial alike.
    X, y = load_cao2021_te(cell_line="PC3", target="te")
    X, y = X.iloc[:90], y.iloc[:90]
    run_tiny(X, y, groups=X["transcript_id"], n_trials=1)
    labels = sequence_groups(X["sequence"], X["transcript_id"])
    folds = GroupKFold(2, shuffle=True, random_state=0).split(X, y, labels)
    expected = [labels[train] for train, _ in folds]  # each fold's training rows' labels
    assert len(fit_groups) == len(expected) == 2
    for groups, labels_in_fold in zip(fit_groups, expected, strict=True):
        np.testing.assert_array_equal(groups, labels_in_fold)


def test_pruner_stops_trials_during_training(mrl):
    X, y = mrl
    # Reported values are -valid_loss < 0, so this pruner stops every trial after epoch 0.
    study = run_tiny(X, y, pruner=optuna.pruners.ThresholdPruner(lower=0.0))
    assert [t.state for t in study.trials] == [TrialState.PRUNED] * 2
    assert all(list(t.intermediate_values) == [0] for t in study.trials)
    with pytest.raises(ValueError, match="must hold a complete trial"):
        best_params(study)


def test_ctrl_c_during_a_trial_fails_it_and_stops_tuning(mrl, tmp_path, monkeypatch):
    # skorch ends training quietly on Ctrl-C; the trial must not be scored on that
    # half-trained network and recorded as complete.
    def ctrl_c(self, net, **kwargs):
        raise KeyboardInterrupt  # what Python's SIGINT handler raises

    monkeypatch.setattr(CVPruningCallback, "on_epoch_end", ctrl_c)
    storage = tmp_path / "study.journal"
    X, y = mrl
    with pytest.raises(KeyboardInterrupt):
        run_tiny(X, y, storage=storage, study_name="s")
    study = optuna.load_study(study_name="s", storage=make_storage(storage))
    assert [t.state for t in study.trials] == [TrialState.FAIL]


# ---------------------------------------------------------------------- storages
def test_journal_study_resumes_and_stops_at_max_trials(mrl, tmp_path):
    X, y = mrl
    storage = tmp_path / "study.journal"
    run_tiny(X, y, storage=storage, study_name="s", n_trials=1)
    study = run_tiny(X, y, storage=storage, study_name="s", n_trials=1)
    assert len(study.trials) == 2
    # Already two finished trials: max_trials=2 runs nothing more.
    study = run_tiny(X, y, storage=str(storage), study_name="s", n_trials=5, max_trials=2)
    assert len(study.trials) == 2
    path = write_best_params(study, tmp_path / "best.json")
    metadata = json.loads(path.read_text())["metadata"]
    assert metadata["study_name"] == "s" and metadata["trials"]["complete"] == 2
    with pytest.raises(ValueError, match="scoring must match the existing study 's'"):
        run_tiny(X, y, storage=storage, study_name="s", scoring="spearman")
    # Other rows or targets would give other folds: the study records what it was tuned on.
    assert len(metadata["data_sha256"]) == 16
    assert metadata["data_sha256"] == study.user_attrs["data_sha256"]
    with pytest.raises(ValueError, match="data_sha256 must match the existing study 's'"):
        run_tiny(X[:100], y[:100], storage=storage, study_name="s", max_trials=2)
    with pytest.raises(ValueError, match="data_sha256 must match the existing study 's'"):
        run_tiny(X, y + 1.0, storage=storage, study_name="s", max_trials=2)
    groups = np.arange(len(y)) // 2
    with pytest.raises(ValueError, match="data_sha256 must match the existing study 's'"):
        run_tiny(X, y, groups=groups, storage=storage, study_name="s", max_trials=2)
    # The same sequences as a list instead of an array are the same data.
    assert len(run_tiny(list(X), y, storage=storage, study_name="s", max_trials=2).trials) == 2


def test_workers_with_their_own_sampler_seeds_score_on_the_same_folds(mrl, tmp_path):
    # Each worker of a shared study gets its own sampler seed; the folds and networks must
    # not follow it, or the study would compare trials scored on different splits.
    X, y = mrl
    storage = tmp_path / "study.journal"
    first = run_tiny(X, y, storage=storage, study_name="c", seed=0, n_trials=1).trials[0]
    optuna.load_study(study_name="c", storage=make_storage(storage)).enqueue_trial(first.params)
    study = run_tiny(X, y, storage=storage, study_name="c", seed=1, n_trials=1)
    again = study.trials[1]
    assert again.params == first.params
    assert again.user_attrs["inner_scores"] == first.user_attrs["inner_scores"]
    assert study.user_attrs["cv_seed"] == 0
    with pytest.raises(ValueError, match="cv_seed must match the existing study 'c'"):
        run_tiny(X, y, storage=storage, study_name="c", seed=2, cv_seed=1)


def test_make_storage_kinds(tmp_path):
    assert make_storage(None) is None
    assert isinstance(make_storage(tmp_path / "j.log"), optuna.storages.JournalStorage)
    rdb = make_storage(f"sqlite:///{tmp_path / 'tune.db'}")
    assert isinstance(rdb, optuna.storages.RDBStorage)
    optuna.create_study(storage=rdb, study_name="db")
    assert optuna.load_study(study_name="db", storage=rdb).study_name == "db"
    with pytest.raises(FileNotFoundError, match="folder of the journal file must exist"):
        make_storage(tmp_path / "missing" / "j.log")
    with pytest.raises(TypeError, match="storage must be None"):
        make_storage(3)
    # A database that cannot be opened is named, without its password, in a ValueError.
    with pytest.raises(ValueError, match=r"storage 'sqlite:///.*missing.*could not be opened"):
        make_storage(f"sqlite:///{tmp_path / 'missing' / 'tune.db'}")
    with pytest.raises(ValueError, match=r"storage 'nosuchdb://u:\*\*\*@host/db' could not"):
        make_storage("nosuchdb://u:secret@host/db")


def test_two_worker_processes_share_one_journal_study(tmp_path):
    X, y = load_mpra_random50()
    data = tmp_path / "utrs.csv"
    pd.DataFrame({"sequence": X[:100], "mrl": y[:100]}).to_csv(data, index=False)
    storage = tmp_path / "shared.journal"
    workers = []
    for seed in (0, 1):
        command = [sys.executable, "-m", "sklearn_dynapro.cli", "tune", "--data", str(data)]
        command += ["--target", "mrl", "--tiny", "--features", "none", "--n-trials", "2"]
        command += ["--inner-folds", "2", "--storage", str(storage), "--study-name", "shared"]
        command += ["--seed", str(seed), "--quiet", "--out", str(tmp_path / f"best{seed}.json")]
        workers.append(subprocess.Popen(command, stderr=subprocess.PIPE, text=True))
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    study = optuna.load_study(study_name="shared", storage=make_storage(storage))
    finished = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert len(finished) == 4
    assert len({t.user_attrs["worker"] for t in finished}) == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scoring": "accuracy"}, "scoring must be one of"),
        ({"inner_folds": 1}, "inner_folds must be an int >= 2"),
        ({"n_trials": None, "max_trials": None, "timeout": None}, "must be given"),
        ({"pipeline_params": {"valid_fraction": 0}}, "must be above 0"),
        ({"pipeline_params": {"random_state": 1}}, "must not set 'random_state'"),
        ({"study_name": ""}, "study_name must be a non-empty string"),
    ],
)
def test_tune_dynapro_rejects_bad_arguments(kwargs, match, mrl):
    X, y = mrl
    with pytest.raises(ValueError, match=match):
        run_tiny(X, y, **kwargs)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("nan_target", r"y must be finite, got NaN or infinite values at row \[37\]"),
        ("bad_base", r"invalid characters 'X' at row \[41\]"),
        ("short_y", "X and y must have the same number of rows, got 120 sequences and 100"),
    ],
)
def test_tune_dynapro_names_bad_rows_of_x_before_recording_a_trial(bad, match, mrl, tmp_path):
    # Inside an inner fold the row would be counted within the fold (and a failed trial
    # recorded); the rows are checked against the whole of X first.
    X, y = list(mrl[0]), mrl[1].copy()
    if bad == "nan_target":
        y[37] = np.nan
    elif bad == "bad_base":
        X[41] = X[41][:10] + "X" + X[41][11:]
    else:
        y = y[:100]
    storage = tmp_path / "study.journal"
    with pytest.raises(ValueError, match=match):
        run_tiny(X, y, storage=storage, study_name="s")
    with pytest.raises(KeyError):
        optuna.load_study(study_name="s", storage=make_storage(storage))


def test_data_fingerprint_hashes_columns_of_lists(mrl):
    # A metadata column of lists, which pandas cannot hash, is hashed through its text.
    X, y = mrl
    frame = pd.DataFrame({"sequence": X, "meta": [[i, i + 1] for i in range(len(X))]})
    labels = sequence_groups(X)
    first = _data_fingerprint(frame, y, labels)
    assert first == _data_fingerprint(frame.copy(), y, labels)
    frame.loc[3, "meta"] = [0]
    assert _data_fingerprint(frame, y, labels) != first


def test_tune_dynapro_needs_enough_groups():
    with pytest.raises(ValueError, match="at least inner_folds=3 distinct sequence groups"):
        tune_dynapro(["ACGT", "acgt", "CCCC"], [1.0, 1.0, 2.0], inner_folds=3)


# -------------------------------------------------------------------- OptunaSearchCV
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.filterwarnings("ignore:.*optuna.terminator.*:FutureWarning")
def test_optuna_search_cv_over_a_tiny_dynapro_pipeline(mrl):
    X, y = mrl
    pipeline = make_dynapro_pipeline(
        features=None,
        module__d_model=16,
        module__n_heads=4,
        module__ffn_dim=32,
        optimizer=torch.optim.AdamW,
        max_epochs=1,
        random_state=0,
    )
    search = OptunaSearchCV(
        pipeline,
        {
            "model__lr": FloatDistribution(1e-3, 1e-2, log=True),
            "model__module__n_layers": IntDistribution(1, 2),
        },
        cv=KFold(2, shuffle=True, random_state=0),
        n_trials=2,
        scoring=SCORING["r2_pearson"],
        random_state=0,
    )
    search.fit(X, y)
    assert set(search.best_params_) == {"model__lr", "model__module__n_layers"}
    assert len(search.study_.trials) == 2
    assert search.predict(X[:10]).shape == (10,)
