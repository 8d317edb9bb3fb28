"""Minimum free energies from ViennaRNA: explicit model settings, process pool, sequence cache.

Folding is the only expensive step of the biophysical features (about 0.5 ms for a 50-nt UTR,
growing with the cube of the length), so this module does three things:

* every fold uses a model-details object whose fields are all set here, so ViennaRNA's global
  defaults (``RNA.cvar.temperature``, ``RNA.cvar.dangles``, ...) never change the result;
* distinct sequences are folded once, in chunks spread over ``n_jobs`` worker processes, which
  fold with the calling process's energy parameters (``RNA.params_load*``), not their own;
* energies are kept in a bounded per-process cache keyed by sequence, model settings and
  energy parameters, so refitting, ``transform`` after ``fit`` and cross-validation folds
  (which clone the transformer) do not fold the same sequence again. The cache belongs to the
  process: cross-validation run in worker processes (``cross_val_score(..., n_jobs=2)``) folds
  each fold's sequences in its worker, and the calling process's cache stays as it was.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from itertools import islice

import numpy as np
import RNA
from joblib import Parallel, delayed, effective_n_jobs, wrap_non_picklable_objects
from tqdm.auto import tqdm

from .._validation import check_sequences, format_rows
from ._common import check_bool, check_int, check_n_jobs, check_temperature

__all__ = ["clear_fold_cache", "fold_mfe"]

#: ViennaRNA model settings used for every fold besides temperature and G-quadruplexes. They are
#: the documented RNAfold defaults (Turner 2004 energies at 1.021 M salt), written out so that
#: changes to ViennaRNA's global defaults cannot leak in; ``backtrack=0`` because only the energy
#: is needed. Fields that an older ViennaRNA lacks are skipped.
_MODEL_DEFAULTS: tuple[tuple[str, object], ...] = (
    ("dangles", 2),
    ("special_hp", 1),
    ("noLP", 0),
    ("noGU", 0),
    ("noGUclosure", 0),
    ("logML", 0),
    ("circ", 0),
    ("uniq_ML", 0),
    ("energy_set", 0),
    ("backtrack", 0),
    ("backtrack_type", "F"),
    ("compute_bpp", 0),
    ("max_bp_span", -1),
    ("window_size", -1),
    ("min_loop_size", 3),
    ("oldAliEn", 0),
    ("ribo", 0),
    ("cv_fact", 1.0),
    ("nc_fact", 1.0),
    ("betaScale", 1.0),
    ("pf_smooth", 1),
    ("sfact", 1.07),
    ("nonstandards", ""),
    ("salt", 1.021),
    ("saltMLLower", 6),
    ("saltMLUpper", 24),
    ("saltDPXInit", 99999),
    ("saltDPXInitFact", -45.324),
    ("helical_rise", 2.8),
    ("backbone_length", 6.0),
    ("circ_penalty", 1),
    ("circ_alpha0", 0.0),
)
_PROBE = RNA.md()
_MODEL_DEFAULTS = tuple((name, value) for name, value in _MODEL_DEFAULTS if hasattr(_PROBE, name))
del _PROBE

#: Most energies the process-level cache holds (roughly 200 bytes each for 50-100 nt UTRs, so
#: about 40 MiB). Two per sequence (whole UTR and start window): five times the largest bundled
#: library, so cross-validation folds each sequence once, while streaming millions of
#: sequences keeps only the newest.
_CACHE_MAX_ENTRIES = 200_000
# (energy parameters' fingerprint, model settings) → {sequence: energy}; both levels keep
# insertion order so eviction drops the oldest settings' oldest sequences first.
_CACHE: OrderedDict[tuple, dict[str, float]] = OrderedDict()

#: Longest sequence ViennaRNA 2.x folds: beyond it ``RNA.fold_compound`` returns a null object
#: whose ``mfe()`` fails with a SWIG TypeError, so longer sequences are refused up front.
MAX_FOLD_LENGTH = 32767

# Auto chunking: a few chunks per worker balances the load; capping the chunk keeps the progress
# bar moving on large inputs. Per-chunk overhead is a few milliseconds.
_CHUNKS_PER_WORKER = 4
_MAX_AUTO_CHUNK = 2000


def model_settings(temperature: float = 37.0, gquad: bool = False) -> tuple:
    """Return the full, hashable ViennaRNA model settings for one folding configuration.

    Parameters
    ----------
    temperature : float, default=37.0
        Folding temperature in °C.
    gquad : bool, default=False
        Include G-quadruplexes in the structure space.

    Returns
    -------
    settings : tuple of (str, object) pairs
        Every model-details field this module sets, used as the cache key.
    """
    return (("temperature", float(temperature)), ("gquad", int(gquad)), *_MODEL_DEFAULTS)


def energy_parameters() -> tuple[str, str]:
    """ViennaRNA's loaded energy parameter set, as a fingerprint and the parameter file text.

    The set is global to a process (``RNA.params_load*`` changes it), so the fingerprint goes
    into the cache key and the text to worker processes, which start with ViennaRNA's default.

    Returns
    -------
    fingerprint : str
        SHA-1 of the parameter file ViennaRNA writes for the loaded set.
    text : str
        That file (about 250 kB), which :func:`RNA.params_load_from_string` reads back.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "energies.par")
        RNA.params_save(path)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    return hashlib.sha1(text.encode("utf-8")).hexdigest(), text


