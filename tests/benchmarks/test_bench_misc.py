"""Smoke tests of benchmarks/bench_features.py, tune.py, motifs.py, time_examples.py and
checkpoint_history.py with tiny budgets."""

import json

import numpy as np
import pandas as pd
import pytest

from sklearn_dynapro import make_dynapro_pipeline
from sklearn_dynapro.datasets import load_mpra_random50


def test_bench_features_times_every_configuration(import_benchmark, tmp_path, capsys):
    bench = import_benchmark("bench_features")
    out = tmp_path / "features.csv"
    bench.main(["--n", "60", "--out", str(out)])
    table = pd.read_csv(out)
    assert list(table["configuration"]) == list(bench.CONFIGS)
    # The cached call on 60 sequences can round to 0.000 s in the CSV.
    assert (table["seconds"] >= 0).all() and (table["peak_rss_main_mib"] > 0).all()
    assert (table.loc[table["configuration"] != "cached", "seconds"] > 0).all()
    assert table.loc[table["configuration"] == "loop", "speedup"].item() == 1
    assert "| configuration |" in capsys.readouterr().out


def test_tune_script_writes_best_parameters_and_resumes(import_benchmark, tmp_path, capsys):
    tune = import_benchmark("tune")
    journal, best = tmp_path / "study.journal", tmp_path / "best.json"
    argv = [
        "--n", "90", "--tiny", "--features", "none", "--inner-folds", "2", "--threads", "1",
        "--storage", str(journal), "--out", str(best), "--quiet",
    ]  # fmt: skip
    assert tune.main([*argv, "--n-trials", "1"]) == 0
    written = json.loads(best.read_text())
    assert {"module__n_layers", "max_epochs"} <= set(written["params"])
    assert written["metadata"]["trials"]["complete"] == 1
    assert tune.main([*argv, "--n-trials", "1"]) == 0  # the same study, one trial more
    assert json.loads(best.read_text())["metadata"]["trials"]["complete"] == 2
    assert "2 trials" in capsys.readouterr().out


def test_motifs_script_writes_logos_meme_and_stop_codon_effects(import_benchmark, tmp_path, capsys):
    motifs = import_benchmark("motifs")
    motifs.main(
        [
            "--n", "600", "--epochs", "1", "--top", "3", "--influence-samples", "40",
            "--min-sites", "2", "--out", str(tmp_path),
        ]
    )  # fmt: skip
    assert (tmp_path / "motifs.meme").read_text().startswith("MEME version 4")
    assert (tmp_path / "logos.png").stat().st_size > 0
    assert len(list(tmp_path.glob("logo_rank*.png"))) == 3
    out = capsys.readouterr().out
    assert "upstream AUG (ATG) among the top motifs:" in out
    assert "| stop | frame | n | mean_change |" in out


def test_stop_codon_effects_mutate_in_and_out_of_the_uatg_frame(import_benchmark):
    motifs = import_benchmark("motifs")

    class Recorder:
        """Predicts 1 for sequences whose only ATG's ORF ends in the UTR, else 0."""

        def predict(self, sequences):
            self.seen = list(sequences)
            out = []
            for seq in sequences:
                atg = seq.index("ATG")
                codons = [seq[i : i + 3] for i in range(atg + 3, len(seq) - 2, 3)]
                out.append(float(any(c in motifs.STOPS for c in codons)))
            return np.array(out)

    utrs = ["CCATGCCCCCCCCCCCCCCCC", "CCCCCCCCCCCCCCC", "ATGATGCCCCCCCC"]  # 1 usable UTR
    effects = motifs.stop_codon_effects(Recorder(), utrs, seed=0)
    assert set(effects["frame"]) == {"in frame", "out of frame (+1)"}
    by_frame = effects.groupby("frame")["mean_change"].mean()
    assert by_frame["in frame"] == 1 and by_frame["out of frame (+1)"] == 0
    assert (effects["n"] == 1).all() and set(effects["stop"]) <= set(motifs.STOPS)


def test_time_examples_times_each_run_and_fails_with_it(import_benchmark, tmp_path, capsys):
    timer = import_benchmark("time_examples")
    (tmp_path / "ok.py").write_text("print('done')\n")
    (tmp_path / "broken.py").write_text("raise SystemExit(3)\n")
    timer.EXAMPLES = tmp_path
    timer.RUNS = {"ok": ("ok.py", ["--x", "1"]), "broken": ("broken.py", [])}
    out = tmp_path / "times.csv"
    assert timer.main(["--runs", "ok", "--csv", str(out)]) == 0
    assert timer.main(["--csv", str(out)]) == 1  # a failing example fails the benchmark
    table = pd.read_csv(out)
    assert list(table["run"]) == ["ok", "ok", "broken"]
    assert list(table["exit_status"]) == [0, 0, 3]
    assert table["command"][0] == "python examples/ok.py --x 1"
    assert (table["seconds"] > 0).all()
    assert "| command" in capsys.readouterr().out


def test_checkpoint_history_writes_each_epoch(import_benchmark, tmp_path, capsys):
    history = import_benchmark("checkpoint_history")
    X, y = load_mpra_random50()
    tiny = {"module__d_model": 8, "module__n_layers": 1, "module__n_heads": 2}
    pipe = make_dynapro_pipeline(
        features=None, **tiny, module__ffn_dim=8, max_epochs=3, checkpoint_dir=tmp_path
    ).fit(X[:150], y[:150])
    (checkpoint,) = tmp_path.glob("checkpoint-*.pt")
    out = tmp_path / "history.csv"
    assert history.main([f"{checkpoint}=tiny", "--csv", str(out)]) == 0
    rows = pd.read_csv(out)
    assert list(rows["epoch"]) == [1, 2, 3] and set(rows["label"]) == {"tiny"}
    np.testing.assert_allclose(rows["valid_loss"], pipe[-1].history[:, "valid_loss"])
    assert rows["finished"].all()
    assert "| tiny " in capsys.readouterr().out
    with pytest.raises(SystemExit):
        history.main([str(tmp_path / "missing.pt")])
