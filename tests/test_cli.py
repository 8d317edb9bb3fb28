"""The ``dynapro`` command line, run for real on small slices of the bundled data."""

import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from skorch.callbacks import Callback

from sklearn_dynapro.cli import build_parser, main
from sklearn_dynapro.datasets import load_mpra_random50

#: A tiny network trained for one epoch (make_dynapro_pipeline keyword arguments as JSON).
TINY_PARAMS = {
    "features": None,
    "module__d_model": 16,
    "module__n_heads": 4,
    "module__n_layers": 1,
    "module__ffn_dim": 32,
    "optimizer": "AdamW",
    "lr": 3e-3,
    "max_epochs": 1,
    "batch_size": 64,
}


def predict_args(model, data, out, *extra) -> list[str]:
    """``dynapro predict`` arguments."""
    return ["predict", "--model", str(model), "--data", str(data), "--out", str(out), *extra]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """Training CSV (ids, a '5'UTR' column, MRL, library), a FASTA to predict, tiny params."""
    folder = tmp_path_factory.mktemp("cli")
    X, y = load_mpra_random50()
    train = pd.DataFrame(
        {
            "id": [f"utr{i:03d}" for i in range(160)],
            "5'UTR": X[:160],
            "mrl": y[:160],
            "library": np.where(np.arange(160) % 2, "lib_a", "lib_b"),
        }
    )
    train.to_csv(folder / "train.csv", index=False)
    # Shuffled ids, lower case and U: the output must follow the file, not sorted ids.
    order = np.random.default_rng(0).permutation(40)
    with open(folder / "new.fasta", "w") as handle:
        for i in order:
            handle.write(f">seq{i} some description\n{X[300 + i].lower().replace('t', 'u')}\n")
    (folder / "tiny.json").write_text(json.dumps({"params": TINY_PARAMS}))
    return folder


@pytest.fixture(scope="module")
def fitted(data_dir) -> Path:
    """A model fitted once through ``dynapro fit`` for the tests that only predict."""
    model = data_dir / "model.joblib"
    code = main(
        [
            "fit",
            "--data",
            str(data_dir / "train.csv"),
            "--target",
            "mrl",
            "--params",
            str(data_dir / "tiny.json"),
            "--out",
            str(model),
            "--quiet",
        ]
    )
    assert code == 0
    return model


def test_fit_predict_round_trip_keeps_ids_and_order(data_dir, fitted, capsys):
    out = data_dir / "pred.csv"
    assert main(predict_args(fitted, data_dir / "new.fasta", out, "--quiet")) == 0
    assert "40 predictions written" in capsys.readouterr().out
    table = pd.read_csv(out)
    ids = [
        line[1:].split()[0]
        for line in (data_dir / "new.fasta").read_text().splitlines()
        if line.startswith(">")
    ]
    assert list(table.columns) == ["id", "prediction"]
    assert table["id"].tolist() == ids
    assert np.isfinite(table["prediction"]).all()
    # The saved file is a plain scikit-learn pipeline giving the same predictions.
    pipeline = joblib.load(fitted)
    X, _ = load_mpra_random50()
    expected = pipeline.predict([X[300 + int(i[3:])] for i in ids])
    np.testing.assert_allclose(table["prediction"], expected, rtol=1e-5, atol=1e-6)
    assert pipeline.get_params()["model__max_epochs"] == 1


def test_safe_format_round_trip_predicts_like_joblib(data_dir, fitted, tmp_path, capsys):
    folder = tmp_path / "shared_model"
    args = ["fit", "--data", str(data_dir / "train.csv"), "--target", "mrl"]
    args += ["--params", str(data_dir / "tiny.json"), "--format", "safe", "--quiet"]
    assert main([*args, "--out", str(folder)]) == 0
    assert (folder / "manifest.json").is_file()
    safe, plain = tmp_path / "safe.csv", tmp_path / "plain.csv"
    assert main(predict_args(folder, data_dir / "new.fasta", safe, "--quiet")) == 0
    assert main(predict_args(fitted, data_dir / "new.fasta", plain, "--quiet")) == 0
    # Same data, parameters and seed: the safe folder predicts what the joblib file does.
    pd.testing.assert_frame_equal(pd.read_csv(safe), pd.read_csv(plain))
    capsys.readouterr()
    assert main([*args, "--out", str(folder)]) == 2  # never overwrites an existing folder
    assert "new folder" in capsys.readouterr().err


