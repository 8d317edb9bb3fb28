"""Loaders for the real measurements shipped inside the package (nothing downloads)."""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd

from .._validation import format_rows

__all__ = ["load_cao2021_te", "load_mpra_random50", "load_mpra_varlen_random"]

_CELL_LINES = ("HEK293", "PC3")
_TARGETS = ("te", "expression", "both")


def _read_bundled(name: str) -> pd.DataFrame:
    """Read one of the gzipped CSV files in ``datasets/data`` through importlib.resources."""
    resource = files("sklearn_dynapro.datasets") / "data" / name
    with resource.open("rb") as handle:
        return pd.read_csv(handle, compression="gzip")


def _load_mpra(name: str, library: str, as_frame: bool):
    data = _read_bundled(name)
    # Copies: pandas' copy-on-write hands out read-only views, and users edit arrays.
    sequences = data["utr"].to_numpy(dtype=object, copy=True)
    mrl = data["rl"].to_numpy(dtype=np.float64, copy=True)
    if not as_frame:
        return sequences, mrl
    X = pd.DataFrame({"sequence": sequences, "library": library})
    return X, pd.Series(mrl, name="mrl")


def load_mpra_random50(*, as_frame: bool = False):
    """Load 20,000 random 50-nt 5' UTRs with their mean ribosome load.

    Polysome-profiling MPRA in HEK293T cells (Sample et al., 2019, Nat. Biotechnol.
    37:803-809; GEO GSE114002, GSM3130435, replicate 1 of the unmodified-eGFP library): the
    20,000 best-covered sequences, the standard test set of that library. Each UTR sits
    directly upstream of the eGFP start codon, so its last base is the base before the ATG.

    Parameters
    ----------
    as_frame : bool, default=False
        Return pandas objects instead of ndarrays.

    Returns
    -------
    X : ndarray of shape (20000,), dtype object, or DataFrame of shape (20000, 2)
        Upper-case DNA sequences, all 50 nt. With ``as_frame=True``, a DataFrame with the
        columns ``sequence`` and ``library`` (always ``"random50"``).
    y : ndarray of shape (20000,), float64, or Series named ``"mrl"``
        Mean ribosome load (mean number of ribosomes per mRNA, about 2 to 9).

    Examples
    --------
    >>> from sklearn_dynapro.datasets import load_mpra_random50
    >>> X, y = load_mpra_random50()
    >>> X.shape, y.dtype
    ((20000,), dtype('float64'))
    """
    return _load_mpra("mpra_random50.csv.gz", "random50", as_frame)


def load_mpra_varlen_random(*, as_frame: bool = False):
    """Load 7,600 random 5' UTRs of 25 to 100 nt with their mean ribosome load.

    Polysome-profiling MPRA in HEK293T cells (Sample et al., 2019, Nat. Biotechnol.
    37:803-809; GEO GSE114002, GSM4084997): 100 sequences for each length from 25 to 100 nt.
    The last base of each UTR is the base before the eGFP start codon.

    Parameters
    ----------
    as_frame : bool, default=False
        Return pandas objects instead of ndarrays.

    Returns
    -------
    X : ndarray of shape (7600,), dtype object, or DataFrame of shape (7600, 2)
        Upper-case DNA sequences. With ``as_frame=True``, a DataFrame with the columns
        ``sequence`` and ``library`` (always ``"varlen_random"``).
    y : ndarray of shape (7600,), float64, or Series named ``"mrl"``
        Mean ribosome load.
    """
    return _load_mpra("mpra_varlen_random.csv.gz", "varlen_random", as_frame)


def _log_positive(values: pd.Series, what: str) -> np.ndarray:
    """Natural log of a column that must be positive; non-positive rows are an error."""
    arr = values.to_numpy(dtype=np.float64)
    bad = ~(arr > 0)
    if bad.any():
        raise ValueError(
            f"{what} must be positive to take its log, got non-positive or missing values "
            f"at {format_rows(np.flatnonzero(bad).tolist())}."
        )
    return np.log(arr)


def load_cao2021_te(*, cell_line: str | None = None, target: str = "te"):
    """Load 101-nt windows of human 5' UTRs with translation efficiency and expression.

    Ribosome profiling and RNA-seq of HEK293 and PC3 cells (Cao et al., 2021, Nat. Commun.
    12:4138; the source of the "TE" and "EL" tasks of UTR-LM). Each row is a 101-nt window
    of an endogenous 5' UTR, labelled with the measurements of its transcript; for more
    than half of the rows it is the last 101 nt before the start codon, otherwise a window
    further upstream.

    A transcript often contributes several windows that share its labels, so split folds
    by ``X["transcript_id"]`` (for example with :class:`~sklearn.model_selection.GroupKFold`);
    otherwise a model is scored on sequences it has nearly seen.

    Parameters
    ----------
    cell_line : {"HEK293", "PC3"} or None, default=None
        Keep the rows of one cell line; ``None`` keeps both (4,890 rows: HEK293 2,442,
        PC3 2,448).
    target : {"te", "expression", "both"}, default="te"
        ``"te"``: natural log of the translation efficiency (ribosome-footprint RPKM over
        RNA-seq RPKM). ``"expression"``: natural log of the mRNA expression level (RNA-seq
        RPKM). ``"both"``: both, as two columns. Every bundled value is positive (TE from
        0.14, RPKM from 10), so the log is defined for every row; should a value ever be
        non-positive the loader raises instead of dropping rows, which would silently
        change the groups.

    Returns
    -------
    X : DataFrame of shape (n_samples, 5)
        Columns ``sequence`` (str, 101 nt), ``cell_line``, ``transcript_id``, ``gene`` and
        ``window`` (int64, the window's number within its transcript), with a fresh
        ``RangeIndex``.
    y : Series of shape (n_samples,) or DataFrame of shape (n_samples, 2), float64
        ``"log_te"``, ``"log_expression"``, or a DataFrame with both columns.

    Examples
    --------
    >>> from sklearn_dynapro.datasets import load_cao2021_te
    >>> X, y = load_cao2021_te(cell_line="PC3")
    >>> X.shape, y.name
    ((2448, 5), 'log_te')
    """
    if cell_line is not None and cell_line not in _CELL_LINES:
        raise ValueError(f"cell_line must be one of {_CELL_LINES} or None, got {cell_line!r}.")
    if target not in _TARGETS:
        raise ValueError(f"target must be one of {_TARGETS}, got {target!r}.")
    data = _read_bundled("cao2021_endogenous_te.csv.gz")
    if cell_line is not None:
        data = data[data["cell_line"] == cell_line].reset_index(drop=True)
    X = pd.DataFrame(
        {
            "sequence": data["utr"],
            "cell_line": data["cell_line"],
            "transcript_id": data["transcript_id"],
            "gene": data["gene"],
            "window": data["window"].astype(np.int64),
        }
    )
    y = pd.DataFrame(
        {
            "log_te": _log_positive(data["te"], "te"),
            "log_expression": _log_positive(data["rna_rpkm"], "rna_rpkm"),
        }
    )
    if target == "te":
        return X, y["log_te"]
    if target == "expression":
        return X, y["log_expression"]
    return X, y
