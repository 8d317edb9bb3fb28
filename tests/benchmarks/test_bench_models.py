"""Smoke tests of benchmarks/bench_dynapro.py and bench_baselines.py: every task, tiny folds."""

import pandas as pd
import pytest


@pytest.fixture
def small_data(monkeypatch, import_benchmark, first_fold):
    """Import a model benchmark whose TE/EL and varying-length sets are one small fold each."""

    def load(name: str):
        bench = import_benchmark(name)
        for loader in ("cao_te", "mrl_varlen"):
            if hasattr(bench, loader):
                real = getattr(bench, loader)
                monkeypatch.setattr(
                    bench, loader, lambda *a, real=real, **kw: first_fold(real(*a, **kw), 120, 40)
                )
        return bench

    return load


def test_bench_dynapro_runs_configs_on_both_tasks(small_data, tmp_path, capsys):
    bench = small_data("bench_dynapro")
    csv = tmp_path / "rows.csv"
    bench.main(
        [
            "--task", "all", "--configs", "tuned,paper,no_attention", "--n", "150",
            "--folds", "5", "--folds-to-run", "0", "--epochs", "1", "--paper-epochs", "1",
            "--threads", "1", "--n-jobs", "1", "--csv", str(csv),
        ]
    )  # fmt: skip
    rows = pd.read_csv(csv)
    mrl, te = rows[rows["task"] == "mrl"], rows[rows["task"] == "te"]
    assert sorted(mrl["model"]) == ["no_attention", "paper", "tuned"]
    assert set(mrl["n_train"]) == {120} and set(mrl["n_test"]) == {30}
    # TE/EL: both cell lines, one row per target (log TE and log expression).
    assert len(te) == 3 * 2 * 2 and set(te["target"]) == {"log_te", "log_expression"}
    assert set(te["dataset"]) == {"cao2021_HEK293", "cao2021_PC3"}
    # Early stopping holds out whole transcripts where the folds are grouped by them.
    assert set(te["valid_split"]) == {"groups"} and set(mrl["valid_split"]) == {"rows"}
    for column in ("r2_pearson", "R2", "spearman", "rmse", "fit_seconds", "peak_mib"):
        assert rows[column].notna().all()
    out = capsys.readouterr().out
    assert "| task" in out and "cao2021_PC3" in out


def test_bench_dynapro_can_split_te_windows_row_wise_for_early_stopping(small_data, tmp_path):
    bench = small_data("bench_dynapro")
    csv = tmp_path / "rows.csv"
    args = ["--task", "te", "--configs", "tuned", "--cell-lines", "PC3", "--epochs", "1"]
    args += ["--threads", "1", "--n-jobs", "1", "--csv", str(csv)]
    bench.main([*args, "--valid-split", "rows"])
    bench.main(args)
    rows = pd.read_csv(csv)
    assert rows["valid_split"].tolist() == ["rows", "rows", "groups", "groups"]
    # Both kinds of rows are kept apart in the summary, not taken for reruns of one fold.
    table = bench.summarise(rows, ["model", "target", "valid_split"])
    assert sorted(table["valid_split"]) == ["groups", "groups", "rows", "rows"]
    assert set(table["folds"]) == {1}


def test_bench_dynapro_resumes_from_its_checkpoints(small_data, tmp_path):
    bench = small_data("bench_dynapro")
    ckpt, csv = tmp_path / "ckpt", tmp_path / "rows.csv"
    args = [
        "--configs", "tuned,no_experts", "--n", "150", "--folds-to-run", "0", "--epochs", "2",
        "--threads", "1", "--n-jobs", "1", "--csv", str(csv), "--checkpoint-dir", str(ckpt),
    ]  # fmt: skip
    bench.main(args)
    assert len(list(ckpt.iterdir())) == 2  # one per configuration and fold
    bench.main(args)
    first, again = pd.read_csv(csv).iloc[:2], pd.read_csv(csv).iloc[2:]
    assert list(first["resumed_from_epoch"]) == [0, 0]
    # Run again, each fit restores both of its epochs instead of training anew.
    assert list(again["resumed_from_epoch"]) == [2, 2]
    assert list(again["model"]) == ["tuned", "no_experts"]
    assert again["r2_pearson"].tolist() == pytest.approx(first["r2_pearson"].tolist())
    # The restored epochs' durations still count, though fit_seconds leaves them out.
    assert (first["epoch_seconds_total"] > 0).all()
    assert again["epoch_seconds_total"].tolist() == first["epoch_seconds_total"].tolist()


def test_bench_baselines_runs_every_model_on_every_data_set(small_data, tmp_path, capsys):
    bench = small_data("bench_baselines")
    csv = tmp_path / "rows.csv"
    bench.main(
        [
            "--data", "all", "--n", "150", "--folds-to-run", "0", "--threads", "1",
            "--n-jobs", "1", "--csv", str(csv),
        ]
    )  # fmt: skip
    rows = pd.read_csv(csv)
    models = {"kmer_ridge", "rf", "optimus", "framepool", "mttrans"}
    for dataset in ("random50", "varlen_random", "cao2021_HEK293", "cao2021_PC3"):
        assert set(rows.loc[rows["dataset"] == dataset, "model"]) == models, dataset
    assert rows[["r2_pearson", "spearman", "fit_seconds"]].notna().all().all()
    assert "| task" in capsys.readouterr().out


def test_unknown_model_is_refused(small_data):
    bench = small_data("bench_baselines")
    with pytest.raises(SystemExit):
        bench.main(["--models", "cnn"])
