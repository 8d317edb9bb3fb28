"""Writing motifs in the MEME minimal motif format (for Tomtom, FIMO, SEA…)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ._plotting import BASES, check_pwm

__all__ = ["to_meme"]

_SAFE_NAME = re.compile(r"\s+")


def _motif_list(motifs) -> list[tuple[str, str | None, np.ndarray, int | None]]:
    """``(name, alternative name, pwm, nsites)`` of every motif in the accepted containers."""
    if isinstance(motifs, pd.DataFrame):
        if "pwm" not in motifs.columns:
            raise ValueError(
                "motifs must be the DataFrame returned by find_motifs (with a 'pwm' column), "
                f"got columns {list(motifs.columns)}."
            )
        out = []
        for i, row in enumerate(motifs.itertuples(index=False)):
            name = f"filter_{row.filter}" if hasattr(row, "filter") else f"motif_{i + 1}"
            nsites = int(row.n_sites) if hasattr(row, "n_sites") else None
            out.append((name, getattr(row, "consensus", None), row.pwm, nsites))
        return out
    if isinstance(motifs, Mapping):
        return [(str(name), None, pwm, None) for name, pwm in motifs.items()]
    if isinstance(motifs, np.ndarray) and motifs.ndim == 2:
        motifs = [motifs]
    return [(f"motif_{i + 1}", None, pwm, None) for i, pwm in enumerate(motifs)]


def _check_background(background) -> np.ndarray:
    if background is None:
        return np.full(4, 0.25)
    if isinstance(background, Mapping):
        background = [background.get(b, np.nan) for b in BASES]
    arr = np.asarray(background, dtype=np.float64)
    if arr.shape != (4,) or not np.isfinite(arr).all() or (arr <= 0).any():
        raise ValueError(
            f"background must give four positive frequencies for A, C, G, T, got {background!r}."
        )
    return arr / arr.sum()


def to_meme(motifs, path: str | os.PathLike, *, background=None, strands: str = "+") -> Path:
    """Write motifs to a file in the MEME minimal motif format (version 4).

    Parameters
    ----------
    motifs : DataFrame, dict of str to array-like, or list of array-like
        The output of :func:`find_motifs` (names ``filter_<i>``, the consensus as alternative
        name, ``nsites`` from ``n_sites``), a mapping of names to probability matrices, or a
        list of matrices (named ``motif_1``, ``motif_2``…). Each matrix has shape
        (width, 4), columns ``A, C, G, T``, rows summing to 1 (within 1e-3; they are written
        rescaled to sum to 1).
    path : str or path-like
        File to write (overwritten).
    background : dict, array-like of shape (4,) or None, default=None
        Background frequencies of ``A, C, G, T``; ``motifs.attrs["background"]`` of a
        :func:`find_motifs` result, else uniform, when None.
    strands : {"+", "+ -"}, default="+"
        Strands the motifs apply to; 5' UTRs are read on the mRNA strand only.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    ValueError
        If a matrix is not a probability matrix (the motif and its rows are named), two
        motifs share a name (whitespace in names becomes ``_``) or one has none, or
        ``background`` or ``strands`` is invalid.

    Notes
    -----
    The file holds the ``MEME version 4`` line, ``ALPHABET= ACGT``, the strands, the
    background letter frequencies and, per motif, ``MOTIF <name> [<alt name>]`` followed by
    ``letter-probability matrix: alength= 4 w= <width> nsites= <n> E= 0`` and one row of
    four probabilities per position. ``nsites`` is 20 when unknown (MEME's own default).
    """
    if strands not in ("+", "+ -"):
        raise ValueError(f"strands must be '+' or '+ -', got {strands!r}.")
    if background is None and isinstance(motifs, pd.DataFrame):
        background = motifs.attrs.get("background")
    freqs = _check_background(background)
    entries = _motif_list(motifs)
    lines = [
        "MEME version 4",
        "",
        "ALPHABET= ACGT",
        "",
        f"strands: {strands}",
        "",
        "Background letter frequencies",
        " ".join(f"{b} {f:.6f}" for b, f in zip(BASES, freqs, strict=True)),
        "",
    ]
    # Tomtom and FIMO key motifs by name: each must be a non-empty word, used once.
    identifiers = [_SAFE_NAME.sub("_", name.strip()) for name, *_ in entries]
    empty = [name for (name, *_), ident in zip(entries, identifiers, strict=True) if not ident]
    if empty:
        raise ValueError(f"motif names must not be empty or blank, got {empty[0]!r}.")
    seen: dict[str, str] = {}
    for (name, *_), ident in zip(entries, identifiers, strict=True):
        if ident in seen:
            raise ValueError(
                f"motif names must differ once whitespace becomes '_', got {seen[ident]!r} and "
                f"{name!r}, both {ident!r} (rename them; concatenated find_motifs results "
                "repeat the filter_<i> names)."
            )
        seen[ident] = name
    for (name, alt_name, pwm, nsites), ident in zip(entries, identifiers, strict=True):
        p = check_pwm(pwm, name=f"the matrix of motif {name!r}")
        header = f"MOTIF {ident}"
        if alt_name:
            header += f" {_SAFE_NAME.sub('_', str(alt_name))}"
        lines += [
            header,
            f"letter-probability matrix: alength= 4 w= {p.shape[0]} "
            f"nsites= {nsites if nsites is not None else 20} E= 0",
            *(" ".join(f"{v:.6f}" for v in row) for row in p),
            "",
        ]
    path = Path(path)
    path.write_text("\n".join(lines), encoding="ascii")
    return path
