"""Folding and cross-validation on Dask and Ray clusters, through joblib's backends.

Each cluster runs two single-threaded worker processes on this machine. The folding and the
scoring functions are wrapped so that every call records the process it ran in: the work must
reach the cluster's workers, and give exactly what a local run gives.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from joblib import parallel_config, wrap_non_picklable_objects
from sklearn.metrics import get_scorer
from sklearn.model_selection import cross_validate

from sklearn_dynapro.baselines import make_kmer_baseline
from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.features import BiophysicalFeatures, _folding
from sklearn_dynapro.streaming import predict_chunked


def _recording(fn, folder: str, probe=None):
    """Wrap ``fn`` to leave a file named after the calling process (holding ``probe()``)."""

    def recorded(*args):
        import os
        from pathlib import Path

        Path(folder, str(os.getpid())).write_text("" if probe is None else str(probe()))
        return fn(*args)

    # Travels by value (cloudpickle), like the folding function itself.
    return wrap_non_picklable_objects(recorded)


def _calls(folder: Path) -> dict[int, str]:
    return {int(p.name): p.read_text() for p in folder.iterdir()}


@pytest.fixture(scope="module")
def data():
    X, y = load_mpra_random50()
    return X[:300], y[:300]


@pytest.fixture(scope="module")
def local(data):
    """Features and cross-validated scores computed in this process, the reference."""
    X, y = data
    features = BiophysicalFeatures(n_jobs=1, cache=False).fit_transform(X)
    scores = cross_validate(make_kmer_baseline(k_range=(1, 4)), X, y, cv=3, scoring="r2")[
        "test_score"
    ]
    return features, scores


@pytest.fixture
def spy(monkeypatch, tmp_path):
    """Record the processes that fold; returns a function giving {pid: probe value}."""

    folder = tmp_path / "fold"
    folder.mkdir()

    def install(probe=None):
        recorded = _recording(_folding._fold_chunk, str(folder), probe)
        monkeypatch.setattr(_folding, "_fold_chunk", recorded)
        return lambda: _calls(folder)

    return install


def _run_on_cluster(backend: str, data, tmp_path: Path, probe=None):
    """BiophysicalFeatures(n_jobs=2) and cross_validate(n_jobs=2) under ``backend``."""
    X, y = data
    folder = tmp_path / "cv"
    folder.mkdir()
    with parallel_config(backend=backend):
        # cache=False: the cache lives in this process, so a warm one would fold nothing.
        features = BiophysicalFeatures(n_jobs=2, cache=False).fit_transform(X)
        # Functions of this module could not be unpickled by the workers: sklearn's can.
        scoring = _recording(get_scorer("r2"), str(folder), probe)
        scores = cross_validate(
            make_kmer_baseline(k_range=(1, 4)), X, y, cv=3, n_jobs=2, scoring=scoring
        )
    return features, scores["test_score"], _calls(folder)


# ------------------------------------------------------------------------------- dask
@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip(
        "distributed", reason="needs dask.distributed (pip install 'sklearn-dynapro[dask]')"
    )
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_dask_workers_fold_and_cross_validate(dask_client, data, local, spy, tmp_path):
    folded = spy()
    features, scores, scored = _run_on_cluster("dask", data, tmp_path)
    workers = set(dask_client.run(os.getpid).values())
    assert len(workers) == 2 and os.getpid() not in workers
    assert folded() and set(folded()) <= workers
    assert len(scored) >= 1 and set(scored) <= workers
    np.testing.assert_allclose(features, local[0], rtol=0, atol=0)
    np.testing.assert_array_equal(scores, local[1])


def test_dask_workers_predict_chunks(dask_client, data):
    X, y = data
    model = make_kmer_baseline(k_range=(1, 4)).fit(X[:200], y[:200])
    expected = predict_chunked(model, X, chunk_size=40)
    with parallel_config(backend="dask"):
        np.testing.assert_array_equal(predict_chunked(model, X, chunk_size=40, n_jobs=2), expected)


# -------------------------------------------------------------------------------- ray
@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="needs ray (pip install 'sklearn-dynapro[ray]')")
    from ray.util.joblib import register_ray

    register_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_ray_workers_fold_and_cross_validate(ray_cluster, data, local, spy, tmp_path):
    ray = ray_cluster

    def actor():  # Ray's joblib backend runs tasks in a pool of actors
        return ray.get_runtime_context().get_actor_id()

    folded = spy(actor)
    features, scores, scored = _run_on_cluster("ray", data, tmp_path, actor)
    for calls in (folded(), scored):
        assert calls and os.getpid() not in calls
        assert all(actor_id not in ("", "None") for actor_id in calls.values())
    np.testing.assert_allclose(features, local[0], rtol=0, atol=0)
    np.testing.assert_array_equal(scores, local[1])
