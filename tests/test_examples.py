"""Smoke tests: every example runs end to end on a small slice of the bundled data.

Each run must also print its numbers in range: on these slices (a few hundred sequences,
one or two epochs) the networks' scores are near 0, so only the feature model, trained to
convergence, is held to a real score; the others must report finite scores for every model
and fold they name.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"
NUMBER = r"(-?\d+\.\d+)"


def _values(pattern: str, stdout: str, count: int = 1) -> list[float]:
    found = re.findall(pattern, stdout, flags=re.MULTILINE)
    assert len(found) == count, f"{pattern!r} found {len(found)} times in:\n{stdout}"
    values = [float(v) for match in found for v in (match if isinstance(match, tuple) else [match])]
    assert all(abs(v) < 1e6 for v in values), values  # finite, printed as numbers
    return values


def _features(out):
    (r2,) = _values(rf"R2 \(coefficient of determination\): {NUMBER} ±", out)
    assert r2 > 0.5  # 0.78 measured: biophysical features predict MRL well


def _dynapro(out):
    (r2,) = _values(rf"held-out r2 \(squared Pearson\) on 100 sequences: {NUMBER}", out)
    assert 0 <= r2 <= 1


def _te_el(out):
    tail = rf"Spearman rho {NUMBER} ± {NUMBER} \(3 folds grouped by transcript, 300 windows\)"
    for model in ("features \\+ gradient boosting", "DynaPro"):
        rho = _values(rf"log (?:te|expression), {model}: {tail}", out, count=2)[::2]
        assert all(-1 <= r <= 1 for r in rho)


def _compare(out):
    assert "identical folds" in out
    for model in ("dynapro", "optimus", "framepool", "kmer_ridge", "rf"):
        (r2, _sd) = _values(rf"^{model}\s+{NUMBER} ± {NUMBER}", out)
        assert 0 <= r2 <= 1


def _tune(out):
    assert "2 trials in the study (2 complete, 0 pruned)" in out
    assert "best parameters written to best_params.json" in out
    (r2,) = _values(rf"held-out r2 \(squared Pearson\) of the best setting: {NUMBER}", out)
    assert 0 <= r2 <= 1


def _design(out):
    greedy, genetic, training = _values(
        rf"best predicted MRL: greedy {NUMBER}, genetic {NUMBER}, best valid training UTR "
        rf"{NUMBER}",
        out,
    )
    assert min(greedy, genetic, training) > 0


@pytest.mark.parametrize(
    ("script", "args", "check"),
    [
        ("quickstart_features.py", ["--n", "600", "--n-jobs", "1"], _features),
        ("quickstart_dynapro.py", ["--n", "500", "--epochs", "1"], _dynapro),
        ("te_el_grouped_folds.py", ["--n", "300", "--folds", "3", "--epochs", "1"], _te_el),
        (
            "compare_baselines.py",
            ["--n", "300", "--folds", "2", "--epochs", "1", "--trees", "10"],
            _compare,
        ),
        ("tune_dynapro.py", ["--n", "300", "--trials", "2", "--max-epochs", "2"], _tune),
        (
            "design_utrs.py",
            "--n 2000 --designs 2 --steps 5 --population 20 --generations 5".split(),
            _design,
        ),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else None,
)
def test_example_runs(script, args, check, tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    check(result.stdout)
