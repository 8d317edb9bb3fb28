"""Import benchmark scripts in-process, with their per-fold processes run inline."""

import importlib
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


@pytest.fixture
def import_benchmark(monkeypatch):
    """Return a function importing ``benchmarks/<name>.py`` whose ``run_isolated`` runs inline.

    Spawning a process per fold costs seconds of imports, so smoke tests run them here; torch's
    thread count, which the scripts set, is restored afterwards and the module is forgotten.
    """
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    threads = torch.get_num_threads()
    names = []

    def inline(fn, *args, **kwargs):
        return fn(*args, **kwargs)

    monkeypatch.setattr(importlib.import_module("_harness"), "run_isolated", inline)

    def load(name: str):
        module = importlib.import_module(name)
        names.append(name)
        if hasattr(module, "run_isolated"):  # imported by name: patch that binding too
            monkeypatch.setattr(module, "run_isolated", inline)
        return module

    yield load
    torch.set_num_threads(threads)
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture
def first_fold():
    """Return a function cutting a benchmark data set to its first split, of given sizes."""

    def cut(dataset, n_train: int, n_test: int):
        train, test = dataset.splits[0]
        return type(dataset)(
            dataset.name,
            dataset.X,
            dataset.y,
            [(train[:n_train], test[:n_test])],
            dataset.max_len,
            dataset.targets,
            dataset.groups,
        )

    return cut
