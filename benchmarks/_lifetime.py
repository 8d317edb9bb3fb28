"""Benchmark child processes that end with the benchmark that spawned them.

Kept apart from ``_harness`` so that a child measuring its own memory (``bench_features.py``)
can use it without importing the package.
"""

from __future__ import annotations

import multiprocessing
import os
import threading


def exit_with_parent() -> None:
    """End this process as soon as the benchmark that spawned it dies (a worker initializer).

    A pool worker busy with a fit does not notice its parent's death, so a killed benchmark
    would leave an orphan training on for hours and writing the checkpoint that a rerun of the
    same fold resumes from: two fits would then share one checkpoint file.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # returns when the parent's end of the spawn pipe closes
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
