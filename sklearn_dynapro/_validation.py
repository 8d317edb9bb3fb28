"""One checker for sequence input, used by every transformer and estimator.

Sequences are normalised to upper-case DNA (``U`` becomes ``T``). Anything that is not a
nucleotide is an error that names the offending rows; IUPAC ambiguity codes (``N`` included)
follow the ``ambiguous`` policy.
"""

from __future__ import annotations

import contextlib
import numbers
import re
import warnings
from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

__all__ = [
    "AMBIGUOUS_POLICIES",
    "IUPAC_AMBIGUOUS",
    "check_bool",
    "check_groups",
    "check_int",
    "check_library_labels",
    "check_sequences",
    "check_target",
    "format_rows",
    "library_indices",
]

#: Ambiguity codes that are read as ``N`` (any base) when the policy allows them.
IUPAC_AMBIGUOUS = frozenset("NRYSWKMBDHV")
AMBIGUOUS_POLICIES = ("error", "warn", "mask")

_ACGT = re.compile(r"[ACGT]+")
_ACGTN = re.compile(r"[ACGTN]+")
_AMBIGUOUS_TO_N = str.maketrans({c: "N" for c in IUPAC_AMBIGUOUS})
#: How NumPy and pandas write missing values as text; "NaN" would otherwise pass as N-A-N.
_MISSING_TEXT = frozenset({"NAN", "NONE", "<NA>", "NAT", "NULL"})
_SHOWN_ROWS = 10


class _Masked:
    """Stands in for the masked entries of a masked array of sequences."""

    def __repr__(self) -> str:
        return "masked"


_MASKED = _Masked()


def check_int(name: str, value, *, minimum: int = 1, allow_none: bool = False) -> int | None:
    """Return ``value`` as a built-in ``int >= minimum`` (or None when allowed).

    Hyper-parameters often arrive from grids and Optuna trials as NumPy integers, which are
    accepted; bools are rejected although they subclass ``int``.

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    value : object
        Candidate value.
    minimum : int, default=1
        Smallest accepted value.
    allow_none : bool, default=False
        Accept ``None`` (returned unchanged).

    Returns
    -------
    int or None

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If it is smaller than ``minimum``.
    """
    if value is None and allow_none:
        return None
    expected = f"an int >= {minimum}" + (" or None" if allow_none else "")
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {expected}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be {expected}, got {value!r}.")
    return int(value)


def check_bool(name: str, value) -> bool:
    """Return ``value`` as a built-in ``bool``; NumPy booleans are accepted, ints are not.

    Raises
    ------
    TypeError
        If ``value`` is not a bool.
    """
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool, got {value!r}.")
    return bool(value)


@contextlib.contextmanager
def naming_input(name: str) -> Iterator[None]:
    """Re-raise :func:`check_sequences`' errors with ``name`` for the input it calls ``X``.

    For callers whose argument has another name (``sequences``, ``start_sequences``).
    """
    try:
        yield
    except (TypeError, ValueError) as exc:
        message = str(exc).replace("in X:", f"in {name}:", 1)
        if message.startswith("X "):
            message = f"{name} {message[2:]}"
        raise type(exc)(message) from None


def format_rows(rows: Iterable[int], index: pd.Index | None = None) -> str:
    """Render row indices for an error message, eliding long lists.

    Parameters
    ----------
    rows : iterable of int
        Positional row indices.
    index : pandas Index or None, default=None
        The index of a pandas input. Unless it is the default ``0 .. n-1``, the rows' index
        labels are shown too: inside ``cross_val_score`` or a search the positions count
        within a fold, while the labels are those of the full data.

    Returns
    -------
    str
        For example ``"rows [0, 4]"``, ``"rows [0, 1, ..., 9] and 35 more"`` or
        ``"row [2] (index label [57])"``.
    """
    rows = list(rows)
    text = _bracketed("row", map(str, rows[:_SHOWN_ROWS]), len(rows))
    if index is not None and not index.equals(pd.RangeIndex(len(index))):
        labels = (_label_repr(index[r]) for r in rows[:_SHOWN_ROWS])
        text += f" ({_bracketed('index label', labels, len(rows))})"
    return text


