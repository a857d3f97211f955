"""Character-level language modelling data: a text file cut into windows that predict their next characters.

    ds = load_char_text(path=None, seq_len=64)   # None: the public-domain text in resources/text/
    ds.X[i]  -> int64 [seq_len], the ids of characters s .. s+seq_len-1
    ds.y[i]  -> int64 [seq_len], the ids of characters s+1 .. s+seq_len (each position's next character)
    ds.class_names -> the vocabulary: class_names[id] is that id's character (sorted, from the text itself)

The task is "language_model": the network outputs [seq_len, vocab] scores, the loss is the cross-entropy of
every position's next character, and the validation loss is also reported in bits per character (loss / ln 2).

Windows do not overlap by default (stride = seq_len), so every character is in one window only and the seeded
random split keeps validation text unseen in training; a smaller stride gives more (overlapping) training
windows at the price of validation windows that share text with training ones, which the description says.

`char_windows` is self-contained (numpy only): the exported train.py copies its source to make the same data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from graph_engine.data.base import Dataset, DatasetError
from graph_engine.data.limits import check_fits
from graph_engine.resource_files import resource_path

DEFAULT_TEXT = resource_path("text", "alice_in_wonderland.txt")
MAX_TEXT_BYTES = 64 << 20  # a text file is read whole; past this a person has picked the wrong file
TOKEN_PEAK_BYTES = 8 * 2 * 2  # int64 inputs and targets, and a copy while splitting


def char_windows(text, seq_len, stride):
    """(X, y, vocabulary) for next-character prediction: X[i] = ids of text[s:s+seq_len], y[i] = ids of
    text[s+1:s+seq_len+1] for s = 0, stride, 2*stride, ...; the vocabulary is the text's sorted characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    vocab = sorted(set(text))
    lookup = {c: i for i, c in enumerate(vocab)}
    ids = np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))
    starts = np.arange(0, len(ids) - seq_len, stride, dtype=np.int64)
    idx = starts[:, None] + np.arange(seq_len, dtype=np.int64)[None, :]
    return ids[idx], ids[idx + 1], vocab


def read_text(path: str | Path | None) -> tuple[str, Path]:
    """The text of `path` (UTF-8; None: the shipped text) and the path read. DatasetError when unreadable."""
    source = DEFAULT_TEXT if path is None else Path(path)
    try:
        size = source.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise DatasetError(f"the text file {source} is {size / 2**20:.0f} MiB; the limit is "
                               f"{MAX_TEXT_BYTES >> 20} MiB", "use a smaller text (a few MiB trains in minutes)",
                               path=str(source))
        raw = source.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"the text file {source} does not exist", "choose an existing .txt file",
                           path=str(source)) from None
    except IsADirectoryError:
        raise DatasetError(f"{source} is a folder, not a text file", "choose a .txt file", path=str(source)) from None
    except OSError as exc:
        raise DatasetError(f"cannot read the text file {source}: {exc.strerror or exc}",
                           "check that the file exists and that you may read it", path=str(source)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"the text file {source} is not UTF-8 text (byte {exc.start} cannot be decoded)",
                           "save the file as UTF-8 plain text", path=str(source)) from None
    return text, source


def load_char_text(path: str | Path | None = None, seq_len: int = 64, stride: int = 0) -> Dataset:
    """The `char_text` dataset (see the module docstring). `stride` 0 means seq_len (no overlap)."""
    stride = stride or seq_len
    if seq_len < 2:
        raise DatasetError(f"seq_len must be at least 2, not {seq_len}", "use seq_len 64")
    if stride < 1:
        raise DatasetError(f"stride must be at least 1, not {stride}", "use a stride equal to seq_len")
    text, source = read_text(path)
    windows = max(0, (len(text) - seq_len + stride - 1) // stride)
    check_fits(windows * seq_len * TOKEN_PEAK_BYTES, f"the text {source.name} in windows of {seq_len}",
               "raise stride or lower seq_len")
    X, y, vocab = char_windows(text, seq_len, stride)
    if len(X) < 2:
        raise DatasetError(f"the text file {source} has {len(text)} characters, too few for windows of {seq_len}",
                           f"use a longer text, or a seq_len below {max(2, len(text) // 4)}", path=str(source))
    overlap = "" if stride >= seq_len else (" Windows overlap (stride < seq_len), so validation windows share "
                                           "text with training ones.")
    return Dataset(
        name="char_text", X=X, y=y, task="language_model", kind="text", num_classes=len(vocab),
        class_names=tuple(vocab), vocab_size=len(vocab), source=str(source),
        description=f"{len(text):,} characters of {source.name}, {len(vocab)} distinct; {len(X):,} windows of "
                    f"{seq_len} that predict each next character.{overlap}")


def encode(text: str, vocabulary: tuple[str, ...] | list[str]) -> tuple[list[int], str]:
    """(ids, characters left out): the ids of the characters of `text` that the vocabulary has."""
    lookup = {c: i for i, c in enumerate(vocabulary)}
    text = text.replace("\r\n", "\n")
    missing = "".join(sorted({c for c in text if c not in lookup}))
    return [lookup[c] for c in text if c in lookup], missing


def decode(ids, vocabulary: tuple[str, ...] | list[str]) -> str:
    return "".join(vocabulary[int(i)] for i in ids)


__all__ = ["DEFAULT_TEXT", "char_windows", "decode", "encode", "load_char_text", "read_text"]
