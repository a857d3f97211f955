"""GAN projects: the file format (a discriminator beside the generator), the checker, the settings, the
adversarial trainer, the exported train.py (same numbers as the trainer; torchrun) and `layerloom sample`."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from graph_engine import generate_code
from graph_engine.cli import main as cli_main
from graph_engine.errors import ProjectError
from graph_engine.export import load_module_from_file, write_train_script
from graph_engine.gan import GanError, check_gan, gan_diagnostics, is_gan
from graph_engine.project_io import load_project, parse_project, project_to_dict, project_to_json
from graph_engine.templates import load_template
from graph_engine.training import FinishedEvent, Trainer, TrainingConfig
from graph_engine.training import gan_recipe as gr
from graph_engine.training.config import TrainingConfigError
from graph_engine.training.events import EpochEvent
from graph_engine.training.gan_loop import GanTrainer
from graph_engine.training.settings import change_setting, read_setting

TORCHRUN = Path(sys.executable).parent / "torchrun"


def gan_project(epochs=1, **training):
    project = load_template("gan_digits")
    project.training = dict(project.training, epochs=epochs, **training)
    return project


def read_png(path: Path) -> np.ndarray:
    """A PNG written by gan_recipe.png_bytes, decoded with zlib (8-bit greyscale or RGB, filter 0)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = 1 if colour == 0 else 3
    raw = zlib.decompress(chunks[b"IDAT"])
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(h, 1 + w * channels)
    assert depth == 8 and (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, channels)


# ---- the format --------------------------------------------------------------------------------------------


def test_a_gan_file_round_trips_with_both_networks(tmp_path):
    project = load_template("gan_digits")
    assert is_gan(project) and project.discriminator is not None
    data = project_to_dict(project)
    assert data["discriminator"]["nodes"][0] == {"id": "image", "op": "Input", "params": {"shape": [1, 8, 8]},
                                                 "pos": [0.0, 0.0]}
    again = parse_project(json.loads(project_to_json(project)))
    assert project_to_json(again) == project_to_json(project)
    assert "discriminator" not in again.extra
    copied = project.copy()
    copied.discriminator.node("fc1").params["out_features"] = 7
    assert project.discriminator.node("fc1").params["out_features"] == 256  # a copy is deep


def test_a_project_without_discriminator_is_written_as_before():
    project = load_template("mlp_digits")
    assert project.discriminator is None and not is_gan(project)
    assert "discriminator" not in project_to_dict(project)


def test_a_malformed_discriminator_is_a_clear_error():
    data = project_to_dict(load_template("gan_digits"))
    data["discriminator"] = [1, 2]
    with pytest.raises(ProjectError, match="discriminator must be an object") as info:
        parse_project(data)
    assert info.value.field == "discriminator"
    data["discriminator"] = {"nodes": {}}
    with pytest.raises(ProjectError, match="discriminator.nodes must be a list"):
        parse_project(data)


# ---- the checker -------------------------------------------------------------------------------------------


def test_the_templates_fit_together():
    for name in ("gan_digits", "dcgan_digits"):
        nets = check_gan(load_template(name))
        assert nets.discriminator.ok and nets.generator.ok
        assert gan_diagnostics(load_template(name)) == []
    nets = check_gan(load_template("dcgan_digits"))
    assert nets.noise_shape == (64,) and nets.sample_shape == (1, 28, 28)


def test_the_discriminator_input_must_be_the_generators_output():
    project = load_template("gan_digits")
    project.discriminator.node("image").params["shape"] = [64]
    (diag,) = gan_diagnostics(project)
    assert diag.node_id == "image" and diag.field == "discriminator" and diag.is_error
    assert "takes [64], but the generator makes [1, 8, 8]" in diag.message
    assert "[1, 8, 8]" in diag.hint


def test_the_discriminator_gives_one_score_per_sample():
    project = load_template("gan_digits")
    project.discriminator.node("score").params["out_features"] = 10
    with pytest.raises(GanError, match="one score") as info:
        check_gan(project)
    assert info.value.node_id == "logit" and info.value.network == "discriminator"


def test_a_discriminator_error_is_named_on_its_node():
    project = load_template("gan_digits")
    project.discriminator.node("fc2").params["out_features"] = -3
    (diag,) = gan_diagnostics(project)
    assert diag.node_id == "fc2" and diag.field == "discriminator"


