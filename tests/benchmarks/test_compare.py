"""Smoke tests of benchmarks/compare.py: its splits, its scoring and a tiny end-to-end run."""

import contextlib
import importlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GroupKFold, PredefinedSplit

from sklearn_dynapro.cli import main as dynapro
from sklearn_dynapro.metrics import pearson_r2_score, spearman_score

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def compare():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("compare")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.parametrize("name", ["kfold_random50", "kfold_varlen", "kfold_te_pc3"])
def test_kfold_experiments_are_grouped_and_change_with_the_seed(compare, name):
    first = compare.build_experiment(name, seed=0, folds=3, n=150)
    again = compare.build_experiment(name, seed=0, folds=3, n=150)
    other = compare.build_experiment(name, seed=1, folds=3, n=150)
    tests = [test.tolist() for _, test in first.splits()]
    assert tests == [test.tolist() for _, test in again.splits()]
    assert tests != [test.tolist() for _, test in other.splits()]
    assert sorted(np.concatenate([np.asarray(t) for t in tests])) == list(range(150))
    if name == "kfold_te_pc3":
        assert isinstance(first.cv, GroupKFold) and first.targets == ("log_te", "log_expression")
        for train, test in first.splits():
            transcripts = first.X["transcript_id"]
            assert not set(transcripts.iloc[train]) & set(transcripts.iloc[test])
    if name == "kfold_varlen":
        assert first.bins == compare.LENGTH_BINS


@pytest.mark.parametrize(
    ("name", "train_label", "test_label", "column"),
    [
        ("transfer_random50_to_varlen", "random50", "varlen_random", "library"),
        ("transfer_varlen_to_random50", "varlen_random", "random50", "library"),
        ("transfer_hek293_to_pc3", "HEK293", "PC3", "cell_line"),
    ],
)
def test_transfer_experiments_use_a_predefined_split(
    compare, name, train_label, test_label, column
):
    experiment = compare.build_experiment(name, seed=0, folds=5, n=100)
    assert isinstance(experiment.cv, PredefinedSplit)
    [(train, test)] = experiment.splits()
    assert set(experiment.X[column].iloc[train]) == {train_label}
    assert set(experiment.X[column].iloc[test]) == {test_label}
    experiment.check_disjoint()


def test_check_disjoint_catches_a_shared_sequence(compare):
    experiment = compare.build_experiment("kfold_random50", seed=0, folds=2, n=40)
    X = experiment.X.copy()
    train, test = experiment.splits()[0]
    X.loc[test[0], "sequence"] = X.loc[train[0], "sequence"].lower()
    leaky = compare.Experiment("leaky", X, experiment.y, ("mrl",), experiment.splits(), None, 50)
    with pytest.raises(RuntimeError, match="on both sides"):
        leaky.check_disjoint()


class NoisyOracle:
    """Predicts the truth plus seeded noise."""

    def __init__(self, y):
        self.y = y

    def predict(self, X):
        noise = np.random.default_rng(1).normal(scale=0.5, size=self.y.shape)
        return self.y[: len(X)] + noise[: len(X)]


def test_fold_scorer_applies_every_scorer_per_target_and_bin(compare):
    rng = np.random.default_rng(0)
    lengths = rng.integers(25, 101, size=60)
    X = pd.DataFrame({"sequence": ["A" * n for n in lengths]})
    y = rng.normal(size=(60, 2))
    model = NoisyOracle(y)
    scorer = compare.FoldScorer(("a", "b"), compare.LENGTH_BINS)
    scores = scorer(model, X, y)
    y_pred = scorer.predictions_[0]
    short = lengths < 50
    assert scores["b|25-49|n"] == short.sum()
    assert scores["b|25-49|r2_pearson"] == pytest.approx(
        pearson_r2_score(y[short, 1], y_pred[short, 1])
    )
    assert scores["a|all|spearman"] == pytest.approx(spearman_score(y[:, 0], y_pred[:, 0]))
    rmse = np.sqrt(np.mean((y[:, 0] - y_pred[:, 0]) ** 2))
    assert scores["a|all|rmse"] == pytest.approx(rmse)  # an error, not SCORING's negative
    assert scores["predictions_per_second"] > 0
    assert {key.split("|")[1] for key in scores if "|" in key} == {
        "all",
        "25-49",
        "50-74",
        "75-100",
    }


