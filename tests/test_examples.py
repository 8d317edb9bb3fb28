"""Smoke tests: every example runs end to end on a small slice of the bundled data."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        ("quickstart_features.py", ["--n", "600", "--n-jobs", "1"], "R2 (coefficient"),
        ("quickstart_dynapro.py", ["--n", "500", "--epochs", "1"], "held-out r2"),
        ("te_el_grouped_folds.py", ["--n", "300", "--folds", "3"], "Spearman rho"),
        (
            "compare_baselines.py",
            ["--n", "300", "--folds", "2", "--epochs", "1", "--trees", "10"],
            "identical folds",
        ),
        (
            "tune_dynapro.py",
            ["--n", "300", "--trials", "2", "--max-epochs", "3"],
            "best parameters written",
        ),
        (
            "design_utrs.py",
            ["--n", "2000", "--designs", "2", "--steps", "5", "--population", "20",
             "--generations", "5"],
            "best predicted MRL",
        ),
    ],
)
def test_example_runs(script, args, expected, tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
