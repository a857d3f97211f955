"""User data that a fuzzer or a shared project can throw at the loaders (issue 14, items 5, 6, 12, 15).

Real files only: a named pipe, 16-bit PNGs, a PNG whose header claims a decompression bomb, a text file that
is not a table, numbers too large for float32.
"""

import os
import threading

import numpy as np
import pytest
from PIL import Image

from graph_engine.data import DatasetError, load_dataset


def _two_classes(root, mode="L", make=None):
    for cls, value in (("dark", 40), ("light", 200)):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            if make is not None:
                make(root / cls / f"{i}.png", value)
            else:
                Image.new(mode, (6, 6), value).save(root / cls / f"{i}.png")
    return root


def _load_in_thread(config, seconds=20.0):
    """load_dataset in a thread; (result, exception); a hang fails the test instead of blocking the suite."""
    box = {}

    def work():
        try:
            box["ds"] = load_dataset(config)
        except Exception as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "loading an image folder with a named pipe in it hangs"
    return box.get("ds"), box.get("error")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_named_pipe_in_an_image_folder_is_skipped_not_waited_on(tmp_path):
    root = _two_classes(tmp_path / "imgs")
    os.mkfifo(root / "dark" / "pipe.png")
    ds, error = _load_in_thread({"name": "image_folder", "path": str(root), "size": 6})
    if error is not None:  # unblock a reader that would still be waiting, then report
        raise error
    assert len(ds) == 4
    assert any("pipe.png" in w and "not a regular file" in w for w in ds.warnings)


def test_named_pipe_as_a_csv_or_npz_path_is_refused(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("named pipes are POSIX")
    for name, file in (("csv", "data.csv"), ("npz", "data.npz")):
        os.mkfifo(tmp_path / file)
        _, error = _load_in_thread({"name": name, "path": str(tmp_path / file)})
        assert isinstance(error, DatasetError) and "not a file" in error.message


def _png16(path, value):
    Image.fromarray(np.full((6, 6), value * 257, dtype=np.uint16)).save(path)


def test_16_bit_pngs_are_scaled_not_clipped_to_white(tmp_path):
    root = _two_classes(tmp_path / "deep", make=_png16)
    with Image.open(root / "dark" / "0.png") as img:
        assert img.mode.startswith("I")  # the file really is 16-bit
    ds = load_dataset({"name": "image_folder", "path": str(root), "size": 6})
    dark, light = ds.X[ds.y == 0], ds.X[ds.y == 1]
    np.testing.assert_allclose(dark, 40 / 255, atol=1e-3)
    np.testing.assert_allclose(light, 200 / 255, atol=1e-3)
    rgb = load_dataset({"name": "image_folder", "path": str(root), "size": 4, "color": "rgb"})
    assert rgb.X.shape == (4, 3, 4, 4)
    np.testing.assert_allclose(rgb.X[rgb.y == 0], 40 / 255, atol=1e-3)


def test_decompression_bomb_png_is_reported_as_such_and_no_raw_warning(tmp_path, recwarn):
    root = _two_classes(tmp_path / "imgs")
    bomb = root / "light" / "bomb.png"
    old = Image.MAX_IMAGE_PIXELS
    try:
        # A real PNG of 100x100 pixels is a "bomb" for a limit of 4000 pixels (warning) or 2000 (error):
        # the same code path a 50000x50000 file takes with the default limit, without writing one.
        Image.new("L", (100, 100), 7).save(bomb)
        for limit in (6000, 4000):
            Image.MAX_IMAGE_PIXELS = limit
            ds = load_dataset({"name": "image_folder", "path": str(root), "size": 6})
            assert len(ds) == 4
            text = " ".join(ds.warnings)
            assert "bomb.png" in text and "decompression bomb" in text and "not an image" not in text
    finally:
        Image.MAX_IMAGE_PIXELS = old
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


def test_a_text_file_that_is_not_a_table_is_never_echoed(tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$SECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")
    for config in ({"name": "csv", "path": str(secret)},
                   {"name": "csv", "path": str(secret), "target": "nope"},
                   {"name": "csv", "path": str(secret), "delimiter": "comma"}):
        with pytest.raises(DatasetError) as info:
            load_dataset(config)
        shown = info.value.message + " " + info.value.hint
        assert "SECRETHASH" not in shown and "daemon" not in shown and "root:" not in shown
        assert str(secret) in info.value.message
    passwd = tmp_path / "passwd"
    passwd.write_text("user,secret-token-123\nalice,hunter2\nbob,letmein\n")
    with pytest.raises(DatasetError) as info:
        load_dataset({"name": "csv", "path": str(passwd), "target": "secret-token-123"})
    shown = info.value.message + " " + info.value.hint
    assert "hunter2" not in shown and "alice" not in shown and "secret-token" not in shown


def test_csv_values_beyond_float_range_refuse_naming_the_column(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("small,huge,label\n1,1e200,0\n2,3e200,1\n3,2e200,0\n4,5e200,1\n")
    with pytest.raises(DatasetError) as info:
        load_dataset({"name": "csv", "path": str(path)})
    assert "'huge'" in info.value.message and "'small'" not in info.value.message
    target = tmp_path / "big_target.csv"
    target.write_text("x,price\n1,1e160\n2,2.5e160\n3,3e160\n4,1.5e160\n")
    with pytest.raises(DatasetError, match="'price'"):
        load_dataset({"name": "csv", "path": str(target), "task": "regression"})


def test_csv_large_but_representable_values_are_standardised_not_zeroed(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("a,b,label\n1,1e37,0\n2,3e37,1\n3,2e37,0\n4,-1e37,1\n")
    ds = load_dataset({"name": "csv", "path": str(path)})
    assert np.all(np.isfinite(ds.X))
    col = ds.X[:, 1]
    assert col.std() == pytest.approx(1.0, abs=1e-3) and abs(col.mean()) < 1e-3
    assert np.argsort(col).tolist() == [3, 0, 2, 1]


def test_the_exported_script_decodes_like_the_app_and_skips_a_named_pipe(tmp_path):
    from graph_engine import parse_project
    from graph_engine.export import generate_train_script

    root = _two_classes(tmp_path / "deep", make=_png16)
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "light" / "pipe.png")
    config = {"name": "image_folder", "path": str(root), "size": 6}
    project = parse_project({
        "format": "layerloom", "format_version": 1, "name": "Probe",
        "graph": {"nodes": [{"id": "x", "op": "Input", "params": {"shape": [1, 6, 6]}},
                            {"id": "f", "op": "Flatten"}, {"id": "fc", "op": "Linear", "params": {"out_features": 2}},
                            {"id": "y", "op": "Output"}],
                  "edges": [{"src": "x", "dst": "f"}, {"src": "f", "dst": "fc"}, {"src": "fc", "dst": "y"}]},
        "training": {"dataset": config}})
    namespace = {"__name__": "exported_train", "__file__": str(tmp_path / "train.py")}
    exec(compile(generate_train_script(project), "train.py", "exec"), namespace)  # noqa: S102 - our own script
    box = {}
    thread = threading.Thread(target=lambda: box.update(out=namespace["load_data"](str(root))), daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "the exported script hangs on a named pipe"
    X, y, _ = box["out"]
    ds = load_dataset(config)
    assert np.array_equal(X, ds.X) and np.array_equal(y, ds.y)
    np.testing.assert_allclose(X[y == 0], 40 / 255, atol=1e-3)