def test_tiny_benchmark_through_the_cli_writes_tables_and_plots(tmp_path, capsys):
    out = tmp_path / "results"
    argv = ["benchmark", "--tiny", "--experiments", "kfold_varlen,transfer_hek293_to_pc3"]
    argv += ["--models", "kmer_ridge,dynapro", "--threads", "1", "--out", str(out)]
    assert dynapro(argv) == 0
    printed = capsys.readouterr().out
    assert "r² (squared Pearson)" in printed and "R² (coef. of determination)" in printed

    rows = pd.read_csv(out / "folds.csv")
    assert set(rows["model"]) == {"kmer_ridge", "dynapro"}
    assert set(rows["experiment"]) == {"kfold_varlen", "transfer_hek293_to_pc3"}
    varlen = rows[rows["experiment"] == "kfold_varlen"]
    assert set(varlen["subset"]) == {"all", "25-49", "50-74", "75-100"}
    assert varlen.groupby(["model", "subset"]).size().eq(2).all()  # 2 folds each
    transfer = rows[rows["experiment"] == "transfer_hek293_to_pc3"]
    assert set(transfer["target"]) == {"log_te", "log_expression"}
    for column in ("r2_pearson", "R2", "spearman", "rmse", "mae", "fit_seconds", "peak_mib"):
        assert rows[column].notna().all(), column
    assert (rows["rmse"] > 0).all() and (rows["peak_mib"] > 50).all()
    assert (rows["predictions_per_second"] > 0).all()
    # Which code made each row: a commit in a checkout, else the package version.
    assert rows["code"].notna().all() and rows["code"].nunique() == 1

    summary = (out / "summary.md").read_text()
    assert "| kfold_varlen" in summary and "Best model per experiment" in summary
    for image in ("scores.png", "bins.png", "scatter.png"):
        assert (out / image).stat().st_size > 5_000, image
    predictions = pd.read_csv(out / "predictions.csv")
    assert set(predictions["experiment"]) == {"kfold_varlen", "transfer_hek293_to_pc3"}
    assert predictions.groupby("experiment")["model"].nunique().eq(1).all()


def test_folds_are_kept_and_a_resumed_run_adds_only_the_missing_ones(tmp_path, capsys):
    out = tmp_path / "results"
    argv = ["benchmark", "--tiny", "--experiments", "kfold_random50,transfer_varlen_to_random50"]
    argv += ["--models", "kmer_ridge", "--threads", "1", "--out", str(out)]
    assert dynapro([*argv, "--folds-to-run", "1"]) == 0
    first = pd.read_csv(out / "folds.csv")
    assert first[["experiment", "fold"]].drop_duplicates().values.tolist() == [
        ["kfold_random50", 1]  # the transfer has fold 0 only
    ]
    kept = out / "runs" / "kfold_random50" / "kmer_ridge" / "seed0_fold1.rows.csv"
    stamp = kept.stat().st_mtime_ns

    assert dynapro([*argv, "--resume"]) == 0
    assert "folds [1] kept" not in capsys.readouterr().out  # fold 0 was missing, so it ran
    assert kept.stat().st_mtime_ns == stamp  # fold 1 was not run again
    resumed = pd.read_csv(out / "folds.csv")
    assert sorted(map(tuple, resumed[["experiment", "fold"]].drop_duplicates().values)) == [
        ("kfold_random50", 0),
        ("kfold_random50", 1),
        ("transfer_varlen_to_random50", 0),
    ]
    assert dynapro([*argv, "--resume"]) == 0
    assert "folds [0, 1] kept from OUT/runs" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:  # other settings: not mixed in
        dynapro([*argv, "--resume", "--epochs", "2"])
    assert exit_info.value.code == 2
    assert "holds folds run with other settings" in capsys.readouterr().err

    # The same numbers as one run of every fold; without --resume the folder starts afresh.
    assert dynapro(argv) == 0
    fresh = pd.read_csv(out / "folds.csv")
    keys = ["experiment", "fold", "target", "subset"]
    timings = ["fit_seconds", "predictions_per_second", "peak_mib"]
    pd.testing.assert_frame_equal(
        resumed.sort_values(keys).drop(columns=timings),
        fresh.sort_values(keys).drop(columns=timings),
        check_like=True,
        check_index_type=False,
        check_exact=False,
    )
    assert (out / "summary.md").read_text().count("| kmer_ridge") == 2