def test_a_gan_recipe_without_discriminator_is_refused_clearly():
    project = load_template("gan_digits")
    project.discriminator = None
    (diag,) = gan_diagnostics(project)
    assert "has no discriminator" in diag.message
    event = Trainer(project).run()
    assert event.kind == "config" and "no discriminator" in event.message


def test_cli_check_reports_the_discriminator(tmp_path, capsys):
    project = load_template("gan_digits")
    project.discriminator.node("image").params["shape"] = [64]
    path = tmp_path / "bad.layerloom.json"
    path.write_text(project_to_json(project), encoding="utf-8")
    assert cli_main(["check", str(path)]) == 1
    assert "image [discriminator]: the Input 'image' takes [64]" in capsys.readouterr().out


# ---- settings ----------------------------------------------------------------------------------------------


def test_gan_settings_parse_with_dcgan_defaults():
    config = TrainingConfig.parse({"recipe": "gan"})
    assert config.recipe == "gan"
    assert (config.gan.g_lr, config.gan.d_lr, config.gan.beta1, config.gan.beta2) == (0.0002, 0.0002, 0.5, 0.999)
    assert config.gan.label_smoothing == 0.1 and config.gan.instance_noise == 0.0
    assert "recipe" not in TrainingConfig.parse({}).to_dict()  # a supervised section is unchanged
    again = TrainingConfig.parse(config.to_dict())
    assert (again.recipe, again.gan) == ("gan", config.gan)


@pytest.mark.parametrize(("gan", "field"), [({"d_lr": 0}, "training.gan.d_lr"), ({"beta1": 1.0}, "training.gan.beta1"),
                                           ({"label_smoothing": 0.7}, "training.gan.label_smoothing"),
                                           ({"samples": 0}, "training.gan.samples"), ({"glr": 1}, "training.gan.glr")])
def test_bad_gan_settings_name_their_field(gan, field):
    with pytest.raises(TrainingConfigError) as info:
        TrainingConfig.parse({"recipe": "gan", "gan": gan})
    assert info.value.field == field


def test_gan_settings_are_edited_like_the_others():
    training = change_setting({"recipe": "gan"}, "gan.d_lr", 0.0005)
    assert training == {"recipe": "gan", "gan": {"d_lr": 0.0005}}
    assert read_setting(training, "gan.d_lr") == 0.0005 and read_setting(training, "gan.beta1") == 0.5
    assert change_setting(training, "gan.d_lr", 0.0002) == {"recipe": "gan"}  # the default leaves the file


# ---- the recipe's pieces -----------------------------------------------------------------------------------


def test_the_samples_grid_is_a_real_png(tmp_path):
    images = np.linspace(0, 1, 6 * 8 * 8, dtype=np.float32).reshape(6, 1, 8, 8)
    path = tmp_path / "grid.png"
    path.write_bytes(gr.png_bytes(gr.image_grid(images, columns=3, scale=2, pad=1)))
    pixels = read_png(path)
    assert pixels.shape == ((2 * 9 + 1) * 2, (3 * 9 + 1) * 2, 1)
    assert pixels[2, 2, 0] == 0 and pixels[-3, -3, 0] == 255  # the first image's first pixel, the last's last
    rgb = gr.image_grid(np.ones((2, 3, 4, 4), dtype=np.float32), scale=1)
    assert rgb.shape == (6, 11, 3)


def test_instance_noise_fades_to_zero():
    assert [gr.instance_noise_std(0.2, e, 5) for e in (1, 3, 5)] == pytest.approx([0.2, 0.1, 0.0])
    assert gr.instance_noise_std(0.0, 1, 5) == 0.0


def test_collapse_is_warned():
    collapsed = {"epoch": 5, "d_loss": 0.6, "g_loss": 1.0, "sample_diversity": 0.01}
    assert "mode collapse" in gr.collapse_warning(collapsed, [], 0.3)
    assert gr.collapse_warning({**collapsed, "epoch": 2}, [], 0.3) is None  # a fresh generator is not collapsed
    history = [{"g_loss": 3.0}, {"g_loss": 4.0}, {"g_loss": 5.0}]
    winning = {"epoch": 4, "d_loss": 0.01, "g_loss": 6.0, "sample_diversity": 0.3}
    assert "discriminator wins" in gr.collapse_warning(winning, history, 0.3)
    assert gr.collapse_warning({"epoch": 4, "d_loss": 0.6, "g_loss": 1.0, "sample_diversity": 0.25}, history,
                               0.3) is None


# ---- training ----------------------------------------------------------------------------------------------