def test_fit_uses_the_library_column_and_predict_requires_it(data_dir, tmp_path, capsys):
    model = tmp_path / "lib.joblib"
    args = ["fit", "--data", str(data_dir / "train.csv"), "--target", "mrl"]
    args += ["--library-col", "library", "--params", str(data_dir / "tiny.json")]
    assert main([*args, "--out", str(model), "--quiet"]) == 0
    assert list(joblib.load(model)[0].libraries_) == ["lib_a", "lib_b"]

    out = tmp_path / "pred.csv"
    assert main(predict_args(model, data_dir / "train.csv", out, "--quiet")) == 0
    table = pd.read_csv(out)
    assert table["id"].tolist() == [f"utr{i:03d}" for i in range(160)]

    capsys.readouterr()
    assert main(predict_args(model, data_dir / "new.fasta", out)) == 2
    assert "library column" in capsys.readouterr().err


def test_fit_holds_out_whole_groups_for_early_stopping(data_dir, tmp_path):
    # Two labels, lib_a and lib_b, 80 rows each: the validation split takes one whole label.
    model = tmp_path / "m.joblib"
    argv = ["fit", "--data", str(data_dir / "train.csv"), "--target", "mrl"]
    argv += ["--params", str(data_dir / "tiny.json"), "--group-col", "library"]
    assert main([*argv, "--out", str(model), "--quiet"]) == 0
    batches = joblib.load(model)[-1].history_[0]["batches"]
    assert sum(b.get("valid_batch_size", 0) for b in batches) == 80


