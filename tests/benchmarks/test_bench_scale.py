"""Smoke test of benchmarks/bench_scale.py: every task at a tiny size, runs in-process."""

import pytest


@pytest.fixture
def bench(import_benchmark, monkeypatch):
    # main() sets the BLAS pools of the processes it would spawn through these variables.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    return import_benchmark("bench_scale")


def test_synthetic_utrs_are_seeded_random50_like(bench):
    first = list(bench.synthetic_utrs(25_000, seed=3))
    assert first == list(bench.synthetic_utrs(25_000, seed=3))
    assert first != list(bench.synthetic_utrs(25_000, seed=4))
    assert {len(s) for s in first} == {50} and set("".join(first)) == set("ACGT")


def test_tiny_run_prints_every_task_and_mode(bench, tmp_path, capsys):
    out = tmp_path / "scale.md"
    bench.main(
        [
            "--tasks", "predict,features,fold", "--sizes", "120,250", "--chunk-size", "100",
            "--naive-max", "120", "--out", str(out),
        ]
    )  # fmt: skip
    table = out.read_text()
    assert table in capsys.readouterr().out + "\n"
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[:2] for row in rows[1:]] == [
        ["| predict", "120"], ["| predict", "250"], ["| features", "120"],
        ["| features", "250"], ["| fold", "120"], ["| fold", "250"],
    ]  # fmt: skip
    cells = {tuple(row.split(" | ")[:2]): row.split(" | ") for row in rows[1:]}
    # Naive columns up to --naive-max only, and never for folding alone.
    assert cells[("| predict", "120")][-1] != "— |" and cells[("| features", "120")][-1] != "— |"
    assert cells[("| predict", "250")][-1] == "— |" and cells[("| fold", "120")][-1] == "— |"
    assert "fold cache on" in table