def calling_process() -> tuple[str, int]:
    """Host name and process id: what tells a folding worker it is the caller's own thread."""
    return socket.gethostname(), os.getpid()


def make_parameter_loader():
    """Build the function a folding worker runs first: load the caller's energy parameters.

    It takes ``None`` (folding in the calling process, whose set is already the right one) or
    ``(process, fingerprint, text)``: the caller's :func:`calling_process` and
    :func:`energy_parameters`. A worker remembers the set it
    loaded, so it reads the text once per set. In the calling process itself (joblib's
    threading backend) nothing is loaded: its set is the one to use, and loading it again
    while other threads fold would race with them. Built as a closure so that the folding
    closures that capture it still travel by value (see :func:`_make_chunk_folder`).
    """

    def load_parameters(parameters) -> None:
        import os
        import socket

        import RNA

        if parameters is None:
            return
        caller, fingerprint, text = parameters
        if (socket.gethostname(), os.getpid()) == caller:
            return
        if getattr(RNA, "_sklearn_dynapro_parameters", None) == fingerprint:
            return
        RNA.params_load_from_string(text, f"sklearn_dynapro {fingerprint[:12]}")
        RNA._sklearn_dynapro_parameters = fingerprint

    return load_parameters


def _make_chunk_folder():
    """Build the function that worker processes run on one chunk.

    It is a closure on purpose: cloudpickle serialises closures by value, so a worker only
    imports ViennaRNA to run it, not this package (pandas, scikit-learn and, through the
    package's ``__init__``, torch). That start-up would otherwise cost seconds per worker and
    eat the gain on small machines. :func:`joblib.wrap_non_picklable_objects` makes the
    closure travel through cloudpickle with every joblib backend, not only loky.
    """
    load_parameters = make_parameter_loader()

    def fold_chunk(groups, parameters=None):
        import RNA

        load_parameters(parameters)
        new_compound = RNA.fold_compound
        mfe_only = RNA.OPTION_MFE
        out = []
        for settings, sequences in groups:
            md, plain = RNA.md(), RNA.md()
            for name, value in settings:
                setattr(md, name, value)
                setattr(plain, name, value)
            # ViennaRNA 2.7 takes seconds (1-8 nt) to many minutes (9 nt) to set up a
            # G-quadruplex fold of a sequence shorter than the smallest quadruplex (4 runs of
            # GG and 3 one-base linkers: 11 nt); such a sequence folds as without them.
            plain.gquad = 0
            # mfe() returns (structure, energy); the structure is empty with backtrack=0.
            out.append(
                [
                    new_compound(seq, md if len(seq) >= 11 else plain, mfe_only).mfe()[1]
                    for seq in sequences
                ]
            )
        return out

    return fold_chunk


_fold_chunk = wrap_non_picklable_objects(_make_chunk_folder())


def clear_fold_cache() -> None:
    """Empty the process-level cache of folding energies.

    Worker processes keep no cache; everything is stored in the calling process.
    """
    _CACHE.clear()


def _cache_size() -> int:
    return sum(len(store) for store in _CACHE.values())


