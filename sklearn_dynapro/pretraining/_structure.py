"""MFE secondary structures from ViennaRNA, as dot-bracket strings and per-position classes.

:func:`sklearn_dynapro.features.fold_mfe` returns energies only (it folds with
``backtrack=0``). Pre-training also needs the structure, so this module folds with the same
explicit model settings (:func:`sklearn_dynapro.features._folding.model_settings`) but with
backtracking on. The energies of that fold are identical to ``fold_mfe``'s and are written into
its cache, so later feature extraction in the same process does not fold the sequences again.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs, wrap_non_picklable_objects
from tqdm.auto import tqdm

from .._validation import check_bool, check_sequences
from ..features._common import check_n_jobs, check_temperature
from ..features._folding import (
    _store,
    calling_process,
    energy_parameters,
    make_parameter_loader,
    model_settings,
)

__all__ = ["IGNORE_INDEX", "STRUCTURE_CLASSES", "fold_structures", "structure_labels"]

#: Dot-bracket characters in class order: 0 unpaired, 1 paired with a base downstream
#: (opening), 2 paired with a base upstream (closing).
STRUCTURE_CLASSES = (".", "(", ")")
#: Label of padded positions, skipped by :class:`torch.nn.CrossEntropyLoss` (its default).
IGNORE_INDEX = -100

_CHAR_TO_CLASS = np.full(256, IGNORE_INDEX, dtype=np.int64)
for _label, _char in enumerate(STRUCTURE_CLASSES):
    _CHAR_TO_CLASS[ord(_char)] = _label

# (energy parameters' fingerprint, settings) → {sequence: (structure, energy)}; bounded like the
# energy cache of fold_mfe.
_CACHE_MAX_ENTRIES = 500_000
_CACHE: OrderedDict[tuple, dict[str, tuple[str, float]]] = OrderedDict()
_MAX_CHUNK = 2000


def _structure_settings(temperature: float) -> tuple:
    """fold_mfe's model settings with backtracking switched on (the energy is unchanged)."""
    return tuple(
        (name, 1 if name == "backtrack" else value)
        for name, value in model_settings(temperature, gquad=False)
    )


def _make_chunk_folder():
    """Closure run by the workers: cloudpickle ships it by value, so workers import only RNA."""

    load_parameters = make_parameter_loader()

    def fold_chunk(settings, sequences, parameters=None):
        import RNA

        load_parameters(parameters)
        md = RNA.md()
        for name, value in settings:
            setattr(md, name, value)
        return [RNA.fold_compound(seq, md, RNA.OPTION_MFE).mfe() for seq in sequences]

    return fold_chunk


_fold_chunk = wrap_non_picklable_objects(_make_chunk_folder())


def clear_structure_cache() -> None:
    """Empty the process-level cache of folded structures."""
    _CACHE.clear()


def _remember(key: tuple, folded: dict[str, tuple[str, float]]) -> None:
    store = _CACHE.setdefault(key, {})
    store.update(folded)
    # Crude bound: drop the oldest sequences once the cache is full.
    excess = sum(map(len, _CACHE.values())) - _CACHE_MAX_ENTRIES
    for seq in list(store)[: max(0, excess)]:
        del store[seq]


