"""Every kind of model the library builds, fitted once per session on a little real data."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklearn_dynapro import make_dynapro_pipeline
from sklearn_dynapro.baselines import (
    make_framepool_pipeline,
    make_kmer_baseline,
    make_mttrans_pipeline,
    make_optimus_pipeline,
    make_rf_baseline,
)
from sklearn_dynapro.datasets import load_cao2021_te, load_mpra_random50, load_mpra_varlen_random
from sklearn_dynapro.features import BiophysicalFeatures
from sklearn_dynapro.persistence import save
from sklearn_dynapro.persistence._manifest import MANIFEST, sha256

TINY_DYNAPRO = {
    "module__d_model": 16,
    "module__n_layers": 1,
    "module__n_heads": 2,
    "module__ffn_dim": 16,
    "optimizer": torch.optim.AdamW,
    "lr": 3e-3,
    "max_epochs": 1,
    "batch_size": 64,
    "random_state": 0,
}
TINY_CNN = {"max_epochs": 1, "batch_size": 64, "lr": 3e-3, "random_state": 0}


def _models():
    """name -> (unfitted model, which data it takes: "frame", "list" or "two_targets")."""
    return {
        "dynapro": (make_dynapro_pipeline(features=None, **TINY_DYNAPRO), "list"),
        "dynapro_features_library": (
            make_dynapro_pipeline(library_column="library", **TINY_DYNAPRO),
            "frame",
        ),
        "dynapro_two_targets": (
            make_dynapro_pipeline(features=None, max_len=101, **TINY_DYNAPRO),
            "two_targets",
        ),
        "optimus": (
            make_optimus_pipeline(module__n_filters=4, module__dense_dim=4, **TINY_CNN),
            "list",
        ),
        "framepool_library": (
            make_framepool_pipeline(
                library_column="library", module__n_filters=4, module__dense_dim=4, **TINY_CNN
            ),
            "frame",
        ),
        "mttrans": (
            make_mttrans_pipeline(
                module__conv_channels=(4, 4, 4, 4), module__tower_hidden=4, **TINY_CNN
            ),
            "frame",
        ),
        "rf": (make_rf_baseline(n_estimators=5, random_state=0), "list"),
        "kmer": (make_kmer_baseline(k_range=(1, 3)), "list"),
        "biophysical_ridge": (make_pipeline(BiophysicalFeatures(), Ridge()), "list"),
        "columns_hist_gradient_boosting": (
            make_pipeline(
                ColumnTransformer(
                    [
                        ("biophysical", BiophysicalFeatures(), "sequence"),
                        ("library", OneHotEncoder(), ["library"]),
                    ]
                ),
                HistGradientBoostingRegressor(max_iter=10, random_state=0),
            ),
            "frame",
        ),
    }


MODEL_NAMES = list(_models())
NET_NAMES = [name for name in MODEL_NAMES if not name.startswith(("rf", "kmer", "bio", "col"))]


def pytest_generate_tests(metafunc):
    """Run tests taking ``model_name`` on every model and ``net_name`` on every neural one."""
    for argument, names in (("model_name", MODEL_NAMES), ("net_name", NET_NAMES)):
        if argument in metafunc.fixturenames:
            metafunc.parametrize(argument, names)


@pytest.fixture(scope="session")
def datasets():
    """Two libraries (150 random 50-mers, 150 UTRs of 25-100 nt) and a two-target set."""
    X50, y50 = load_mpra_random50(as_frame=True)
    Xvar, yvar = load_mpra_varlen_random(as_frame=True)
    frame = pd.concat([X50.iloc[:150], Xvar.iloc[::50].iloc[:150]], ignore_index=True)
    y = np.concatenate([y50.to_numpy()[:150], yvar.to_numpy()[::50][:150]])
    X2, y2 = load_cao2021_te(cell_line="HEK293", target="both")
    return {
        "frame": (frame, y),
        "list": (frame["sequence"].tolist(), y),
        "two_targets": (X2.iloc[:200], y2.iloc[:200]),
    }


@pytest.fixture(scope="session")
def fitted(datasets):
    """``fitted(name) -> (model, X)``: the model fitted on its data (cached)."""
    cache = {}
    models = _models()

    def get(name):
        if name not in cache:
            model, kind = models[name]
            X, y = datasets[kind]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # N bases in the data, skorch notices
                model.fit(X, y)
            cache[name] = (model, X)
        return cache[name]

    return get


def _rewrite(directory, name: str, data: bytes) -> None:
    """Replace a file of a saved model and update its digest, as a careful attacker would."""
    (directory / name).write_bytes(data)
    manifest = json.loads((directory / MANIFEST).read_bytes())
    manifest["files"][name] = sha256(data)
    (directory / MANIFEST).write_text(json.dumps(manifest))


def _edit_config(directory, edit) -> None:
    """Apply ``edit(config)`` to a saved model's config.json, keeping the manifest valid."""
    config = json.loads((directory / "config.json").read_bytes())
    edit(config)
    _rewrite(directory, "config.json", json.dumps(config).encode())


@pytest.fixture
def rewrite():
    """``rewrite(directory, name, data)``: replace a file and its digest in the manifest."""
    return _rewrite


@pytest.fixture
def edit_config():
    """``edit_config(directory, edit)``: change config.json, keeping the manifest valid."""
    return _edit_config


@pytest.fixture
def saved(fitted, tmp_path):
    """``saved(name) -> (directory, model, X)``: a fitted model saved to a fresh directory."""

    def get(name):
        model, X = fitted(name)
        return save(model, tmp_path / name), model, X

    return get
