"""Benchmark the folding behind BiophysicalFeatures against a plain RNAfold loop.

Configurations, each measured in a fresh child process (``multiprocessing`` spawn context):

(a) ``[RNA.fold(s) for s in seqs]``, a plain single-process loop (whole UTR only);
(b) ``BiophysicalFeatures(n_jobs=1).fit_transform(seqs)``, cache cleared first;
(c) ``BiophysicalFeatures(n_jobs=2).fit_transform(seqs)``, cache cleared first;
(d) the same again on a fresh (cloned) transformer after an untimed first call, as a refit or
    a cross-validation fold sees it.

(b)-(d) compute every feature, including the MFE of the 30-nt start-codon window, which is
about 20 % more folding than (a). Times include validation, worker start-up and the cheap
features; imports and data loading are outside the timed region.

Memory: the peak resident set size (``VmHWM`` in ``/proc/<pid>/status``, Linux) of the child
that calls the transformer (Python, pandas, ViennaRNA and whatever ``import sklearn_dynapro``
loads) and of the largest joblib worker, read just before the workers are shut down. Total
peak ≈ main + n_workers × worker. ``ru_maxrss`` is not used: processes started by fork + exec
(spawned children, loky workers) inherit their parent's high-water mark in it.

Usage::

    python benchmarks/bench_features.py                 # all 20,000 sequences
    python benchmarks/bench_features.py --n 2000 --out bench_features.md
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import time
from pathlib import Path

# Imports of the package happen in the measured children only: a light parent keeps the
# children's start-up and memory free of anything the benchmark itself does not need.
DATA_FILE = Path("datasets") / "data" / "mpra_random50.csv.gz"

CONFIGS = {
    "loop": "(a) plain loop `[RNA.fold(s) for s in seqs]`",
    "jobs1": "(b) `BiophysicalFeatures(n_jobs=1)`",
    "jobs2": "(c) `BiophysicalFeatures(n_jobs=2)`",
    "cached": "(d) second call, cached (n_jobs=2)",
}
TARGETS = {"jobs2": 1.7, "cached": 50.0}


def _measure(config: str, n: int, queue) -> None:
    """Run one configuration in this (fresh) process and report time and peak memory."""
    from _lifetime import exit_with_parent  # not _harness, which imports the package

    exit_with_parent()  # a killed benchmark must not leave this process folding on
    import pandas as pd
    import RNA
    from joblib.externals.loky import get_reusable_executor
    from sklearn.base import clone

    import sklearn_dynapro
    from sklearn_dynapro.features import BiophysicalFeatures, clear_fold_cache

    data = Path(sklearn_dynapro.__file__).parent / DATA_FILE
    seqs = pd.read_csv(data, nrows=n)["utr"].tolist()
    if config == "loop":
        start = time.perf_counter()
        [RNA.fold(s) for s in seqs]
        elapsed = time.perf_counter() - start
    elif config in ("jobs1", "jobs2"):
        clear_fold_cache()
        bio = BiophysicalFeatures(n_jobs=1 if config == "jobs1" else 2)
        start = time.perf_counter()
        bio.fit_transform(seqs)
        elapsed = time.perf_counter() - start
    else:
        clear_fold_cache()
        bio = BiophysicalFeatures(n_jobs=2)
        bio.fit_transform(seqs)
        again = clone(bio)
        start = time.perf_counter()
        again.fit_transform(seqs)
        elapsed = time.perf_counter() - start
    main_mib = _peak_rss_mib(os.getpid())
    worker_mib = max((_peak_rss_mib(pid) for pid in _child_pids()), default=0.0)
    get_reusable_executor().shutdown(wait=True)
    queue.put((elapsed, main_mib, worker_mib))


def _peak_rss_mib(pid: int) -> float:
    """Peak resident set size of a live process, from /proc (0 if unavailable)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _child_pids() -> list[int]:
    """PIDs of this process's live children (the joblib workers and loky's tracker)."""
    me, pids = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The parent PID is the 2nd field after the parenthesised command name.
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            pids.append(int(entry.name))
    return pids


def run_config(config: str, n: int) -> tuple[float, float, float]:
    """Measure ``config`` in a fresh spawned process; returns (seconds, main MiB, worker MiB)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(config, n, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"benchmark child for {config!r} exited with {proc.exitcode}")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="sequences (default: all 20,000)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per configuration; the best time is kept"
    )
    parser.add_argument("--out", type=Path, help="also write the table (.md or .csv)")
    args = parser.parse_args(argv)
    if not 1 <= args.n <= 20_000:
        parser.error(f"--n must be between 1 and 20000, got {args.n}")

    import RNA

    rows = []
    for config, label in CONFIGS.items():
        runs = []
        for _ in range(args.repeat):
            load = os.getloadavg()[0]
            runs.append((*run_config(config, args.n), load))
        rows.append((config, label, *min(runs)))
        print(f"{label}: {min(runs)[0]:.2f} s", flush=True)

    loop_time = rows[0][2]
    header = (
        "| configuration | seconds | peak RSS main (MiB) | peak RSS largest worker (MiB) "
        "| speed-up vs (a) | target | pass |"
    )
    lines = [header, "|" + " --- |" * 7]
    csv = ["configuration,seconds,peak_rss_main_mib,peak_rss_worker_mib,speedup,target,pass"]
    for config, label, seconds, main_mib, worker_mib, _ in rows:
        speedup = loop_time / seconds
        target = TARGETS.get(config)
        verdict = "—" if target is None else ("pass" if speedup >= target else "FAIL")
        target_text = "—" if target is None else f"≥ {target:g}×"
        worker_text = f"{worker_mib:.0f}" if worker_mib > 0 else "—"
        lines.append(
            f"| {label} | {seconds:.2f} | {main_mib:.0f} | {worker_text} | {speedup:.2f}× "
            f"| {target_text} | {verdict} |"
        )
        csv.append(
            f"{config},{seconds:.3f},{main_mib:.1f},{worker_mib:.1f},{speedup:.3f},"
            f"{'' if target is None else target},{verdict}"
        )
    loads = ", ".join(f"{row[-1]:.2f}" for row in rows)
    context = (
        f"{args.n} sequences of mpra_random50 (50 nt), ViennaRNA {RNA.__version__}, "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"best of {args.repeat}; 1-min load average before each configuration: {loads}."
    )
    table = "\n".join([context, "", *lines])
    print()
    print(table)
    if args.out is not None:
        text = "\n".join(csv) + "\n" if args.out.suffix == ".csv" else table + "\n"
        args.out.write_text(text)


if __name__ == "__main__":
    main()
