"""Helpers shared by the feature transformers: parameter checks and flat sequence arrays."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from .._validation import check_bool, check_int

__all__ = [
    "BASE_INDEX",
    "check_bool",
    "check_int",
    "check_k_range",
    "check_n_jobs",
    "check_temperature",
    "flatten_sequences",
]

#: Byte value → base index: A=0, C=1, G=2, T=3, anything else (``N``) = 4.
BASE_INDEX = np.full(256, 4, dtype=np.uint8)
for _i, _base in enumerate("ACGT"):
    BASE_INDEX[ord(_base)] = _i
BASE_INDEX.setflags(write=False)

# A 6-mer vocabulary has 4,096 columns; beyond 8 the dense output stops being sensible.
_MAX_K = 8


def check_temperature(value) -> float:
    """Return a finite temperature in degrees Celsius above absolute zero."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"temperature must be a real number in °C, got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or value <= -273.15:
        raise ValueError(f"temperature must be a finite number of °C above -273.15, got {value!r}.")
    return value


def check_n_jobs(value) -> int | None:
    """Accept joblib's ``n_jobs`` convention: None or a non-zero int."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"n_jobs must be None or an int, got {value!r}.")
    if value == 0:
        raise ValueError(f"n_jobs must be None or a non-zero int, got {value!r}.")
    return int(value)


def check_k_range(name: str, value) -> tuple[int, int]:
    """Validate an inclusive ``(k_min, k_max)`` range with ``1 <= k_min <= k_max <= 8``."""
    ok = (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(
            isinstance(k, numbers.Integral) and not isinstance(k, bool | np.bool_) for k in value
        )
    )
    if not ok or not 1 <= value[0] <= value[1] <= _MAX_K:
        raise ValueError(
            f"{name} must be a pair of ints (k_min, k_max) with 1 <= k_min <= k_max <= {_MAX_K}, "
            f"got {value!r}."
        )
    return int(value[0]), int(value[1])


def flatten_sequences(
    sequences: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate validated sequences into one byte array for vectorised scans.

    Parameters
    ----------
    sequences : sequence of str of length n_samples
        Non-empty upper-case ASCII strings.

    Returns
    -------
    codes : ndarray of shape (total_length,), uint8
        The ASCII codes of all sequences, back to back.
    starts : ndarray of shape (n_samples,), int64
        Offset of each sequence in ``codes``.
    lengths : ndarray of shape (n_samples,), int64
        Length of each sequence.
    """
    n = len(sequences)
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=n)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    codes = np.frombuffer("".join(sequences).encode("ascii"), dtype=np.uint8)
    return codes, starts, lengths
