"""The character-level language model: the char_text dataset, the language_model task (loss over every position,
bits per character), text sampling, the trainer's per-epoch sample, `layerloom sample` and the exported train.py."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from graph_engine import cli, parse_project
from graph_engine.data import DatasetError, load_dataset, split
from graph_engine.data.text_chars import DEFAULT_TEXT, char_windows, decode, encode, load_char_text
from graph_engine.errors import ProjectError
from graph_engine.project_io import save_project
from graph_engine.sampling.text import PromptError, sample_ids, sample_text, text_from_weights
from graph_engine.training import Trainer
from graph_engine.training.config import TrainingConfig, TrainingConfigError
from graph_engine.training.events import EpochEvent
from graph_engine.training.recipe import bits, language_model_sums, sequence_cross_entropy

from .test_export_train_script import export_pair, run_script

TEXT = ("the cat sat on the mat. the dog sat on the log. a cat and a dog ran to the mat and the log.\n" * 12)


def tiny_lm(text_path, seq_len=16, training=None, d=16):
    """Input -> Embedding -> learned positions -> one causal pre-norm block -> Linear head (vocabulary)."""
    vocab = len(set(TEXT))
    nodes = [{"id": "chars", "op": "Input", "params": {"shape": [seq_len], "dtype": "int64"}},
             {"id": "embed", "op": "Embedding", "params": {"num_embeddings": vocab, "embedding_dim": d}},
             {"id": "pos", "op": "PositionalEncoding", "params": {"kind": "learned"}},
             {"id": "block", "op": "TransformerEncoderLayer",
              "params": {"nhead": 2, "dim_feedforward": 32, "dropout": 0.0, "norm_first": True, "causal": True}},
             {"id": "head", "op": "Linear", "params": {"out_features": vocab}},
             {"id": "scores", "op": "Output"}]
    edges = [{"src": a["id"], "dst": b["id"]} for a, b in zip(nodes, nodes[1:], strict=False)]
    base = {"dataset": {"name": "char_text", "path": str(text_path), "seq_len": seq_len},
            "optimizer": {"name": "Adam", "lr": 0.01}, "epochs": 2, "batch_size": 16, "seed": 3}
    return parse_project({"format": "layerloom", "format_version": 1, "name": "Tiny LM",
                          "graph": {"nodes": nodes, "edges": edges}, "training": {**base, **(training or {})}})


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


# ---- data --------------------------------------------------------------------------------------------------


def test_windows_predict_each_next_character_by_hand():
    X, y, vocab = char_windows("abcab\r\n", 2, 2)
    assert vocab == ["\n", "a", "b", "c"]
    # ids: a1 b2 c3 a1 b2 \n0 ; starts 0, 2 (a window needs a next character after it)
    assert X.tolist() == [[1, 2], [3, 1]] and y.tolist() == [[2, 3], [1, 2]]
    assert X.dtype == y.dtype == np.int64


def test_the_shipped_text_is_alice_in_windows_that_do_not_overlap():
    ds = load_dataset({"name": "char_text"}, (64,), input_dtype="int64")
    text = DEFAULT_TEXT.read_text(encoding="utf-8")
    assert "Alice was beginning to get very tired" in text and len(text) < 300_000
    assert ds.task == "language_model" and ds.kind == "text" and ds.num_classes == len(set(text)) == 72
    assert ds.X.shape == ds.y.shape == (len(text) // 64 - (len(text) % 64 == 0), 64)
    assert decode(ds.X[1], ds.class_names) == text[64:128] and decode(ds.y[1], ds.class_names) == text[65:129]
    train, val = split(ds, 0.2, 0)  # disjoint windows of disjoint text
    assert not set(map(bytes, train.X)) & set(map(bytes, val.X)) or len(val) == 0
    assert ds.preview()["texts"][1] == text[64:128]


def test_a_smaller_stride_gives_overlapping_windows_and_says_so(text_file):
    ds = load_char_text(text_file, seq_len=16, stride=4)
    assert len(ds) == (len(TEXT) - 16 + 3) // 4 and "overlap" in ds.description
    assert np.array_equal(ds.X[1, :12], ds.X[0, 4:])


@pytest.mark.parametrize(("content", "words"), [(None, "does not exist"), (b"\xff\xfe\x00bad", "not UTF-8"),
                                                 (b"tiny", "too few")])
def test_unusable_text_files_are_refused_with_a_hint(tmp_path, content, words):
    path = tmp_path / "t.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DatasetError, match=words) as info:
        load_char_text(path, seq_len=8)
    assert info.value.hint


def test_the_task_follows_the_dataset_and_needs_cross_entropy(text_file):
    config = TrainingConfig.from_project(tiny_lm(text_file))
    assert config.task == "language_model" and config.loss == "CrossEntropyLoss"
    with pytest.raises(TrainingConfigError, match="language model"):
        TrainingConfig.from_project(tiny_lm(text_file, training={"loss": "MSELoss"}))
    with pytest.raises(TrainingConfigError, match="language_model"):
        TrainingConfig.from_project(tiny_lm(text_file, training={"task": "classification"}))


# ---- loss, metrics, sampling -------------------------------------------------------------------------------


def test_the_loss_is_the_mean_cross_entropy_of_every_position_by_hand():
    out = torch.tensor([[[2.0, 0.0], [0.0, 1.0]]])  # 1 sequence, 2 positions, 2 tokens
    target = torch.tensor([[0, 0]])
    by_hand = (-math.log(math.e**2 / (math.e**2 + 1)) - math.log(1 / (1 + math.e))) / 2
    assert float(sequence_cross_entropy(out, target)) == pytest.approx(by_hand)
    assert bits(by_hand) == pytest.approx(by_hand / math.log(2))

    class Fixed(nn.Module):
        def forward(self, x):
            return out.expand(len(x), -1, -1)

    loss_sum, correct = language_model_sums(Fixed(), torch.zeros(3, 2, dtype=torch.int64), target.expand(3, 2),
                                            sequence_cross_entropy, chunk=2)
    assert loss_sum == pytest.approx(3 * by_hand) and correct == 3  # position 1 predicts token 1, not 0


class NextId(nn.Module):
    """A real 'language model' whose scores make token (last + 1) mod V certain, at every position."""

    def __init__(self, vocab=5):
        super().__init__()
        self.vocab = vocab
        self.scale = nn.Parameter(torch.tensor(20.0))

    def forward(self, x):
        return F.one_hot((x + 1) % self.vocab, self.vocab).float() * self.scale


def test_sampling_follows_the_scores_and_the_seed():
    model = NextId().eval()
    assert sample_ids(model, [0], 7, context=4, temperature=0) == [1, 2, 3, 4, 0, 1, 2]
    assert sample_ids(model, [2], 3, context=4, temperature=0.5, seed=1) == [3, 4, 0]  # near-certain scores
    flat = NextId()
    flat.scale.data.fill_(0.0)  # uniform scores: the seed alone decides
    a = sample_ids(flat.eval(), [0], 30, context=4, temperature=1.0, seed=7)
    assert a == sample_ids(flat, [0], 30, context=4, temperature=1.0, seed=7)
    assert a != sample_ids(flat, [0], 30, context=4, temperature=1.0, seed=8) and len(set(a)) > 2
    graded = NextId()
    graded.forward = lambda x: (-0.3 * torch.arange(5.0)).expand(*x.shape, 5)  # token 0 likeliest, then 1, ...
    assert set(sample_ids(graded, [0], 200, context=4, temperature=1.0, seed=7, top_k=2)) == {0, 1}
    assert set(sample_ids(graded, [0], 200, context=4, temperature=1.0, seed=7)) == {0, 1, 2, 3, 4}
    text = sample_text(model, ("a", "b", "c", "d", "\n"), "ab?", length=3, context=4, temperature=0)
    assert text == "abcd\n"  # '?' is not in the vocabulary and is left out
    with pytest.raises(PromptError, match="vocabulary"):
        sample_text(model, ("a", "b"), "zz", length=3, context=4)
    assert encode("a\r\nb", ("\n", "a", "b")) == ([1, 0, 2], "")


# ---- training, sampling from a run, the exported script --------------------------------------------------


@pytest.mark.slow
def test_training_reports_bits_per_character_and_a_sample_after_every_epoch(text_file, tmp_path):
    events = []
    result = Trainer(tiny_lm(text_file), listener=events.append, run_dir=tmp_path / "run", probes=False).run()
    assert result.ok, getattr(result, "message", "")
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert len(epochs) == 2
    for event in epochs:
        r = event.record
        assert r["val_bits_per_char"] == pytest.approx(r["val_loss"] / math.log(2))
        assert r["train_bits_per_char"] == pytest.approx(r["train_loss"] / math.log(2))
        assert 0.0 <= r["val_accuracy"] <= 1.0
        assert isinstance(event.generated, str) and len(event.generated) == 16 + 240
        assert set(event.generated) <= set(TEXT)
    assert epochs[1].record["val_loss"] < math.log(len(set(TEXT)))  # better than uniform guessing
    assert result.confusion_matrix is None

    project_path = tmp_path / "tiny.layerloom.json"
    save_project(tiny_lm(text_file), project_path)
    code = cli.main(["sample", str(project_path), "--weights", str(tmp_path / "run"), "--prompt", "the ",
                     "--length", "50", "--temperature", "0", "--seed", "1"])
    assert code == 0
    text = text_from_weights(tiny_lm(text_file), tmp_path / "run" / "model.safetensors", prompt="the ", length=50,
                             temperature=0)
    assert text.startswith("the ") and len(text) == 54


@pytest.mark.slow
def test_sample_prints_the_text_and_refuses_what_it_cannot_sample(text_file, tmp_path, capsys):
    run = tmp_path / "run"
    Trainer(tiny_lm(text_file, training={"epochs": 1}), run_dir=run, probes=False).run()
    project_path = tmp_path / "tiny.layerloom.json"
    save_project(tiny_lm(text_file), project_path)
    capsys.readouterr()
    assert cli.main(["sample", str(project_path), "--weights", str(run), "--prompt", "a cat", "--length", "40",
                     "--seed", "2"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("a cat") and len(printed.rstrip("\n")) >= 45
    assert cli.main(["sample", str(project_path), "--weights", str(run), "--prompt", "a cat", "--length", "40",
                     "--seed", "2"]) == 0
    assert capsys.readouterr().out == printed  # the same seed gives the same text
    assert cli.main(["sample", str(project_path), "--weights", str(tmp_path / "nothing")]) == 1
    assert "does not exist" in capsys.readouterr().err
    empty = tmp_path / "empty_run"
    empty.mkdir()
    assert cli.main(["sample", str(project_path), "--weights", str(empty)]) == 1
    assert "holds no weights" in capsys.readouterr().err
    assert cli.main(["sample", str(project_path), "--weights", str(run), "--prompt", "ZZZ"]) == 1
    assert "vocabulary" in capsys.readouterr().err
    assert cli.main(["sample", str(project_path), "--weights", str(run), "--temperature", "-1"]) == 2


@pytest.mark.slow
def test_the_exported_script_trains_the_same_language_model_and_writes_text(text_file, tmp_path):
    project = tiny_lm(text_file, training={"epochs": 1})
    _, script = export_pair(project, tmp_path / "export")
    proc = run_script([sys.executable, str(script), "--out", "out", "--device", "cpu"], cwd=tmp_path / "export")
    assert proc.returncode == 0, proc.stderr
    assert "generated text:" in proc.stdout
    ours = json.loads((tmp_path / "export" / "out" / "metrics.json").read_text())
    events = []
    app = Trainer(project, listener=events.append, probes=False).run().history
    for key in ("train_loss", "train_bits_per_char", "val_loss", "val_bits_per_char", "val_accuracy", "lr"):
        assert ours[0][key] == pytest.approx(app[0][key], rel=1e-6, abs=1e-9), key
    sample = next(e for e in events if isinstance(e, EpochEvent)).generated
    assert proc.stdout.split("generated text:\n", 1)[1].startswith(sample)  # the same sampler, the same text
    vocabulary = json.loads((tmp_path / "export" / "out" / "vocabulary.json").read_text())
    assert "".join(vocabulary) == "".join(sorted(set(TEXT)))
    other = tmp_path / "other.txt"
    other.write_text("xyz " * 40, encoding="utf-8")  # another text: another vocabulary, refused by the app's rule
    proc = run_script([sys.executable, str(script), "--data", str(other), "--device", "cpu"], cwd=tmp_path / "export")
    assert proc.returncode != 0 and "error: the network outputs [16, " in proc.stderr


def test_a_project_that_is_not_a_language_model_is_not_sampled_as_text(tmp_path):
    from graph_engine.templates import load_template

    path = tmp_path / "moons.layerloom.json"
    save_project(load_template("moons_mlp"), path)
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"")
    with pytest.raises(ProjectError):
        text_from_weights(load_template("moons_mlp"), weights)
    assert cli.main(["sample", str(path), "--weights", str(weights)]) == 1