def test_a_gan_trains_and_fills_its_run_folder(tmp_path):
    project = gan_project(epochs=2, batch_size=256, gan={"samples": 16, "instance_noise": 0.1})
    events = []
    trainer = Trainer(project, listener=events.append, run_dir=tmp_path / "run", num_threads=1)
    assert isinstance(trainer, GanTrainer)
    result = trainer.run()
    assert isinstance(result, FinishedEvent), getattr(result, "message", result)
    samples = [e.samples for e in events if isinstance(e, EpochEvent)]
    assert len(samples) == 2 and samples[0].shape == (16, 1, 8, 8) and samples[0].dtype == np.float32
    record = result.history[-1]
    for key in ("d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy", "sample_diversity"):
        assert np.isfinite(record[key]), key
    assert 0 <= record["d_real_accuracy"] <= 1 and 0 <= record["d_fake_accuracy"] <= 1
    assert result.history[0]["instance_noise"] == pytest.approx(0.1) and record["instance_noise"] == 0.0
    run = tmp_path / "run"
    assert read_png(run / "samples.png").shape == ((4 * 9 + 1) * 4, (4 * 9 + 1) * 4, 1)
    assert json.loads((run / "metrics.json").read_text())[-1]["g_loss"] == pytest.approx(record["g_loss"])
    code = tmp_path / "model.py"
    code.write_text(generate_code(project), encoding="utf-8")
    generator = load_module_from_file(code).create_model()  # the exported code is the generator
    generator.load_state_dict(load_file(run / "model.safetensors"), strict=True)
    assert set(load_file(run / "discriminator.safetensors")) == set(trainer.discriminator.state_dict())
    assert load_project(run / "project.layerloom.json").discriminator is not None


def test_a_gan_run_is_deterministic_on_cpu():
    runs = [Trainer(gan_project(batch_size=512), num_threads=1).run() for _ in range(2)]
    assert runs[0].history[0]["g_loss"] == runs[1].history[0]["g_loss"]
    assert runs[0].history[0]["d_loss"] == runs[1].history[0]["d_loss"]


def test_a_gan_run_stops_and_keeps_its_weights(tmp_path):
    trainer = Trainer(gan_project(epochs=3, batch_size=256), run_dir=tmp_path, num_threads=1)
    trainer.add_listener(lambda e: trainer.stop() if isinstance(e, EpochEvent) else None)
    result = trainer.run()
    assert type(result).__name__ == "StoppedEvent" and len(result.history) == 1
    assert (tmp_path / "model.safetensors").exists() and (tmp_path / "discriminator.safetensors").exists()


# ---- the exported train.py ---------------------------------------------------------------------------------


def export_gan(project, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    code = folder / "model.py"
    code.write_text(generate_code(project), encoding="utf-8")
    return code, write_train_script(project, folder / "train.py", code)


def run_script(args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="error")
    env.pop("PYTHONPATH", None)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_gan_train_script_gives_the_trainers_losses_and_weights(tmp_path):
    project = gan_project(batch_size=256, gan={"instance_noise": 0.05})
    code, script = export_gan(project, tmp_path / "export")
    assert (tmp_path / "export" / "discriminator.py").exists()
    source = script.read_text()
    assert "graph_engine" not in source and "def gan_step(" in source and "def main(" in source
    proc = run_script([sys.executable, str(script), "--out", "out", "--device", "cpu"], tmp_path / "export")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("training a GAN on cpu: digits, 1797 samples, 1 epochs")
    ours = json.loads((tmp_path / "export" / "out" / "metrics.json").read_text())
    trainer = Trainer(project, probes=False, num_threads=1)
    app = trainer.run().history
    for key in ("d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy", "sample_diversity"):
        assert ours[0][key] == pytest.approx(app[0][key], rel=1e-6, abs=1e-9), key
    weights = load_file(tmp_path / "export" / "out" / "model.safetensors")
    for name, tensor in trainer.model.state_dict().items():
        assert torch.allclose(weights[name], tensor, rtol=1e-5, atol=1e-6), name
    generator = load_module_from_file(code).create_model()
    generator.load_state_dict(weights, strict=True)
    assert read_png(tmp_path / "export" / "out" / "samples.png").shape[2] == 1


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_gan_train_script_under_torchrun_with_two_processes(tmp_path):
    project = gan_project(batch_size=128)
    code, script = export_gan(project, tmp_path / "export")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node", "2", str(script), "--out", "ddp",
                           "--device", "cpu"], cwd=tmp_path / "export", env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("training a GAN on cpu x 2 processes: digits")
    assert sum(line.startswith("epoch 1/1") for line in lines) == 1
    metrics = json.loads((tmp_path / "export" / "ddp" / "metrics.json").read_text())
    assert np.isfinite(metrics[0]["d_loss"]) and np.isfinite(metrics[0]["g_loss"])
    load_module_from_file(code).create_model().load_state_dict(
        load_file(tmp_path / "export" / "ddp" / "model.safetensors"), strict=True)