def fold_structures(
    sequences,
    *,
    temperature: float = 37.0,
    n_jobs: int | None = None,
    verbose: bool = False,
    ambiguous: str = "warn",
) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-free-energy structure and energy of each sequence (RNAfold's model).

    Parameters
    ----------
    sequences : array-like of shape (n_samples,)
        Nucleotide sequences, validated with :func:`sklearn_dynapro.check_sequences`
        (ambiguous bases become ``N``, which ViennaRNA leaves unpaired).
    temperature : float, default=37.0
        Folding temperature in °C.
    n_jobs : int or None, default=None
        Worker processes (joblib convention).
    verbose : bool, default=False
        Show a progress bar over the sequences being folded.
    ambiguous : {"error", "warn", "mask"}, default="warn"
        Policy for ``N`` and other IUPAC codes (see :func:`~sklearn_dynapro.check_sequences`).

    Returns
    -------
    structures : ndarray of shape (n_samples,), dtype object
        Dot-bracket strings over ``.()``, one character per base.
    mfe : ndarray of shape (n_samples,), float64
        Minimum free energy in kcal/mol, rounded to 0.01; equal to
        :func:`~sklearn_dynapro.features.fold_mfe` with the same temperature.
    """
    temperature = check_temperature(temperature)
    n_jobs = check_n_jobs(n_jobs)
    verbose = check_bool("verbose", verbose)
    seqs = check_sequences(sequences, sequence_column="sequence", ambiguous=ambiguous)
    settings = _structure_settings(temperature)
    fingerprint, parameter_text = energy_parameters()
    store = _CACHE.get((fingerprint, settings), {})
    # A copy of the hits: _remember below may evict them from the cache itself.
    known = {seq: store[seq] for seq in dict.fromkeys(seqs) if seq in store}
    missing = [seq for seq in dict.fromkeys(seqs) if seq not in known]
    folded: dict[str, tuple[str, float]] = {}
    if missing:
        n_workers = max(1, min(effective_n_jobs(n_jobs), len(missing)))
        size = min(_MAX_CHUNK, math.ceil(len(missing) / (4 * n_workers)))
        chunks = [missing[i : i + size] for i in range(0, len(missing), size)]
        if n_workers == 1 or len(chunks) == 1:
            results = (_fold_chunk(settings, chunk) for chunk in chunks)
        else:
            # Workers fold with this process's energy parameters (see fold_mfe).
            parameters = (calling_process(), fingerprint, parameter_text)
            results = Parallel(n_jobs=n_jobs, batch_size=1, return_as="generator")(
                delayed(_fold_chunk)(settings, chunk, parameters) for chunk in chunks
            )
        with tqdm(total=len(missing), desc="Folding", unit="seq", disable=not verbose) as bar:
            for chunk, result in zip(chunks, results, strict=True):
                # ViennaRNA works in dcal/mol; rounding removes float32 noise as fold_mfe does.
                folded.update(
                    (seq, (structure, round(energy, 2)))
                    for seq, (structure, energy) in zip(chunk, result, strict=True)
                )
                bar.update(len(chunk))
        _remember((fingerprint, settings), folded)
        # Seed fold_mfe's energy cache: the biophysical features of a later fine-tuning step
        # then reuse these folds.
        _store(
            (fingerprint, model_settings(temperature)),
            {s: e for s, (_, e) in folded.items()},
        )
    lookup = {**known, **folded}
    structures = np.array([lookup[seq][0] for seq in seqs], dtype=object)
    energies = np.fromiter((lookup[seq][1] for seq in seqs), dtype=np.float64, count=len(seqs))
    return structures, energies


def structure_labels(structures, width: int, k: int = 1) -> np.ndarray:
    """Right-aligned class matrix of dot-bracket strings, padded like the tokenizer.

    Parameters
    ----------
    structures : sequence of str
        Dot-bracket strings over ``.()``, none longer than ``width``.
    width : int
        Number of nucleotide columns; the last character of every structure lands in the last
        column.
    k : int, default=1
        Token size. Column ``j`` of k-mer tokens covers nucleotide columns ``j … j + k - 1``
        and is labelled with the structure of its last base; it is padding, labelled
        :data:`IGNORE_INDEX`, unless all ``k`` bases are real.

    Returns
    -------
    labels : ndarray of shape (n_samples, width - k + 1), int64
        Class ids (see :data:`STRUCTURE_CLASSES`), :data:`IGNORE_INDEX` on the 5' padding.
    """
    labels = np.full((len(structures), width), IGNORE_INDEX, dtype=np.int64)
    for row, structure in enumerate(structures):
        if len(structure) > width:
            raise ValueError(
                f"structures must be at most width={width} long, got {len(structure)} at row {row}."
            )
        codes = _CHAR_TO_CLASS[np.frombuffer(structure.encode("ascii"), dtype=np.uint8)]
        if (codes == IGNORE_INDEX).any():
            raise ValueError(
                f"structures must hold only the characters '.', '(' and ')', got "
                f"{structure!r} at row {row}."
            )
        labels[row, width - len(structure) :] = codes
    if k == 1:
        return labels
    # Right-aligned: token j is real iff its first base, nucleotide column j, is.
    tokens = labels[:, k - 1 :].copy()
    tokens[labels[:, : width - k + 1] == IGNORE_INDEX] = IGNORE_INDEX
    return tokens
