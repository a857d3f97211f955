"""Loading a CSV table: peak memory against the loaded arrays, and time (issue 14, "data at scale").

    cd /work/main && .venv/bin/python benchmarks/bench_csv_load.py              # 400,000 rows x 20 features
    cd /work/main && .venv/bin/python benchmarks/bench_csv_load.py --rows 50000

Writes a table of random numbers (5 decimals) and a class label, then loads it in a fresh process with
`load_dataset({"name": "csv", ...})` after a warm-up load of a tiny table (imports, pyarrow's kernels), and
reports the growth of the process's peak resident memory (ru_maxrss) against X.nbytes + y.nbytes.
Budget: peak <= 3x the loaded arrays (tests/engine/test_data_size_guards.py checks it on 200,000 rows).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

MEASURE = """
import resource, sys, time
sys.path.insert(0, sys.argv[3])
from graph_engine.data import load_dataset
load_dataset({"name": "csv", "path": sys.argv[2]})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t0 = time.perf_counter()
ds = load_dataset({"name": "csv", "path": sys.argv[1]})
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
print(len(ds), ds.X.nbytes + ds.y.nbytes, peak, seconds)
"""


def write_table(path: Path, rows: int, cols: int) -> None:
    rng = np.random.default_rng(0)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(",".join(f"x{j}" for j in range(cols)) + ",label\n")
        for start in range(0, rows, 20000):
            n = min(20000, rows - start)
            block = np.column_stack([rng.normal(size=(n, cols)), rng.integers(0, 3, n)])
            np.savetxt(fh, block, delimiter=",", fmt=["%.5f"] * cols + ["%d"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--source", default=str(ROOT), help="the folder whose graph_engine is measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table, small = Path(tmp) / "table.csv", Path(tmp) / "small.csv"
        write_table(table, args.rows, args.cols)
        small.write_text("a,b\n1,0\n2,1\n3,0\n", encoding="utf-8")
        out = subprocess.run([sys.executable, "-c", MEASURE, str(table), str(small), args.source],
                             capture_output=True, text=True, check=True).stdout.split()
        n, arrays, peak, seconds = int(out[0]), int(out[1]), int(out[2]), float(out[3])
        size = table.stat().st_size
    print(f"{n} rows x {args.cols} features, file {size / 2**20:.1f} MiB, arrays {arrays / 2**20:.1f} MiB")
    print(f"peak memory growth {peak / 2**20:.1f} MiB = {peak / arrays:.2f}x the arrays "
          f"({peak / size:.2f}x the file); load {seconds:.2f} s")


if __name__ == "__main__":
    main()