def test_the_dcgan_script_draws_the_stroke_digits_as_the_app_does():
    from graph_engine.data import load_dataset
    from graph_engine.export import generate_train_script

    source = generate_train_script(load_template("dcgan_digits"))
    namespace = {"__name__": "exported_train", "__file__": "/nonexistent/train.py"}
    exec(compile(source, "train.py", "exec"), namespace)  # noqa: S102 - our own generated script
    X, y, _ = namespace["load_data"]()
    app = load_dataset(load_template("dcgan_digits").training["dataset"])
    assert np.array_equal(X, app.X) and np.array_equal(y, app.y)


# ---- the command line --------------------------------------------------------------------------------------


def test_layerloom_train_and_sample(tmp_path, capsys):
    project = gan_project(batch_size=512)
    path = tmp_path / "gan.layerloom.json"
    path.write_text(project_to_json(project), encoding="utf-8")
    assert cli_main(["train", str(path), "--out", str(tmp_path / "run")]) == 0
    out, err = capsys.readouterr()
    assert "samples.png" in out and "d_loss" in err and "d_real_accuracy" in err
    assert read_png(tmp_path / "run" / "samples.png").shape[2] == 1
    grid = tmp_path / "grid.png"
    assert cli_main(["sample", str(path), "--weights", str(tmp_path / "run"), "--out", str(grid), "--count", "9",
                     "--seed", "3"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert read_png(grid).shape == ((3 * 9 + 1) * 4, (3 * 9 + 1) * 4, 1)
    first = grid.read_bytes()
    cli_main(["sample", str(path), "--weights", str(tmp_path / "run" / "model.safetensors"), "--out", str(grid),
              "--count", "9", "--seed", "3"])
    assert grid.read_bytes() == first  # the same seed draws the same images
    cli_main(["sample", str(path), "--weights", str(tmp_path / "run"), "--out", str(grid), "--count", "9",
              "--seed", "4"])
    assert grid.read_bytes() != first


def test_sample_refuses_what_it_cannot_draw(tmp_path, capsys):
    path = tmp_path / "mlp.layerloom.json"
    path.write_text(project_to_json(load_template("mlp_digits")), encoding="utf-8")
    assert cli_main(["sample", str(path), "--weights", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "does not generate images" in err and "Traceback" not in err
    gan = tmp_path / "gan.layerloom.json"
    gan.write_text(project_to_json(load_template("gan_digits")), encoding="utf-8")
    assert cli_main(["sample", str(gan), "--weights", str(tmp_path)]) == 1
    assert "holds no model.safetensors" in capsys.readouterr().err
    other = tmp_path / "w.safetensors"
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(other))
    assert cli_main(["sample", str(gan), "--weights", str(other)]) == 1
    assert "do not fit this network" in capsys.readouterr().err


# ---- must show ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(1800)  # ~1 min on a quiet laptop CPU; 5-6 min on the shared 2-core machine under load
def test_gan_digits_with_its_defaults_draws_recognisable_digits(tmp_path, capsys):
    """`layerloom train` on the template as shipped; 500 samples of the exported generator with the trained
    weights, judged by an MLP trained on the real digits (tests/engine/gan_judge.py)."""
    from tests.engine.gan_judge import judge

    path = tmp_path / "gan_digits.layerloom.json"
    path.write_text(project_to_json(load_template("gan_digits")), encoding="utf-8")
    assert cli_main(["train", str(path), "--out", str(tmp_path / "run")]) == 0
    code = tmp_path / "model.py"
    code.write_text(generate_code(load_template("gan_digits")), encoding="utf-8")
    generator = load_module_from_file(code).create_model()
    generator.load_state_dict(load_file(tmp_path / "run" / "model.safetensors"), strict=True)
    generator.eval()
    with torch.no_grad():
        samples = generator(torch.randn(500, 32, generator=torch.Generator().manual_seed(2026))).numpy()
    verdict = judge(samples)
    print(verdict)
    assert verdict["judge_accuracy"] >= 0.95
    assert verdict["confident"] >= 0.6, verdict
    assert len(verdict["classes"]) >= 8, verdict