def _bracketed(noun: str, shown: Iterable[str], total: int) -> str:
    more = total - _SHOWN_ROWS
    suffix = f", ...] and {more} more" if more > 0 else "]"
    return f"{noun if total == 1 else noun + 's'} [{', '.join(shown)}{suffix}"


def _label_repr(label) -> str:
    # Quotes tell a string label from a number; NumPy scalars print as plain numbers.
    return repr(str(label)) if isinstance(label, str) else str(label)


def _pandas_index(X) -> pd.Index | None:
    return X.index if isinstance(X, pd.DataFrame | pd.Series) else None


def _column_values(X, sequence_column: str | int | None) -> np.ndarray:
    """Pull a 1-D object array of raw values out of the accepted containers."""
    if isinstance(X, str | bytes):
        raise TypeError(
            "X must be a 1-D array-like of sequences (list, ndarray, pandas Series or a "
            f"DataFrame column), got a single {type(X).__name__} {X[:20]!r}; "
            "pass a list such as [seq]."
        )
    if isinstance(X, pd.DataFrame):
        if sequence_column is None:
            if X.shape[1] != 1:
                raise ValueError(
                    "sequence_column must name the sequence column of a DataFrame with "
                    f"{X.shape[1]} columns, got None."
                )
            return X.iloc[:, 0].to_numpy(dtype=object)
        if sequence_column not in X.columns:
            raise ValueError(
                f"sequence_column must be one of the DataFrame's columns {list(X.columns)}, "
                f"got {sequence_column!r}."
            )
        column = X[sequence_column]
        if isinstance(column, pd.DataFrame):
            # Duplicate column names select several columns; say so rather than report the
            # rows as non-strings.
            raise ValueError(
                f"sequence_column must name a single column, got {sequence_column!r}, which "
                f"names {column.shape[1]} columns of the DataFrame."
            )
        return column.to_numpy(dtype=object)
    if isinstance(X, pd.Series):
        return X.to_numpy(dtype=object)
    if not hasattr(X, "__len__") and not hasattr(X, "__array__"):
        if isinstance(X, Iterable):
            X = list(X)
        else:
            raise TypeError(f"X must be a 1-D array-like of sequences, got {type(X).__name__}.")
    if np.ma.isMaskedArray(X):
        # np.asarray would keep the hidden data under the mask; masked rows are missing.
        values = np.array(X.data, dtype=object)
        values[np.ma.getmaskarray(X)] = _MASKED
        X = values
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 0:
        # A dict, set, sparse matrix or other object numpy cannot see as a sequence of rows.
        raise TypeError(f"X must be a 1-D array-like of sequences, got {type(X).__name__}.")
    if arr.ndim == 2 and arr.shape[1] == 1:
        # A single column as produced by ColumnTransformer / 2-D slicing.
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"X must be 1-D (one sequence per row), got an array of shape {arr.shape}."
        )
    return arr


def _is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, numbers.Real) and value != value  # NaN


def _describe_invalid(seq: str) -> str:
    """Name the first problem of a string that failed the fast path."""
    if not seq.isascii():
        return "non-ASCII characters"
    if any(c.isspace() for c in seq):
        return "whitespace"
    if any(c.isdigit() for c in seq):
        return "digits"
    bad = sorted({c for c in seq.upper() if c not in "ACGTU" and c not in IUPAC_AMBIGUOUS})
    return f"invalid characters {''.join(bad)!r}"