def test_predict_through_python_m_and_console_script(data_dir, fitted, tmp_path):
    out = tmp_path / "pred.csv"
    module = [sys.executable, "-m", "sklearn_dynapro.cli"]
    command = [*module, *predict_args(fitted, data_dir / "new.fasta", out, "--quiet")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(out)) == 40

    result = subprocess.run(
        [*module, *predict_args(fitted, tmp_path / "missing.csv", out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("dynapro: error: No such sequence file")

    script = shutil.which("dynapro", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the dynapro console script is not installed (pip install -e .)")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "fit" in result.stdout and "benchmark" in result.stdout


def _bad_csv(data_dir: Path, tmp_path: Path) -> Path:
    table = pd.read_csv(data_dir / "train.csv")
    table.loc[7, "5'UTR"] = "ACGTXXACGT"
    path = tmp_path / "bad.csv"
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("missing data", "No such sequence file"),
        ("missing params", "No such parameter file"),
        ("wrong target", "target_column must be one of the columns"),
        ("wrong sequence column", "sequence_column must be one of the columns"),
        ("wrong library column", "--library-col must name a column"),
        ("wrong group column", "--group-col must name a column"),
        ("invalid sequence", r"invalid characters 'X' at row \[7\]"),
        ("extra field, first record", r"at most the 4 fields of its header, got 5 at row \[0\]"),
        ("extra field, later record", r"at most the 4 fields of its header, got 5 at row \[3\]"),
        ("missing output folder", "The folder of --out must exist"),
        ("bad optimizer", "optimizer must name a class in torch.optim"),
    ],
)
def test_fit_errors_exit_2_with_a_message(case, match, data_dir, tmp_path, capsys):
    data = str(data_dir / "train.csv")
    params = str(data_dir / "tiny.json")
    out = str(tmp_path / "m.joblib")
    extra = []
    if case == "missing data":
        data = str(tmp_path / "nope.csv")
    elif case == "missing params":
        params = str(tmp_path / "nope.json")
    elif case == "wrong sequence column":
        extra = ["--sequence-col", "seq"]
    elif case == "wrong library column":
        extra = ["--library-col", "lib"]
    elif case == "wrong group column":
        extra = ["--group-col", "transcript"]
    elif case == "invalid sequence":
        data = str(_bad_csv(data_dir, tmp_path))
    elif case.startswith("extra field"):
        # pandas only warns about the first record and names the file's line for the others.
        lines = (data_dir / "train.csv").read_text().splitlines()
        lines[1 if case.endswith("first record") else 4] += ",extra"
        (tmp_path / "extra.csv").write_text("\n".join(lines) + "\n")
        data = str(tmp_path / "extra.csv")
    elif case == "missing output folder":
        out = str(tmp_path / "no" / "m.joblib")
    elif case == "bad optimizer":
        (tmp_path / "p.json").write_text(json.dumps({**TINY_PARAMS, "optimizer": "Adamm"}))
        params = str(tmp_path / "p.json")
    target = "MRL" if case == "wrong target" else "mrl"
    argv = ["fit", "--data", data, "--target", target, "--params", params, "--out", out]
    assert main([*argv, *extra, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynapro: error: ")
    assert re.search(match, err), err
    assert not Path(out).exists()


def test_invalid_sequence_message_names_the_file_and_row(data_dir, tmp_path, capsys):
    bad = _bad_csv(data_dir, tmp_path)
    argv = ["fit", "--data", str(bad), "--target", "mrl", "--out", str(tmp_path / "m.joblib")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "row [7]" in err


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--model", "{tmp}/nope.joblib", "--data", "{data}/new.fasta"], "No such model file"),
        (["--model", "{data}/tiny.json", "--data", "{data}/new.fasta"], "written by 'dynapro fit'"),
        (["--model", "{model}", "--data", "{tmp}/nope.fa"], "No such sequence file"),
        (["--model", "{model}", "--data", "{data}/train.csv", "--id-col", "x"], "id_column"),
    ],
)
def test_predict_errors_exit_2_with_a_message(argv, match, data_dir, fitted, tmp_path, capsys):
    fill = {"tmp": tmp_path, "data": data_dir, "model": fitted}
    argv = [a.format(**fill) for a in argv]
    assert main(["predict", *argv, "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynapro: error: ") and match in err


def test_predict_names_rows_of_invalid_sequences(fitted, tmp_path, capsys):
    fasta = tmp_path / "bad.fa"
    fasta.write_text(">a\nACGTACGT\n>b\nACG TAC\n")
    argv = ["predict", "--model", str(fitted), "--data", str(fasta)]
    assert main([*argv, "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert "row [1]" in err and str(fasta) in err


def test_tune_warns_with_the_file_s_rows(data_dir, tmp_path):
    # The networks inside tune see inner folds only; the up-front check names file rows.
    table = pd.read_csv(data_dir / "train.csv")
    table.loc[159, "5'UTR"] = "ACGN" * 12 + "AC"
    table.to_csv(tmp_path / "n.csv", index=False)
    argv = ["tune", "--data", str(tmp_path / "n.csv"), "--target", "mrl", "--tiny"]
    argv += ["--features", "none", "--n-trials", "1", "--inner-folds", "2", "--quiet"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*argv, "--out", str(tmp_path / "best.json")]) == 0
    assert any("row [159]" in str(w.message) for w in caught)


def test_too_long_sequences_suggest_the_command_s_own_option(data_dir, tmp_path, capsys):
    data = ["--data", str(data_dir / "train.csv"), "--target", "mrl", "--max-len", "40"]
    out = ["--out", str(tmp_path / "m.joblib")]
    assert main(["fit", *data, *out]) == 2
    err = capsys.readouterr().err
    assert "longer than max_len=40 (pass --truncate to keep the 3' end)" in err
    # tune has no option that truncates, so it suggests none.
    assert main(["tune", *data, "--out", str(tmp_path / "best.json")]) == 2
    err = capsys.readouterr().err
    assert "longer than max_len=40 at rows" in err and "truncate" not in err


def test_warnings_about_rows_come_once(data_dir, fitted, tmp_path):
    # The up-front check of the file and the model both read the rows; only one warns.
    fasta = tmp_path / "n.fa"
    fasta.write_text(">a\n" + "ACGT" * 12 + "AC\n>b\n" + "ACGN" * 12 + "AC\n")
    argv = ["predict", "--model", str(fitted), "--data", str(fasta), "--quiet"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*argv, "--out", str(tmp_path / "p.csv")]) == 0
    ambiguous = [w for w in caught if "mbiguous" in str(w.message)]
    assert len(ambiguous) == 1 and "row [1]" in str(ambiguous[0].message)


@pytest.mark.parametrize("command", ["fit", "predict", "tune", "benchmark"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: dynapro {command}" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    tune = ["tune", "--data", "x.csv", "--target", "mrl"]
    for argv, message in (
        ([*tune, "--timeout", "-1"], "argument --timeout: must be a positive number, got '-1'"),
        ([*tune, "--timeout", "inf"], "must be a positive number, got 'inf'"),
        (
            [*tune, "--n-trials", "abc"],
            "argument --n-trials: must be a positive integer, got 'abc'",
        ),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    for argv in ([], ["fit", "--data", "x.csv"], ["nonsense"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    assert "dynapro" in capsys.readouterr().err
    usage = build_parser().format_help()
    assert all(command in usage for command in ("fit", "predict", "tune", "benchmark"))


def test_tune_writes_params_that_fit_reads(data_dir, tmp_path, capsys):
    best = tmp_path / "best.json"
    argv = ["tune", "--data", str(data_dir / "train.csv"), "--target", "mrl", "--tiny"]
    argv += ["--features", "none", "--n-trials", "2", "--inner-folds", "2", "--quiet"]
    assert main([*argv, "--out", str(best)]) == 0
    assert "best r2_pearson" in capsys.readouterr().out
    document = json.loads(best.read_text())
    assert document["params"]["features"] is None
    assert document["params"]["optimizer"] in ("SGD", "AdamW")
    assert document["metadata"]["trials"]["complete"] == 2

    model = tmp_path / "tuned.joblib"
    argv = ["fit", "--data", str(data_dir / "train.csv"), "--target", "mrl"]
    assert main([*argv, "--params", str(best), "--out", str(model), "--quiet"]) == 0
    fitted = joblib.load(model)
    assert fitted[-1].module_.d_model == 16
    assert fitted.get_params()["encode__features"] is None


def test_tune_with_a_storage_that_cannot_be_opened_exits_2(data_dir, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'missing' / 'tune.db'}"
    argv = ["tune", "--data", str(data_dir / "train.csv"), "--target", "mrl", "--tiny"]
    argv += ["--features", "none", "--n-trials", "1", "--storage", url, "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "best.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynapro: error: ") and "could not be opened" in err
    # The storage is opened before the data is read (which may take a while).
    argv[argv.index("--data") + 1] = str(tmp_path / "nope.csv")
    assert main([*argv, "--out", str(tmp_path / "best.json")]) == 2
    assert "could not be opened" in capsys.readouterr().err
    # A file that is not a journal (here the training CSV) is named as such.
    argv[argv.index("--storage") + 1] = str(data_dir / "train.csv")
    assert main([*argv, "--out", str(tmp_path / "best.json")]) == 2
    assert "must be an Optuna journal file" in capsys.readouterr().err


def test_ctrl_c_during_fit_exits_130_and_writes_no_model(data_dir, tmp_path, monkeypatch, capsys):
    # skorch ends training quietly on a KeyboardInterrupt; the command must not then save
    # the half-trained model and exit 0.
    import sklearn_dynapro.models as models

    class CtrlC(Callback):
        def on_epoch_end(self, net, **kwargs):
            # What Python's SIGINT handler raises (sending the signal would depend on the
            # disposition the test run inherited: background jobs ignore it).
            raise KeyboardInterrupt

    make = models.make_dynapro_pipeline
    monkeypatch.setattr(
        models,
        "make_dynapro_pipeline",
        lambda **params: make(**{**params, "max_epochs": 3, "callbacks": [("ctrl_c", CtrlC())]}),
    )
    out = tmp_path / "m.joblib"
    argv = ["fit", "--data", str(data_dir / "train.csv"), "--target", "mrl"]
    assert main([*argv, "--params", str(data_dir / "tiny.json"), "--out", str(out)]) == 130
    assert "dynapro: interrupted" in capsys.readouterr().err
    assert not out.exists()
