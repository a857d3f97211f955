"""Size guards on user data (issue 14, item 4): refused with a clear message before the memory is spent.

The memory budget is set with LAYERLOOM_MAX_DATA_BYTES (the documented setting), so these tests do not
depend on how much memory the machine has.
"""

import io
import os
import resource
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

from graph_engine.data import DatasetError, load_dataset


def test_sparse_4_gib_csv_is_refused_at_once(tmp_path):
    path = tmp_path / "sparse.csv"
    with open(path, "wb") as fh:
        fh.write(b"a,b,label\n" + b"1,2,0\n3,4,1\n" * 20000)
        fh.truncate(4 << 30)  # a hole of NUL bytes: no disk used, 4 GiB to read
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    with pytest.raises(DatasetError, match="NUL bytes") as info:
        load_dataset({"name": "csv", "path": str(path)})
    assert time.perf_counter() - t0 < 30
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before < 200 << 20
    assert str(path) in info.value.message


def test_csv_larger_than_the_budget_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    rows = "\n".join(f"{i},{i * 2},{i % 2}" for i in range(60000))
    path.write_text("a,b,label\n" + rows + "\n")
    monkeypatch.setenv("LAYERLOOM_MAX_DATA_BYTES", "200K")
    with pytest.raises(DatasetError, match="more than the 200.0 KiB") as info:
        load_dataset({"name": "csv", "path": str(path)})
    assert "LAYERLOOM_MAX_DATA_BYTES" in info.value.hint
    monkeypatch.setenv("LAYERLOOM_MAX_DATA_BYTES", "64M")
    assert len(load_dataset({"name": "csv", "path": str(path)})) == 60000


def test_npz_zip_bomb_is_refused_from_its_headers(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, X=np.zeros((4000, 2000)), y=np.zeros(4000, dtype=np.int64))  # 64 MB in ~70 kB
    assert path.stat().st_size < 1 << 20
    monkeypatch.setenv("LAYERLOOM_MAX_DATA_BYTES", "16M")
    with pytest.raises(DatasetError, match="the .npz file's arrays needs about"):
        load_dataset({"name": "npz", "path": str(path)})


def _npz_with_header(path, shape):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("X.npy", header.getvalue() + b"\0" * 64)
        buf = io.BytesIO()
        np.save(buf, np.zeros(4, dtype=np.int64))
        zf.writestr("y.npy", buf.getvalue())


def test_npz_header_claiming_1e12_values_is_a_clear_error(tmp_path):
    path = tmp_path / "liar.npz"
    _npz_with_header(path, (10**6, 10**6))
    with pytest.raises(DatasetError, match="claims 7.3 TiB of data") as info:
        load_dataset({"name": "npz", "path": str(path)})
    assert "damaged" in info.value.message


def test_single_npy_file_is_refused_without_being_read(tmp_path):
    path = tmp_path / "one.npz"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    with pytest.raises(DatasetError, match="single NumPy array"):
        load_dataset({"name": "npz", "path": str(path)})


def test_tokens_dataset_at_its_maximum_is_refused_not_allocated(monkeypatch):
    monkeypatch.setenv("LAYERLOOM_MAX_DATA_BYTES", "1G")
    with pytest.raises(DatasetError, match="tokens dataset") as info:
        load_dataset({"name": "tokens", "n_samples": 1_000_000, "seq_len": 1024, "vocab_size": 16})
    assert "n_samples" in info.value.hint
    with pytest.raises(DatasetError, match="sine dataset"):
        load_dataset({"name": "sine", "n_samples": 1_000_000, "window": 1000})
    assert len(load_dataset({"name": "tokens", "n_samples": 100, "seq_len": 8})) == 100


PEAK_SCRIPT = textwrap.dedent("""
    import resource, sys
    from graph_engine.data import load_dataset
    load_dataset({"name": "csv", "path": sys.argv[2]})  # imports and pyarrow's kernels, before measuring
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ds = load_dataset({"name": "csv", "path": sys.argv[1]})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    print(peak, ds.X.nbytes + ds.y.nbytes, len(ds))
""")


@pytest.mark.slow
def test_csv_load_peak_memory_is_at_most_3x_the_loaded_arrays(tmp_path):
    rng = np.random.default_rng(0)
    rows, cols = 200_000, 20
    path = tmp_path / "table.csv"
    with open(path, "w") as fh:
        fh.write(",".join(f"x{j}" for j in range(cols)) + ",label\n")
        for _ in range(0, rows, 20000):
            block = rng.normal(size=(20000, cols))
            np.savetxt(fh, np.column_stack([block, rng.integers(0, 3, 20000)]), delimiter=",",
                       fmt=["%.5f"] * cols + ["%d"])
    small = tmp_path / "small.csv"
    small.write_text("a,b\n1,0\n2,1\n3,0\n")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(path), str(small)], capture_output=True,
                         text=True, env=env, timeout=300, check=True).stdout.split()
    peak, arrays, n = (int(v) for v in out)
    assert n == rows
    assert peak <= 3 * arrays, f"peak {peak / 2**20:.1f} MiB for {arrays / 2**20:.1f} MiB of arrays"