def check_sequences(
    X,
    *,
    sequence_column: str | int | None = "sequence",
    max_len: int | None = None,
    truncate: bool = False,
    ambiguous: str = "warn",
    min_len: int = 1,
) -> np.ndarray:
    """Validate and normalise a batch of nucleotide sequences.

    Parameters
    ----------
    X : array-like of shape (n_samples,) or DataFrame
        Sequences as strings: a list, ndarray, pandas Series, an ``(n_samples, 1)`` array, or a
        DataFrame whose ``sequence_column`` holds them. A bare string is rejected.
    sequence_column : str, int or None, default="sequence"
        Column to read when ``X`` is a DataFrame. ``None`` accepts a one-column DataFrame.
    max_len : int or None, default=None
        Longest sequence allowed. Longer sequences are an error unless ``truncate``.
    truncate : bool, default=False
        Cut sequences longer than ``max_len`` from the 5' end (keeping the bases next to the
        start codon) and warn, instead of raising.
    ambiguous : {"error", "warn", "mask"}, default="warn"
        What to do with ``N`` and other IUPAC ambiguity codes (R, Y, S, W, K, M, B, D, H, V):
        raise, convert them to ``N`` with a warning, or convert them to ``N`` silently.
    min_len : int, default=1
        Shortest sequence allowed (for example ``k`` for k-mer tokens).

    Returns
    -------
    sequences : ndarray of shape (n_samples,), dtype object
        Upper-case strings over the alphabet ``ACGTN``, in input order.

    Raises
    ------
    TypeError
        If ``X`` is a bare string, not array-like, or holds non-string values.
    ValueError
        If any sequence is missing (None, NaN or masked, or written as text: ``"nan"``,
        ``"None"``, ``"<NA>"``, ``"NaT"``, ``"null"``), empty, contains whitespace, digits, other
        non-nucleotide or non-ASCII characters, is too long or too short (the message
        names the offending rows and the problem), or if ``max_len < min_len``.
    """
    if ambiguous not in AMBIGUOUS_POLICIES:
        raise ValueError(f"ambiguous must be one of {AMBIGUOUS_POLICIES}, got {ambiguous!r}.")
    if max_len is not None and max_len < min_len:
        # No sequence could pass, and truncate=True would cut them below min_len.
        raise ValueError(f"max_len must be at least min_len={min_len}, got {max_len}.")
    values = _column_values(X, sequence_column)
    index = _pandas_index(X)
    if values.shape[0] == 0:
        raise ValueError("X must contain at least one sequence, got 0 rows.")

    out = np.empty(values.shape[0], dtype=object)
    problems: dict[str, list[int]] = {}
    non_str: list[int] = []
    ambiguous_rows: list[int] = []
    for i, raw in enumerate(values):
        if isinstance(raw, str):
            seq = raw.upper().replace("U", "T") if raw.isascii() else raw
            if _ACGT.fullmatch(seq):
                out[i] = seq
                continue
            if not seq:
                problems.setdefault("empty sequence", []).append(i)
                continue
            if raw.strip().upper() in _MISSING_TEXT:
                # NumPy turns NaN/None into text in a string array ("nan" would read as NAN).
                problems.setdefault("missing value written as text", []).append(i)
                continue
            masked = seq.translate(_AMBIGUOUS_TO_N) if seq.isascii() else seq
            if _ACGTN.fullmatch(masked):
                ambiguous_rows.append(i)
                out[i] = masked
                continue
            problems.setdefault(_describe_invalid(raw), []).append(i)
        elif _is_missing(raw):
            problems.setdefault("missing value (None/NaN)", []).append(i)
        elif raw is _MASKED:
            problems.setdefault("masked value", []).append(i)
        else:
            non_str.append(i)

    if non_str:
        kinds = sorted({type(values[i]).__name__ for i in non_str})
        raise TypeError(
            f"X must hold strings, got {', '.join(kinds)} at {format_rows(non_str, index)}."
        )
    if ambiguous_rows and ambiguous == "error":
        problems["ambiguous bases (N or IUPAC codes) with ambiguous='error'"] = ambiguous_rows

    lengths = np.fromiter(
        (len(s) if s is not None else 0 for s in out), dtype=np.int64, count=out.shape[0]
    )
    valid = np.fromiter((s is not None for s in out), dtype=bool, count=out.shape[0])
    if min_len > 1:
        short = np.flatnonzero(valid & (lengths < min_len))
        if short.size:
            problems[f"shorter than min_len={min_len}"] = short.tolist()
    long_rows = np.array([], dtype=np.int64)
    if max_len is not None:
        long_rows = np.flatnonzero(valid & (lengths > max_len))
        if long_rows.size and not truncate:
            problems[f"longer than max_len={max_len} (pass truncate=True to keep the 3' end)"] = (
                long_rows.tolist()
            )

    if problems:
        detail = "; ".join(
            f"{problem} at {format_rows(rows, index)} (first: {values[rows[0]]!r})"
            for problem, rows in problems.items()
        )
        raise ValueError(f"Invalid sequences in X: {detail}.")

    if ambiguous_rows and ambiguous == "warn":
        warnings.warn(
            f"Ambiguous bases (N or IUPAC codes) at {format_rows(ambiguous_rows)} are read as N.",
            UserWarning,
            stacklevel=2,
        )
    if long_rows.size:
        for i in long_rows:
            out[i] = out[i][-max_len:]
        warnings.warn(
            f"Sequences at {format_rows(long_rows.tolist())} are longer than "
            f"max_len={max_len}; their 5' ends were cut off.",
            UserWarning,
            stacklevel=2,
        )
    return out


