"""Vectorised right alignment of validated sequences into a padded code matrix.

Every encoder in this subpackage pads on the 5' side, so that the base right before the start
codon always sits in the last column and a column means the same distance to the start codon
in every row. The helpers here turn the validated ``ACGTN`` strings into small integer codes in
that layout without a Python loop over bases.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

__all__ = [
    "BASES",
    "CHUNK_BASES",
    "CODE_N",
    "CODE_PAD",
    "padded_codes",
    "position_labels",
]

#: Base order shared by the encoders: code ``i`` is ``BASES[i]``.
BASES = "ACGT"
CODE_N = 4
CODE_PAD = 5

# Byte -> code lookup table. Input has been validated to ``ACGTN`` already, so any other
# byte can only come from a bug; 255 makes such a bug visible instead of silently mapping.
_BYTE_TO_CODE = np.full(256, 255, dtype=np.uint8)
for _code, _base in enumerate(BASES + "N"):
    _BYTE_TO_CODE[ord(_base)] = _code

#: Bases per processing block. Blocks bound the temporary index arrays (eight bytes per
#: base), so a million sequences need memory for the output and little more.
CHUNK_BASES = 1 << 22


def _chunks(lengths: np.ndarray) -> list[tuple[int, int]]:
    """Split rows into consecutive ``(start, stop)`` ranges of about ``CHUNK_BASES`` bases."""
    starts = np.cumsum(lengths) - lengths
    block = starts // CHUNK_BASES
    bounds = [0, *(np.flatnonzero(np.diff(block)) + 1).tolist(), lengths.shape[0]]
    return list(pairwise(bounds))


def padded_codes(sequences: np.ndarray, width: int) -> np.ndarray:
    """Right-align sequences into a matrix of base codes, padding on the 5' side.

    Parameters
    ----------
    sequences : ndarray of shape (n_samples,), dtype object
        Validated upper-case strings over ``ACGTN``, none longer than ``width``
        (the output of :func:`sklearn_dynapro.check_sequences`).
    width : int
        Number of columns; the last base of every sequence lands in column ``width - 1``.

    Returns
    -------
    codes : ndarray of shape (n_samples, width), uint8
        ``0, 1, 2, 3`` for ``A, C, G, T``, ``CODE_N`` (4) for ``N`` and ``CODE_PAD`` (5) for
        the padding to the left of each sequence.
    """
    n = sequences.shape[0]
    out = np.full((n, width), CODE_PAD, dtype=np.uint8)
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=n)
    if n and lengths.max() > width:
        raise ValueError(f"sequences must be at most width={width} long, got {lengths.max()}.")
    for lo, hi in _chunks(lengths):
        lens = lengths[lo:hi]
        # One bytes buffer for the whole chunk, decoded by a lookup table.
        buffer = "".join(sequences[lo:hi]).encode("ascii")
        codes = _BYTE_TO_CODE[np.frombuffer(buffer, dtype=np.uint8)]
        starts = np.cumsum(lens) - lens
        # Flat destination of buffer position i in row r: r*width + (width - L_r) + (i - start_r).
        shift = np.arange(hi - lo, dtype=np.int64) * width + width - lens - starts
        dest = np.arange(codes.shape[0], dtype=np.int64) + np.repeat(shift, lens)
        out[lo:hi].reshape(-1)[dest] = codes
    return out


def position_labels(width: int, span: int = 1) -> np.ndarray:
    """Distance to the start codon of the last base of each column.

    Parameters
    ----------
    width : int
        Number of nucleotide positions (the padded length).
    span : int, default=1
        Bases covered by one column (``k`` for k-mer tokens).

    Returns
    -------
    labels : ndarray of shape (width - span + 1,), int64
        From ``-(width - span + 1)`` to ``-1``: the last column ends right before the ATG.
    """
    return np.arange(-(width - span + 1), 0, dtype=np.int64)
