"""Fixtures shared by the test modules."""

from collections.abc import Iterator

import pytest
import torch

from sklearn_dynapro import make_dynapro_pipeline
from sklearn_dynapro.baselines import (
    make_framepool_pipeline,
    make_kmer_baseline,
    make_mttrans_pipeline,
    make_optimus_pipeline,
    make_rf_baseline,
)


@pytest.fixture
def fit_groups(monkeypatch) -> list:
    """Record the ``groups`` each ``DynaProRegressor.fit`` is given (None when none), in order."""
    from sklearn_dynapro.models import DynaProRegressor

    seen = []
    fit = DynaProRegressor.fit

    def recording_fit(self, X, y, groups=None, **params):
        seen.append(groups)
        return fit(self, X, y, groups=groups, **params)

    monkeypatch.setattr(DynaProRegressor, "fit", recording_fit)
    return seen


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny models on a shared machine: one intra-op thread is faster and steadier.

    Modules that train networks opt in with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


#: One epoch of tiny networks. device="cpu" rather than the default "auto": fitting resolves
#: "auto" into the parameter, which test_conformance's test_fit_keeps_device_auto documents.
TINY = {"max_epochs": 1, "batch_size": 32, "random_state": 0, "device": "cpu"}

#: The smallest pipeline of every model, for the conformance and property checks.
PIPELINES = {
    "dynapro": lambda: make_dynapro_pipeline(
        module__d_model=16, module__n_heads=2, module__n_layers=1, module__ffn_dim=16, **TINY
    ),
    "optimus": lambda: make_optimus_pipeline(module__n_filters=4, module__dense_dim=4, **TINY),
    "framepool": lambda: make_framepool_pipeline(module__n_filters=4, module__dense_dim=4, **TINY),
    "mttrans": lambda: make_mttrans_pipeline(
        module__conv_channels=(4, 4, 4, 4), module__tower_hidden=4, **TINY
    ),
    "rf": lambda: make_rf_baseline(n_estimators=5, random_state=0),
    "kmer": lambda: make_kmer_baseline(k_range=(1, 3)),
}