def check_target(y, n_samples: int | None = None) -> np.ndarray:
    """Validate a regression target.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Numeric target values.
    n_samples : int or None, default=None
        Expected number of rows (the length of ``X``).

    Returns
    -------
    y : ndarray of shape (n_samples,) or (n_samples, n_targets), float64

    Raises
    ------
    ValueError
        If ``y`` is None, not real-valued, has the wrong number of dimensions, rows or no
        columns, or holds NaN, infinite or masked values (the rows are named).
    """
    if y is None:
        raise ValueError("y must be an array-like of numeric targets, got None.")
    index = _pandas_index(y)
    if index is not None:
        y = y.to_numpy()
    masked_rows = None
    if np.ma.isMaskedArray(y):
        # np.asarray would keep the hidden data under the mask; masked targets are missing.
        mask = np.ma.getmaskarray(y)
        if mask.ndim:
            masked_rows = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))
        y = y.data
    try:
        raw = np.asarray(y)
        # float64 conversion would silently drop an imaginary part (numpy only warns).
        is_complex = raw.dtype.kind == "c"
        arr = raw if is_complex else np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        rows = _non_numeric_rows(y)
        where = f" at {format_rows(rows, index)}" if rows else ""
        reason = str(exc).rstrip(".")
        raise ValueError(f"y must be numeric, got values that are not{where}: {reason}.") from None
    if is_complex:
        raise ValueError("y must be real numbers, got complex values.")
    if arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape[1] == 0):
        raise ValueError(
            f"y must be 1-D or 2-D with at least one column, got an array of shape {arr.shape}."
        )
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(
            f"X and y must have the same number of rows, got {n_samples} sequences and "
            f"{arr.shape[0]} targets."
        )
    if masked_rows is not None and masked_rows.size:
        raise ValueError(f"y must not be masked, got masked values at {format_rows(masked_rows)}.")
    bad = ~np.isfinite(arr)
    if bad.ndim == 2:
        bad = bad.any(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad).tolist()
        raise ValueError(
            f"y must be finite, got NaN or infinite values at {format_rows(rows, index)}."
        )
    return arr


