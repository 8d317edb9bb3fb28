"""Wall time of the runnable examples, each in a fresh process, with the arguments their
docstrings quote.

Every example prints its own scores; this script only times it end to end (interpreter
start, imports, data loading and the work), as a user who runs it sees. Runs go one after
the other, each with the machine's default threads, so the times are those of a machine
that is otherwise idle only if nothing else runs: the table records the load average
before each run so that a busy machine shows.

Usage::

    python benchmarks/time_examples.py                  # every run below
    python benchmarks/time_examples.py --runs design --csv times.csv
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
from _harness import append_row, code_version

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

#: name -> (script, arguments): the commands the examples' docstrings give times for.
RUNS = {
    "quickstart_short": ("quickstart_dynapro.py", ["--n", "3000", "--epochs", "5"]),
    "quickstart_features": ("quickstart_features.py", []),
    "design": ("design_utrs.py", []),
    "compare_baselines": ("compare_baselines.py", []),
}


def time_run(script: str, args: list[str]) -> dict:
    """Run one example to the end; its wall seconds and exit status."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.stderr.write(done.stdout[-2000:] + done.stderr[-4000:])
    return {
        "command": " ".join(["python", f"examples/{script}", *args]),
        "seconds": seconds,
        "exit_status": done.returncode,
        "load_before": round(load, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--runs", default="all", help=f"'all' or a comma list of {', '.join(RUNS)}")
    parser.add_argument("--csv", default=None, help="append one row per run to this CSV")
    args = parser.parse_args(argv)
    names = list(RUNS) if args.runs == "all" else args.runs.split(",")
    unknown = sorted(set(names) - set(RUNS))
    if unknown:
        parser.error(f"unknown runs {unknown}; choose from {list(RUNS)}")
    rows = []
    for name in names:
        row = {"run": name, **time_run(*RUNS[name])}
        row.update(
            cpus=os.cpu_count(),
            machine=platform.machine(),
            date=datetime.now().isoformat(timespec="minutes"),
            code=code_version(),
        )
        rows.append(row)
        if args.csv:
            append_row(args.csv, row)
        print(f"{name}: {row['seconds']:,.1f} s (exit status {row['exit_status']})", flush=True)
    table = pd.DataFrame(rows)[["command", "seconds", "exit_status", "load_before"]]
    print()
    print(table.to_markdown(index=False, floatfmt=",.1f"))
    return 1 if any(row["exit_status"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
