"""Shared fixtures for ``sklearn_dynapro.interpret``: real UTRs and small fitted pipelines."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sklearn_dynapro import make_dynapro_pipeline
from sklearn_dynapro.baselines import make_kmer_baseline
from sklearn_dynapro.datasets import load_mpra_random50

TINY_DYNAPRO = {
    "features": None,
    "module__d_model": 16,
    "module__n_layers": 1,
    "module__n_heads": 2,
    "module__ffn_dim": 16,
    "max_epochs": 1,
    "batch_size": 64,
    "optimizer": torch.optim.AdamW,
    "lr": 3e-3,
    "random_state": 0,
}


@pytest.fixture(autouse=True)
def _tiny_models_on_one_thread(one_thread) -> None:
    """Every test here trains or runs tiny models: one torch thread (tests/conftest.py)."""


@pytest.fixture(scope="session")
def mrl() -> tuple[np.ndarray, np.ndarray]:
    """300 random 50-nt UTRs and their mean ribosome load."""
    X, y = load_mpra_random50()
    return X[:300], y[:300]


@pytest.fixture(scope="session")
def ridge(mrl):
    """k-mer ridge baseline (k = 1…3): any length, deterministic predictions."""
    X, y = mrl
    return make_kmer_baseline(k_range=(1, 3)).fit(X, y)


@pytest.fixture(scope="session")
def dynapro(mrl):
    """A one-layer, width-16 DynaPro pipeline trained for one epoch."""
    X, y = mrl
    torch.set_num_threads(1)
    return make_dynapro_pipeline(**TINY_DYNAPRO).fit(X, y)
