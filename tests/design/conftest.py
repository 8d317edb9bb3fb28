"""A fitted k-mer ridge model on real 50-nt UTRs, the oracle of the design tests."""

import pytest

from sklearn_dynapro.baselines import make_kmer_baseline
from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.design import DesignConstraints


@pytest.fixture(scope="session")
def kmer_oracle():
    """k-mer (k = 1…3) ridge regression fitted on 400 random 50-nt UTRs with their MRL."""
    X, y = load_mpra_random50()
    return make_kmer_baseline(k_range=(1, 3)).fit(X[:400], y[:400])


@pytest.fixture(scope="session")
def strict():
    """50 nt, no uAUG, Kozak purine, GC 0.4–0.6, a fixed 5' motif and two BsaI sites banned."""
    return DesignConstraints(
        50,
        forbid_uaug=True,
        kozak=True,
        gc_min=0.4,
        gc_max=0.6,
        fixed=[(0, "GGG"), (-1, "C")],
        forbidden_motifs=["GGTCTC", "GAGACC"],
    )
