"""Smoke test of benchmarks/bench_pretraining.py: a tiny run end to end, folds in-process."""

import math

import pandas as pd
import pytest


@pytest.fixture
def bench(import_benchmark):
    return import_benchmark("bench_pretraining")


def test_tiny_run_compares_both_arms_on_the_same_folds(bench, tmp_path, capsys):
    csv = tmp_path / "rows.csv"
    weights = tmp_path / "backbone.pt"
    table = bench.main(
        [
            "--n", "300", "--pretrain-epochs", "1", "--epochs", "1", "--folds-to-run", "0",
            "--threads", "1", "--n-jobs", "1", "--no-features", "--backbone-dim", "16",
            "--backbone-layers", "1", "--backbone-heads", "2", "--backbone-ffn", "32",
            "--csv", str(csv), "--save-backbone", str(weights),
        ]
    )  # fmt: skip
    assert weights.exists()
    rows = pd.read_csv(csv)
    assert len(rows) == 4 and set(rows["fold"]) == {0}
    assert set(zip(rows["train_fraction"], rows["pretrained"], strict=True)) == {
        (0.1, True), (0.1, False), (1.0, True), (1.0, False),
    }  # fmt: skip
    # 5 folds of 300: 240 training rows, 10% of them; the test part is always whole.
    n_train = rows.set_index(["train_fraction", "pretrained"])["n_train"]
    assert n_train[(0.1, True)] == n_train[(0.1, False)] == math.ceil(0.1 * 240)
    assert n_train[(1.0, True)] == 240 and set(rows["n_test"]) == {60}
    for metric in ("r2_pearson", "R2", "spearman"):
        assert rows[metric].notna().all()
        assert metric in table.columns
    out = capsys.readouterr().out
    assert "train_fraction |" in out and "| dynapro_pretrained " in out
    assert "pre-trained on" in out

    # The saved backbone skips pre-training and fine-tunes exactly as before.
    again = tmp_path / "again.csv"
    bench.main(
        [
            "--n", "300", "--epochs", "1", "--folds-to-run", "0", "--fractions", "0.1",
            "--threads", "1", "--n-jobs", "1", "--no-features", "--backbone-dim", "16",
            "--backbone-layers", "1", "--backbone-heads", "2", "--backbone-ffn", "32",
            "--csv", str(again), "--load-backbone", str(weights),
        ]
    )  # fmt: skip
    assert "pre-trained on" not in capsys.readouterr().out
    reused = pd.read_csv(again).set_index("pretrained")
    assert reused["pretrain_seconds"].isna().all()
    first = rows[rows["train_fraction"] == 0.1].set_index("pretrained")
    pd.testing.assert_series_equal(
        reused.loc[[True, False], "r2_pearson"], first.loc[[True, False], "r2_pearson"], rtol=1e-6
    )


def test_checkpoints_resume_each_arm_from_its_own_weights(bench, tmp_path):
    tiny = [
        "--n", "300", "--pretrain-epochs", "1", "--epochs", "2", "--folds-to-run", "0",
        "--fractions", "0.1", "--threads", "1", "--n-jobs", "1", "--no-features",
        "--backbone-dim", "16", "--backbone-layers", "1", "--backbone-heads", "2",
        "--backbone-ffn", "32", "--checkpoint-dir", str(tmp_path / "ckpt"),
    ]  # fmt: skip
    weights, csv = tmp_path / "backbone.pt", tmp_path / "rows.csv"
    bench.main([*tiny, "--save-backbone", str(weights), "--csv", str(csv)])
    bench.main([*tiny, "--load-backbone", str(weights), "--csv", str(csv)])
    rows = pd.read_csv(csv)
    assert list(rows["resumed_from_epoch"]) == [0, 0, 2, 2]  # run again: both arms restored
    first, again = rows.iloc[:2], rows.iloc[2:]
    assert again["r2_pearson"].tolist() == pytest.approx(first["r2_pearson"].tolist())

    # Other weights at the same path: the pre-trained arm starts over, random init resumes.
    longer = ["--pretrain-epochs", "2", "--save-backbone", str(weights), "--csv", str(csv)]
    bench.main([*tiny, *longer])
    last = pd.read_csv(csv).iloc[4:].set_index("pretrained")["resumed_from_epoch"]
    assert last[False] == 2 and last[True] == 0
    assert len(list((tmp_path / "ckpt").glob("checkpoint-*.pt"))) == 3  # 1 + 2 weights