def check_groups(groups, n_samples: int) -> np.ndarray:
    """Validate group labels (one per row) and number them in order of first appearance.

    Parameters
    ----------
    groups : array-like of shape (n_samples,)
        Hashable labels, for example transcript ids.
    n_samples : int
        Expected number of rows (the length of ``X``).

    Returns
    -------
    codes : ndarray of shape (n_samples,), int64
        Rows with the same label share a code; codes count from 0 in order of first
        appearance, so they do not depend on how the labels sort.

    Raises
    ------
    ValueError
        If ``groups`` is a string or not 1-D, has another number of rows than ``X``, or
        holds missing labels (the rows are named).
    """
    if isinstance(groups, str | bytes):
        raise ValueError(
            f"groups must be an array-like of one label per row, got a single "
            f"{type(groups).__name__}."
        )
    # dtype=object: NumPy would turn ["a", 1] into strings, merging the label 1 with "1".
    values = np.asarray(
        groups.to_numpy() if isinstance(groups, pd.Series) else groups, dtype=object
    )
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            f"groups must be 1-D (one label per row), got an array of shape {values.shape}."
        )
    if len(values) != n_samples:
        raise ValueError(f"groups must have one label per row ({n_samples}), got {len(values)}.")
    codes, _ = pd.factorize(pd.Series(values, dtype=object))
    missing = np.flatnonzero(codes < 0)
    if missing.size:
        raise ValueError(
            "groups must not hold missing labels, got missing values at "
            f"{format_rows(missing, _pandas_index(groups))}."
        )
    return codes.astype(np.int64)


def _non_numeric_rows(y) -> list[int]:
    """Rows of ``y`` that do not convert to float, to name them in the error.

    Empty when no single row is at fault (a scalar, or rows of unequal lengths).
    """
    if isinstance(y, str | bytes) or not hasattr(y, "__len__"):
        return []
    rows = []
    for i, row in enumerate(y):
        try:
            np.asarray(row, dtype=np.float64)
        except (TypeError, ValueError):
            rows.append(i)
    return rows


def check_library_labels(labels: pd.Series) -> np.ndarray:
    """Library/assay labels as strings, raising for missing ones.

    A whole-number float label is written as the int (``1.0`` as ``"1"``), so a model
    fitted with int labels reads the same labels stored as floats.

    Parameters
    ----------
    labels : pandas Series of shape (n_samples,)
        The library column of a DataFrame input.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype object (str)

    Raises
    ------
    ValueError
        If any label is None/NaN (the rows are named), or if ``labels`` is a DataFrame: the
        library column's name is given to several columns.
    """
    if isinstance(labels, pd.DataFrame):
        # X[name] with a duplicated name; read as labels it would give wrong one-hots.
        raise ValueError(
            f"library_column must name a single column, got {labels.columns[0]!r}, which "
            f"names {labels.shape[1]} columns of the DataFrame."
        )
    missing = labels.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"library labels must not be missing, got None/NaN at "
            f"{format_rows(np.flatnonzero(missing), labels.index)}."
        )
    if labels.dtype.kind in "fO":
        # A whole-number float names the same library as the int: a label column that
        # picked up a NaN elsewhere, or came back from a CSV, reads 1.0 where fit saw 1.
        return labels.map(_label_text).to_numpy(dtype=object)
    return labels.astype(str).to_numpy(dtype=object)


def _label_text(value) -> str:
    if (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and float(value).is_integer()
    ):
        return str(int(value))
    return str(value)


def library_indices(
    labels: np.ndarray, libraries: np.ndarray, index: pd.Index | None = None
) -> np.ndarray:
    """Positions of ``labels`` in the sorted labels seen in ``fit``.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,) of str
        From :func:`check_library_labels`.
    libraries : ndarray of shape (n_libraries,) of str
        Sorted, unique labels seen in ``fit`` (``np.unique`` of the training labels).
    index : pandas Index or None, default=None
        The index of the DataFrame the labels come from, for the error message.

    Returns
    -------
    index : ndarray of shape (n_samples,), int64

    Raises
    ------
    ValueError
        If a label was not seen in ``fit`` (the rows are named).
    """
    positions = np.clip(np.searchsorted(libraries, labels), 0, len(libraries) - 1)
    unknown = libraries[positions] != labels
    if unknown.any():
        rows = np.flatnonzero(unknown)
        raise ValueError(
            f"library labels must be among those seen in fit {libraries.tolist()}, "
            f"got {str(labels[rows[0]])!r} at {format_rows(rows, index)}."
        )
    return positions.astype(np.int64)
