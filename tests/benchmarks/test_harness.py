"""The benchmark harness's fold process."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

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