def _store(key: tuple, energies: dict[str, float]) -> None:
    """Add energies under ``key`` (parameters' fingerprint, model settings) and evict the oldest
    entries beyond the bound."""
    if not energies:
        return
    store = _CACHE.setdefault(key, {})
    _CACHE.move_to_end(key)
    store.update(energies)
    excess = _cache_size() - _CACHE_MAX_ENTRIES
    while excess > 0:
        oldest_settings, oldest = next(iter(_CACHE.items()))
        if len(oldest) <= excess:
            excess -= len(oldest)
            del _CACHE[oldest_settings]
            continue
        for seq in list(islice(oldest, excess)):
            del oldest[seq]
        excess = 0


def _make_chunks(items: list[tuple[int, str]], n_chunks: int) -> list[list[tuple[int, list[str]]]]:
    """Split (settings index, sequence) items into ``n_chunks`` of similar folding cost.

    Items are sorted by length, longest first, and dealt out in alternating directions
    (0, 1, …, n-1, n-1, …, 0, …), so every chunk gets the same mix of long and short ones.
    """
    items.sort(key=lambda item: len(item[1]), reverse=True)
    groups: list[dict[int, list[str]]] = [{} for _ in range(n_chunks)]
    for start in range(0, len(items), n_chunks):
        block = items[start : start + n_chunks]
        targets = range(len(block)) if (start // n_chunks) % 2 == 0 else range(n_chunks - 1, -1, -1)
        for k, (settings_index, seq) in zip(targets, block, strict=False):
            groups[k].setdefault(settings_index, []).append(seq)
    return [list(chunk.items()) for chunk in groups if chunk]


def _run_parallel(
    payloads: list, parameters: tuple, n_jobs: int | None
) -> Iterable[list[list[float]]]:
    """Fold chunks with joblib, yielding results in order as they arrive when possible."""
    tasks = [delayed(_fold_chunk)(payload, parameters) for payload in payloads]
    try:
        # A generator lets the progress bar advance as chunks come back.
        return Parallel(n_jobs=n_jobs, batch_size=1, return_as="generator")(tasks)
    except ValueError:
        # Raised before any dispatch by backends without generator support ("multiprocessing").
        return Parallel(n_jobs=n_jobs, batch_size=1)(tasks)


def fold_requests(
    requests: Sequence[tuple[tuple, Sequence[str]]],
    *,
    n_jobs: int | None = None,
    chunk_size: int | None = None,
    verbose: bool = False,
    cache: bool = True,
) -> list[np.ndarray]:
    """Fold several batches of validated sequences in one parallel pass.

    Parameters
    ----------
    requests : sequence of (settings, sequences) pairs
        ``settings`` from :func:`model_settings`; ``sequences`` upper-case ACGTN strings.
    n_jobs, chunk_size, verbose, cache
        As in :func:`fold_mfe`.

    Returns
    -------
    energies : list of ndarray of shape (len(sequences),), float64
        One array per request, in request order, in kcal/mol rounded to 0.01.

    Raises
    ------
    ValueError
        If a sequence is longer than :data:`MAX_FOLD_LENGTH` (the positions are named).
    """
    for _, sequences in requests:
        # Positions in the first request are the caller's rows (sub-sequences come after).
        too_long = [i for i, seq in enumerate(sequences) if len(seq) > MAX_FOLD_LENGTH]
        if too_long:
            raise ValueError(
                f"Sequences to fold must be at most {MAX_FOLD_LENGTH} nt long (ViennaRNA's "
                f"limit), got {len(sequences[too_long[0]])} nt at {format_rows(too_long)}."
            )
    fingerprint, parameter_text = energy_parameters()
    settings_list = list(dict.fromkeys(settings for settings, _ in requests))
    settings_index = {settings: i for i, settings in enumerate(settings_list)}
    known: list[dict[str, float]] = [{} for _ in settings_list]
    missing: list[dict[str, None]] = [{} for _ in settings_list]
    for settings, sequences in requests:
        s = settings_index[settings]
        store = _CACHE.get((fingerprint, settings)) if cache else None
        found, pending = known[s], missing[s]
        for seq in dict.fromkeys(sequences):
            if seq in found or seq in pending:
                continue
            energy = store.get(seq) if store is not None else None
            if energy is None:
                pending[seq] = None
            else:
                found[seq] = energy

    items = [(s, seq) for s, pending in enumerate(missing) for seq in pending]
    if items:
        n_workers = max(1, min(effective_n_jobs(n_jobs), len(items)))
        if chunk_size is None:
            chunk_size = min(
                _MAX_AUTO_CHUNK, math.ceil(len(items) / (_CHUNKS_PER_WORKER * n_workers))
            )
        chunks = _make_chunks(items, math.ceil(len(items) / chunk_size))
        payloads = [[(settings_list[s], seqs) for s, seqs in chunk] for chunk in chunks]
        if n_workers == 1 or len(chunks) == 1:
            results = map(_fold_chunk, payloads)
        else:
            parameters = (calling_process(), fingerprint, parameter_text)
            results = _run_parallel(payloads, parameters, n_jobs)
        progress = tqdm(total=len(items), desc="Folding", unit="seq", disable=not verbose)
        fresh: list[dict[str, float]] = [{} for _ in settings_list]
        with progress:
            for chunk, energies in zip(chunks, results, strict=True):
                for (s, seqs), values in zip(chunk, energies, strict=True):
                    fresh[s].update(zip(seqs, values, strict=True))
                    progress.update(len(seqs))
        for s, energies in enumerate(fresh):
            known[s].update(energies)
            if cache:
                _store((fingerprint, settings_list[s]), energies)

    out = []
    for settings, sequences in requests:
        lookup = known[settings_index[settings]].__getitem__
        values = np.fromiter(map(lookup, sequences), dtype=np.float64, count=len(sequences))
        # ViennaRNA works in integer dcal/mol; rounding removes float32 noise (-8.6999998).
        out.append(np.round(values, 2))
    return out


def fold_mfe(
    sequences,
    *,
    temperature: float = 37.0,
    gquad: bool = False,
    n_jobs: int | None = None,
    chunk_size: int | None = None,
    verbose: bool = False,
    cache: bool = True,
) -> np.ndarray:
    """Minimum free energy of each sequence, folded with ViennaRNA (RNAfold's model).

    Parameters
    ----------
    sequences : array-like of shape (n_samples,)
        Nucleotide sequences (DNA or RNA alphabet, any case), validated with
        :func:`sklearn_dynapro.check_sequences`; ambiguous bases are read as ``N`` (unpaired)
        with a warning.
    temperature : float, default=37.0
        Folding temperature in °C.
    gquad : bool, default=False
        Allow G-quadruplexes in the structure space (RNAfold ``--gquad``).
    n_jobs : int or None, default=None
        Worker processes for folding (joblib convention: ``None`` means 1 unless inside a
        :func:`joblib.parallel_config` context, ``-1`` means all CPUs).
    chunk_size : int or None, default=None
        Sequences per task sent to a worker. ``None`` makes about four chunks per worker
        (at most 2,000 sequences each).
    verbose : bool, default=False
        Show a progress bar over the sequences being folded.
    cache : bool, default=True
        Read and fill the process-level cache (see :func:`clear_fold_cache`). Only sequences
        missing from it are folded; duplicates in the input are folded once either way.

    Returns
    -------
    mfe : ndarray of shape (n_samples,), float64
        Minimum free energy in kcal/mol, rounded to 0.01 (ViennaRNA's resolution).

    Notes
    -----
    The model is RNAfold's default, set field by field: Turner 2004 parameters, ``dangles=2``,
    special hairpins, lonely pairs and GU pairs allowed, linear molecule, no base-pair span
    limit, 1.021 M salt. The energy parameter *file* is ViennaRNA's loaded set in the calling
    process (Turner 2004 unless changed with ``RNA.params_load*``, which this function does not
    touch); worker processes load the same set, and cached energies are kept per set.
    """
    temperature = check_temperature(temperature)
    gquad = check_bool("gquad", gquad)
    n_jobs = check_n_jobs(n_jobs)
    if chunk_size is not None:
        chunk_size = check_int("chunk_size", chunk_size, minimum=1)
    verbose = check_bool("verbose", verbose)
    cache = check_bool("cache", cache)
    seqs = check_sequences(sequences, sequence_column="sequence", ambiguous="warn")
    (energies,) = fold_requests(
        [(model_settings(temperature, gquad), seqs)],
        n_jobs=n_jobs,
        chunk_size=chunk_size,
        verbose=verbose,
        cache=cache,
    )
    return energies