def test_seeds_split_over_calls_add_up_to_one_run(tmp_path, capsys):
    out = tmp_path / "results"
    argv = ["benchmark", "--tiny", "--experiments", "transfer_varlen_to_random50"]
    argv += ["--models", "kmer_ridge", "--seeds", "2", "--threads", "1", "--out", str(out)]
    assert dynapro([*argv, "--seeds-to-run", "1"]) == 0
    assert pd.read_csv(out / "folds.csv")["seed"].unique().tolist() == [1]
    # Predictions are kept for seed 0 only, also when seed 1 ran first.
    kept = out / "runs" / "transfer_varlen_to_random50" / "kmer_ridge"
    assert not (kept / "seed1_fold0.predictions.csv").exists()
    capsys.readouterr()
    assert dynapro([*argv, "--seeds-to-run", "0,1", "--resume"]) == 0
    assert "seed 1: folds [0] kept from OUT/runs" in capsys.readouterr().out
    rows = pd.read_csv(out / "folds.csv")
    assert sorted(rows["seed"].unique().tolist()) == [0, 1]
    assert (kept / "seed0_fold0.predictions.csv").exists()


def test_a_stopped_run_keeps_the_folds_it_finished(compare, tmp_path, monkeypatch):
    out = tmp_path / "results"
    calls = []

    @contextlib.contextmanager
    def stops_in_the_second_fold():
        def run(fn, *args):
            calls.append(args[-1])
            if len(calls) == 2:
                raise KeyboardInterrupt  # the machine goes away during fold 1
            return fn(*args)

        yield run

    monkeypatch.setattr(compare, "isolated_worker", stops_in_the_second_fold)
    argv = ["--tiny", "--experiments", "kfold_random50", "--models", "kmer_ridge"]
    argv += ["--threads", "1", "--out", str(out)]
    with pytest.raises(KeyboardInterrupt):
        compare.main(argv)
    assert calls == [[0], [1]]  # fold by fold
    runs = out / "runs" / "kfold_random50" / "kmer_ridge"
    assert sorted(f.name for f in runs.iterdir()) == [
        "seed0_fold0.predictions.csv",
        "seed0_fold0.rows.csv",
    ]
    assert pd.read_csv(out / "folds.csv")["fold"].unique().tolist() == [0]


def test_a_fit_stopped_mid_way_resumes_from_its_checkpoint(compare, tmp_path, monkeypatch):
    from sklearn_dynapro.models import DynaProRegressor

    ckpt = tmp_path / "ckpt"
    argv = ["--tiny", "--experiments", "kfold_random50", "--models", "dynapro", "--epochs", "2"]
    argv += ["--threads", "1", "--folds-to-run", "0", "--checkpoint-dir", str(ckpt)]
    assert compare.main([*argv, "--out", str(tmp_path / "a")]) == 0
    whole = pd.read_csv(tmp_path / "a" / "folds.csv")
    assert len(list(ckpt.glob("checkpoint-*.pt"))) == 1  # one fit, one file

    # Run the same fold again, as after a stop: the fit finds its checkpoint and trains
    # nothing more, so the scores are those of the uninterrupted fit.
    resumed_from = []
    fit = DynaProRegressor.fit

    def recording_fit(self, X, y, **kwargs):
        fit(self, X, y, **kwargs)
        resumed_from.append(self.resumed_from_epoch_)
        return self

    monkeypatch.setattr(DynaProRegressor, "fit", recording_fit)
    monkeypatch.setattr(compare, "isolated_worker", _in_process)
    assert compare.main([*argv, "--out", str(tmp_path / "b")]) == 0
    assert resumed_from == [2]
    again = pd.read_csv(tmp_path / "b" / "folds.csv")
    pd.testing.assert_series_equal(again["r2_pearson"], whole["r2_pearson"])
    # The rows say so, and keep the whole training time of the epochs given back.
    assert (whole["resumed_from_epoch"] == 0).all() and (again["resumed_from_epoch"] == 2).all()
    pd.testing.assert_series_equal(again["epoch_seconds_total"], whole["epoch_seconds_total"])
    assert (whole["restored_epoch_seconds"] == 0).all()
    restored = again["restored_epoch_seconds"]
    assert np.allclose(restored, again["epoch_seconds_total"])  # both epochs came back


