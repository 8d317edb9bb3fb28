"""Scaling benchmark: featurisation, folding and DynaPro prediction for 10k to 1M UTRs.

The sequences are synthetic, drawn like the random MPRA library: 50 nt, uniform ACGT,
seeded, produced block by block as a stream so that the input itself never sits in memory.
Every (task, mode, size) runs in a fresh spawned process (``_harness.run_isolated``), so its
peak memory is its own.

Tasks:

``predict``
    A small DynaPro pipeline (tokens only, ``features=None``; width 32, 2 layers, 4 heads,
    FFN 64), fitted once for 1 epoch on 2,000 bundled random50 sequences and saved, is
    loaded and predicts with :func:`sklearn_dynapro.streaming.predict_chunked` (``chunked``),
    and, for sizes up to ``--naive-max``, with a plain ``pipeline.predict`` on the whole list
    (``naive``).
``features``
    :class:`~sklearn_dynapro.features.BiophysicalFeatures` (``n_jobs=--n-jobs``) computed
    chunk by chunk with ``iter_predictions(..., method="transform")``, each chunk's matrix
    appended to a binary file as it comes (``chunked``: how a million rows of features are
    kept without holding them), and, up to ``--naive-max``, with one ``transform`` of the
    whole list (``naive``). ViennaRNA folding (the whole UTR and its 30-nt start-codon
    window) is most of the time.
``fold``
    Folding speed alone: :func:`~sklearn_dynapro.features.fold_mfe` per chunk, whole UTR
    only, cache off.

Columns: wall seconds of the timed call (the chunked stream includes drawing the sequences;
the naive list is drawn before timing), sequences per second, resident
memory before the call and its peak (``VmHWM`` from ``/proc/self/status``; Linux), and the
largest joblib worker's peak when ``--n-jobs`` > 1. Peak memory of ``naive`` grows with the
input; that of ``chunked`` should not, beyond the output (8 bytes per prediction) and, for
``features``, the fold cache up to its bound (200,000 energies; ``--no-fold-cache`` turns it
off).

Usage::

    python benchmarks/bench_scale.py --tasks predict --sizes 10000,100000 --threads 1 --n-jobs 1
    python benchmarks/bench_scale.py --tasks features,fold --sizes 10000
    python benchmarks/bench_scale.py --threads 2 --n-jobs 2   # all tasks, 10k, 100k and 1M
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import run_isolated
from bench_features import _child_pids, _peak_rss_mib

TASKS = ("predict", "features", "fold")
#: The small network timed by the predict task.
SMALL_NET = {
    "features": None,
    "module__d_model": 32,
    "module__n_layers": 2,
    "module__n_heads": 4,
    "module__ffn_dim": 64,
    "max_epochs": 1,
    "batch_size": 256,
    "lr": 2e-3,
    "random_state": 0,
}
N_TRAIN = 2000
_BLOCK = 10_000


def synthetic_utrs(n: int, seed: int = 0, length: int = 50):
    """Yield ``n`` uniform-ACGT sequences, drawn in blocks so the same seed gives the same ones."""
    import numpy as np

    rng = np.random.default_rng(seed)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    for start in range(0, n, _BLOCK):
        block = bases[rng.integers(0, 4, size=(min(_BLOCK, n - start), length))]
        for row in block:
            yield row.tobytes().decode("ascii")


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fit_model(path: str, threads: int) -> None:
    """Fit the small DynaPro pipeline on bundled data and save it (run in its own process)."""
    import joblib
    import torch

    from sklearn_dynapro import make_dynapro_pipeline
    from sklearn_dynapro.datasets import load_mpra_random50

    torch.set_num_threads(threads)
    X, y = load_mpra_random50()
    pipeline = make_dynapro_pipeline(optimizer=torch.optim.AdamW, **SMALL_NET)
    joblib.dump(pipeline.fit(X[:N_TRAIN], y[:N_TRAIN]), path)


def measure(
    task: str,
    mode: str,
    n: int,
    *,
    chunk_size: int,
    threads: int,
    n_jobs: int,
    model: str | None,
    fold_cache: bool,
    seed: int,
) -> dict:
    """Time one (task, mode, size) in this fresh process; return seconds and memory."""
    import itertools

    import numpy as np

    from sklearn_dynapro.features import BiophysicalFeatures, fold_mfe
    from sklearn_dynapro.streaming import iter_predictions, predict_chunked

    stream = synthetic_utrs(n, seed)
    if task == "predict":
        # torch only here: its ~300 MiB would hide the features' memory in the others.
        import joblib
        import torch

        torch.set_num_threads(threads)
        pipeline = joblib.load(model)
        if mode == "naive":
            sequences = list(stream)
            run = lambda: pipeline.predict(sequences)  # noqa: E731
        else:
            run = lambda: predict_chunked(  # noqa: E731
                pipeline, stream, chunk_size=chunk_size, n_jobs=n_jobs
            )
    elif task == "features":
        bio = BiophysicalFeatures(n_jobs=n_jobs, cache=fold_cache).fit(["ACGT"])
        if mode == "naive":
            sequences = list(stream)
            run = lambda: bio.transform(sequences)  # noqa: E731
        else:

            def run():
                rows = 0
                with tempfile.TemporaryFile() as handle:
                    parts = iter_predictions(bio, stream, chunk_size=chunk_size, method="transform")
                    for part in parts:
                        handle.write(np.ascontiguousarray(part, dtype=np.float64).tobytes())
                        rows += len(part)
                return range(rows)
    else:

        def run():
            while block := list(itertools.islice(stream, chunk_size)):
                fold_mfe(block, n_jobs=n_jobs, cache=False)

    before = _status_mib("VmRSS")
    start = time.perf_counter()
    out = run()
    seconds = time.perf_counter() - start
    if out is not None and len(out) != n:
        raise RuntimeError(f"{task}/{mode} returned {len(out)} rows for {n} sequences")
    return {
        "seconds": seconds,
        "rss_before_mib": before,
        "peak_mib": _status_mib("VmHWM"),
        "worker_peak_mib": max((_peak_rss_mib(pid) for pid in _child_pids()), default=0.0),
    }


def _sizes(text: str) -> list[int]:
    sizes = [int(s) for s in text.replace("_", "").split(",") if s]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"must be positive integers, got {text!r}")
    return sizes


def _tasks(text: str) -> list[str]:
    tasks = [t for t in text.split(",") if t]
    unknown = sorted(set(tasks) - set(TASKS))
    if not tasks or unknown:
        raise argparse.ArgumentTypeError(f"must be among {', '.join(TASKS)}, got {text!r}")
    return tasks


def _cell(result: dict | None, key: str, fmt: str) -> str:
    if result is None:
        return "—"
    if key == "rate":
        return format(result["n"] / result["seconds"], fmt)
    value = result[key]
    return "—" if key == "worker_peak_mib" and not value else format(value, fmt)


def table(results: dict, tasks: list[str], sizes: list[int]) -> str:
    """Markdown table: chunked columns, then the naive (unchunked) columns where measured."""
    header = (
        "| task | sequences | seconds | seq/s | RSS before (MiB) | peak RSS (MiB) "
        "| worker peak (MiB) | naive seconds | naive seq/s | naive peak RSS (MiB) |"
    )
    lines = [header, "|" + " --- |" * 10]
    for task in tasks:
        for n in sizes:
            chunked = results.get((task, "chunked", n))
            naive = results.get((task, "naive", n))
            lines.append(
                f"| {task} | {n:,} | {_cell(chunked, 'seconds', '.1f')} "
                f"| {_cell(chunked, 'rate', ',.0f')} | {_cell(chunked, 'rss_before_mib', '.0f')} "
                f"| {_cell(chunked, 'peak_mib', '.0f')} "
                f"| {_cell(chunked, 'worker_peak_mib', '.0f')} "
                f"| {_cell(naive, 'seconds', '.1f')} | {_cell(naive, 'rate', ',.0f')} "
                f"| {_cell(naive, 'peak_mib', '.0f')} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tasks", type=_tasks, default=list(TASKS), help=f"comma-separated, of {TASKS}"
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[10_000, 100_000, 1_000_000],
        help="comma-separated numbers of sequences (default: 10000,100000,1000000)",
    )
    parser.add_argument(
        "--chunk-size", type=int, default=10_000, help="rows per chunk (default: 10000)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (default: 1)")
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=1,
        help="predict: chunks at once; features/fold: folding processes (default: 1)",
    )
    parser.add_argument(
        "--naive-max",
        type=int,
        default=100_000,
        help="largest size also predicted/featurised unchunked (default: 100000)",
    )
    parser.add_argument(
        "--no-fold-cache", action="store_true", help="features: BiophysicalFeatures(cache=False)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the sequences (default: 0)")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)

    # Set before the children start, so that their BLAS/OpenMP pools get the same size.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    common = {
        "chunk_size": args.chunk_size,
        "threads": args.threads,
        "n_jobs": args.n_jobs,
        "fold_cache": not args.no_fold_cache,
        "seed": args.seed,
    }
    results: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        model = None
        if "predict" in args.tasks:
            model = str(Path(folder) / "dynapro_small.joblib")
            start = time.perf_counter()
            run_isolated(fit_model, model, args.threads)
            print(f"fitted the small DynaPro in {time.perf_counter() - start:.0f} s", flush=True)
        for task in args.tasks:
            for n in args.sizes:
                modes = ["chunked"]
                if task != "fold" and n <= args.naive_max:
                    modes.append("naive")
                for mode in modes:
                    result = run_isolated(measure, task, mode, n, model=model, **common)
                    results[(task, mode, n)] = {**result, "n": n}
                    print(
                        f"{task} {mode} {n:,}: {result['seconds']:.1f} s, "
                        f"peak {result['peak_mib']:.0f} MiB",
                        flush=True,
                    )

    import torch

    context = (
        f"Synthetic 50-nt UTRs; chunk size {args.chunk_size:,}; {args.threads} thread(s); "
        f"n_jobs {args.n_jobs}; fold cache {'off' if args.no_fold_cache else 'on'}; "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}); torch "
        f"{torch.__version__}; 1-min load average at the end {os.getloadavg()[0]:.2f}. "
        "predict: DynaPro width 32, 2 layers, no features, batch 256."
    )
    text = f"{context}\n\n{table(results, args.tasks, args.sizes)}"
    print()
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
