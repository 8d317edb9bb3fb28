"""Small samples of the bundled real data, read directly (independent of the loaders)."""

from pathlib import Path

import pandas as pd
import pytest

import sklearn_dynapro

DATA = Path(sklearn_dynapro.__file__).parent / "datasets" / "data"


def read_utrs(name: str, nrows: int) -> list[str]:
    """First ``nrows`` UTR sequences of a bundled CSV file."""
    return pd.read_csv(DATA / name, nrows=nrows)["utr"].tolist()


@pytest.fixture(scope="session")
def random50() -> list[str]:
    """200 random 50-nt UTRs (Sample et al. 2019)."""
    return read_utrs("mpra_random50.csv.gz", 200)


@pytest.fixture(scope="session")
def varlen() -> list[str]:
    """100 random UTRs of 25-100 nt, one in every 76 rows (the file is sorted by length)."""
    return read_utrs("mpra_varlen_random.csv.gz", 7600)[::76]


@pytest.fixture(scope="session")
def endogenous() -> list[str]:
    """20 windows of natural human 5' UTRs, 101 nt (Cao et al. 2021)."""
    return read_utrs("cao2021_endogenous_te.csv.gz", 20)