def test_te_experiments_hold_out_whole_transcripts_for_early_stopping(compare, fit_groups):
    options = {"threads": 1, "model": {"epochs": 1, "trees": 5, "n_jobs": 1, "tiny": True}}
    te, mrl = (compare.build_experiment(name, seed=0, folds=3, n=90) for name in NAMES)
    for experiment in (te, mrl):
        compare.run_model("dynapro", experiment, 0, options, [0])
    (train, _), *_ = te.splits()
    assert len(fit_groups) == 2 and fit_groups[1] is None  # random50's sequences are unrelated
    np.testing.assert_array_equal(fit_groups[0], te.groups[train])  # the fold's training rows


NAMES = ("kfold_te_pc3", "kfold_random50")


@contextlib.contextmanager
def _in_process():
    """compare.isolated_worker without the spawned process (so monkeypatches apply)."""
    yield lambda fn, *args: fn(*args)


def test_summary_spreads_over_seeds_only_where_every_seed_is_complete(compare):
    def runs(model, seed, scores):
        return [
            {"experiment": "e", "target": "mrl", "subset": "all", "model": model, "seed": seed,
             "fold": fold, **dict.fromkeys(compare.METRIC_LABELS, score), "fit_seconds": 1.0,
             "predictions_per_second": 1.0, "peak_mib": 1.0}
            for fold, score in enumerate(scores)
        ]  # fmt: skip

    rows = pd.DataFrame(
        runs("a", 0, [0.1, 0.3])
        + runs("a", 1, [0.5, 0.7])  # two complete seeds
        + runs("b", 0, [0.1, 0.3])
        + runs("b", 1, [0.5])  # seed 1 still missing a fold
        + runs("c", 0, [0.1, 0.3, 0.5])  # one seed
    )
    summary = compare.summarise(rows).set_index("model")
    assert summary["spread_over"].to_dict() == {"a": "seeds", "b": "folds", "c": "folds"}
    assert summary.loc["a", "r2_pearson"] == pytest.approx(0.4)
    assert summary.loc["a", "r2_pearson_sd"] == pytest.approx(np.std([0.2, 0.6], ddof=1))
    assert summary.loc["b", "r2_pearson"] == pytest.approx(0.3)
    assert summary.loc["b", "r2_pearson_sd"] == pytest.approx(0.2)
    assert summary["runs"].to_dict() == {"a": 4, "b": 3, "c": 3}
    assert "| folds " in compare.markdown_table(summary.reset_index())


def test_bad_options_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        dynapro(["benchmark", "--models", "dynapro,nope"])
    assert exit_info.value.code == 2
    assert "--models must be 'all' or a comma list" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        dynapro(["benchmark", "--folds-to-run", "x"])
    assert "--folds-to-run must be a comma list" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        dynapro(["benchmark", "--seeds-to-run", "-1"])
    assert "--seeds-to-run must be a comma list of seeds" in capsys.readouterr().err
    out = tmp_path / "results"
    kept = out / "runs" / "earlier.rows.csv"
    kept.parent.mkdir(parents=True)
    kept.write_text("x")
    with pytest.raises(SystemExit):  # a usage error leaves OUT as it was
        dynapro(["benchmark", "--tiny", "--seeds", "2", "--seeds-to-run", "2", "--out", str(out)])
    assert "asks for a seed above 1" in capsys.readouterr().err
    assert kept.read_text() == "x"
    with pytest.raises(SystemExit):
        dynapro(["benchmark", "--models", "dynapro_tuned"])
    assert "needs --tuned-params" in capsys.readouterr().err
