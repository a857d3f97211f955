"""A .pt weights file with one changed byte is a clear WeightsError, never a traceback (issue 14, item 10)."""

import io
import warnings
import zipfile

import pytest
import torch

from graph_engine.export.weights import WeightsError, read_weights


@pytest.mark.slow
def test_every_single_byte_change_of_a_pt_file_reads_or_is_a_clear_error(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    data = buf.getvalue()
    path = tmp_path / "w.pt"
    # Every byte of the pickle (where KeyError/IndexError came from) and of the zip headers; every 5th
    # byte of the tensor data (a changed weight value just reads).
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        pickle = next(i for i in zf.infolist() if i.filename.endswith("data.pkl"))
    start = pickle.header_offset
    dense = set(range(start, start + 100 + pickle.compress_size)) | set(range(len(data) - 600, len(data)))
    positions = sorted(dense | set(range(0, len(data), 5)))
    outcomes = {"read": 0, "refused": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may be printed raw either
        for i in positions:
            damaged = bytearray(data)
            damaged[i] = (damaged[i] + 1) % 256
            path.write_bytes(bytes(damaged))
            try:
                read_weights(path)
                outcomes["read"] += 1
            except WeightsError as exc:
                assert str(path) in exc.message or path.name in exc.message
                outcomes["refused"] += 1
    assert outcomes["refused"] > 100 and outcomes["read"] > 100  # both kinds of byte were hit
