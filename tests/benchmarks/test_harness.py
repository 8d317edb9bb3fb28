"""The benchmark harness's fold process."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# A fold run by the harness's pool, and a bench_features.py measurement in its own Process.
POOL = """
    from _harness import isolated_worker

    if __name__ == "__main__":
        with isolated_worker() as run:
            print(run(os.getpid), flush=True)
            run(time.sleep, 300)
"""
PROCESS = """
    import multiprocessing as mp

    from _lifetime import exit_with_parent


    def child():
        exit_with_parent()
        print(os.getpid(), flush=True)
        time.sleep(300)


    if __name__ == "__main__":
        proc = mp.get_context("spawn").Process(target=child)
        proc.start()
        proc.join()
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states in /proc")
@pytest.mark.parametrize("body", [POOL, PROCESS], ids=["pool", "process"])
def test_benchmark_child_ends_when_the_benchmark_is_killed(body, tmp_path):
    # A killed benchmark must not leave its fold training on: a rerun resuming the same
    # checkpoint would otherwise share the file with the orphan.
    script = tmp_path / "bench.py"
    header = f"""
    import os
    import sys
    import time

    sys.path.insert(0, {str(BENCHMARKS)!r})
"""
    script.write_text(textwrap.dedent(header + body))
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:  # the killed script's resource tracker reports there
        bench = subprocess.Popen(
            [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    worker = None
    try:
        line = bench.stdout.readline()
        assert line, log.read_text()
        worker = int(line)
        assert worker != bench.pid
        assert _running(worker)
        bench.send_signal(signal.SIGKILL)
        bench.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _running(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(worker), log.read_text()
    finally:
        bench.kill()
        bench.stdout.close()
        if worker is not None and _running(worker):
            os.kill(worker, signal.SIGKILL)


@pytest.fixture
def harness(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _harness

    return _harness


def test_summary_counts_each_fold_once_and_times_resumed_folds_by_their_epochs(harness):
    import pandas as pd

    def row(fold, fit_seconds, resumed=0, total=100.0, r2=0.5, restored=None, data="a"):
        scores = dict.fromkeys(harness.METRICS, r2)
        return {**scores, "model": "m", "dataset": data, "fold": fold, "seed": 0,
                "fit_seconds": fit_seconds, "predictions_per_second": 10.0, "peak_mib": 1.0,
                "resumed_from_epoch": resumed, "epoch_seconds_total": total,
                "restored_epoch_seconds": restored}  # fmt: skip

    rows = pd.DataFrame(
        [
            row(0, 100.0),
            # Resumed: 30 s of its own (features and the epochs after 7), 120 s of epochs in
            # all. An older row without restored_epoch_seconds falls back to the epochs' total.
            row(1, 30.0, resumed=7, total=120.0),
            row(1, 0.5, resumed=50, total=120.0, r2=0.7),  # rerun: the finished fit given back
        ]
    )
    (entry,) = harness.summarise(rows, ["model"]).to_dict("records")
    assert entry["folds"] == 2
    assert entry["fit s/fold"] == "110"  # (100 + 120) / 2, not (100 + 30 + 0.5) / 3
    assert entry["r2_pearson"] == "0.600 ± 0.141"  # folds 0 and 1, 1's last row
    # With the restored epochs' seconds: its own 30 s plus the 7 restored epochs' 84 s.
    rows.loc[1, "restored_epoch_seconds"] = 84.0
    (entry,) = harness.summarise(rows.iloc[:2], ["model"]).to_dict("records")
    assert entry["fit s/fold"] == "107"  # (100 + 114) / 2
    # Fold 0 of two data sets is two folds, whatever the grouping.
    other = pd.DataFrame([row(0, 100.0, data="a"), row(0, 100.0, data="b", r2=0.7)])
    (entry,) = harness.summarise(other, ["model"]).to_dict("records")
    assert entry["folds"] == 2 and entry["r2_pearson"] == "0.600 ± 0.141"


def test_only_models_with_an_early_stopping_split_get_groups(harness):
    from sklearn_dynapro import make_dynapro_pipeline
    from sklearn_dynapro.baselines import make_rf_baseline
    from sklearn_dynapro.models import DynaProRegressor

    groups = np.array([0, 0, 1])
    assert harness.group_fit_params(make_dynapro_pipeline(), groups) == {"model__groups": groups}
    assert harness.group_fit_params(DynaProRegressor(), groups) == {"groups": groups}
    assert harness.group_fit_params(make_rf_baseline(), groups) == {}
    assert harness.group_fit_params(make_dynapro_pipeline(), None) == {}


def test_rows_read_back_keep_their_commit(harness, tmp_path):
    csv = tmp_path / "rows.csv"
    for code in ("3e05843", "0925381", "1b018ab"):
        harness.append_row(str(csv), {"fold": 0, "code": code})
    import pandas as pd

    assert pd.read_csv(csv, dtype=str)["code"].tolist() == ["3e05843", "0925381", "1b018ab"]


def test_peak_memory_is_the_fold_process_own(harness):
    # A spawned child's ru_maxrss starts from its parent's peak; VmHWM starts afresh.
    if not Path("/proc/self/status").exists():
        pytest.skip("reads VmHWM from /proc")
    ballast = bytearray(400 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page
    parent = harness.peak_rss_mib()
    child = harness.run_isolated(harness.peak_rss_mib)
    assert parent > 400 and child < parent - 300
    del ballast
