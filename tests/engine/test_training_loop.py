"""The headless training loop: accuracy on the digits templates, determinism, failures, control, probes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import torch

from graph_engine import build_model, parse_project
from graph_engine.training import (
    TIMING_KEYS,
    EpochEvent,
    FailedEvent,
    FinishedEvent,
    PausedEvent,
    ProbeEvent,
    ResumedEvent,
    StartedEvent,
    StepEvent,
    StoppedEvent,
    Trainer,
    TrainingConfigError,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


def template(name: str, **training) -> dict:
    data = json.loads((TEMPLATES / f"{name}.layerloom.json").read_text(encoding="utf-8"))
    data["training"] = {**(data.get("training") or {}), **training}
    return data


def project(name: str, **training):
    return parse_project(template(name, **training))


def metrics(history):
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in history]


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class Recorder:
    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]


# ---- the templates learn ---------------------------------------------------------------------------------


def test_mlp_digits_reaches_093_within_20_epochs_on_cpu():
    t0 = time.perf_counter()
    result = Trainer(project("mlp_digits", epochs=20, device="cpu")).run()
    seconds = time.perf_counter() - t0
    assert isinstance(result, FinishedEvent), result
    assert len(result.history) == 20
    final = result.history[-1]["val_accuracy"]
    assert final >= 0.93, [r["val_accuracy"] for r in result.history]
    assert result.confusion_matrix.shape == (10, 10) and result.confusion_matrix.sum() == 359
    print(f"mlp_digits: val_accuracy {final:.4f} after 20 epochs, {seconds:.2f} s")


def test_cnn_digits_reaches_095_within_20_epochs_on_cpu():
    t0 = time.perf_counter()
    result = Trainer(project("cnn_digits", epochs=20, device="cpu")).run()
    seconds = time.perf_counter() - t0
    assert isinstance(result, FinishedEvent), result
    final = result.history[-1]["val_accuracy"]
    assert final >= 0.95, [r["val_accuracy"] for r in result.history]
    print(f"cnn_digits: val_accuracy {final:.4f} after 20 epochs, {seconds:.2f} s")


def test_records_have_the_documented_keys():
    rec = Recorder()
    result = Trainer(project("mlp_digits", epochs=2), listener=rec).run()
    keys = {"epoch", "step", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "time_s",
            "samples_per_s"}
    assert all(set(r) == keys for r in result.history)
    json.dumps(result.history, allow_nan=False)
    started = rec.of(StartedEvent)[0]
    assert (started.n_train, started.n_val, started.steps_per_epoch, started.device) == (1438, 359, 23, "cpu")
    steps = rec.of(StepEvent)
    assert [s.step for s in steps] == list(range(1, 47)) and steps[-1].epoch == 2
    assert [e.epoch for e in rec.of(EpochEvent)] == [1, 2]
    assert isinstance(rec.events[-1], FinishedEvent) and rec.events[-1] is result
    assert result.best["monitor"] == "val_loss" and result.best["epoch"] in (1, 2)


# ---- determinism -----------------------------------------------------------------------------------------


def test_same_seed_twice_gives_identical_metrics_and_weights():
    cfg = dict(epochs=3, augment={"shift": 1, "noise": 0.05}, schedule={"name": "cosine"})
    a = Trainer(project("cnn_digits", **cfg))
    b = Trainer(project("cnn_digits", **cfg))
    ra, rb = a.run(), b.run()
    assert metrics(ra.history) == metrics(rb.history)
    assert same_weights(weights(a.model), weights(b.model))
    c = Trainer(project("cnn_digits", **cfg, seed=1))
    assert metrics(c.run().history) != metrics(ra.history)


def test_probes_do_not_change_training():
    quiet = Trainer(project("mlp_digits", epochs=2))
    probed = Trainer(project("mlp_digits", epochs=2, probe_every=3), listener=Recorder())
    rq, rp = quiet.run(), probed.run()
    assert metrics(rq.history) == metrics(rp.history)
    assert same_weights(weights(quiet.model), weights(probed.model))


# ---- failures --------------------------------------------------------------------------------------------


def test_absurd_learning_rate_stops_with_a_clear_message_naming_a_layer():
    rec = Recorder()
    result = Trainer(project("mlp_digits", epochs=5, optimizer={"name": "Adam", "lr": 1e6}), listener=rec).run()
    assert isinstance(result, FailedEvent) and result.kind == "nonfinite"
    assert result.node_id in {"fc1", "fc2", "fc3"}
    assert f"'{result.node_id}'" in result.message
    assert "learning rate" in result.message and "1e+06" in result.message
    assert "NaN/Inf" in result.message and "\n" not in result.message
    assert result.epoch == 1 and rec.events[-1] is result


def test_nan_loss_names_the_first_layer_whose_output_went_non_finite():
    # One enormous SGD step makes the weights ~1e37: the next forward overflows to Inf and the loss is NaN.
    trainer = Trainer(project("mlp_digits", epochs=1, optimizer={"name": "SGD", "lr": 1e38}))
    result = trainer.run()
    assert isinstance(result, FailedEvent) and result.kind == "nonfinite", result
    assert "the loss became NaN" in result.message and "lower the learning rate" in result.message
    # Independently: walk the (sequential) MLP layer by layer; the first non-finite output is the one named.
    model = trainer.model.eval()
    x = trainer.X_train[:256]
    first = None
    with torch.no_grad():
        for name in ["fc1", "act1", "drop1", "fc2", "act2", "fc3"]:
            x = getattr(model, name)(x)
            if first is None and not torch.isfinite(x).all():
                first = name
    assert first is not None and result.node_id == first
    assert f"'{first}' (Linear) was the first to output" in result.message


def test_non_finite_weights_deep_in_the_network_are_attributed_to_that_layer():
    trainer = Trainer(project("mlp_digits", epochs=1))
    trainer.prepare()
    with torch.no_grad():
        trainer.model.fc2.weight[3, 5] = float("inf")
    result = trainer.run()
    assert isinstance(result, FailedEvent) and result.node_id == "fc2", result
    assert "'fc2' (Linear) was the first to output" in result.message
    assert result.step == 0 and result.history == []


def test_simulated_out_of_memory_suggests_half_the_batch_size():
    trainer = Trainer(project("cnn_digits", epochs=2, batch_size=64))
    trainer.prepare()

    def explode(module, inputs, output):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    handle = trainer.model.fc1.register_forward_hook(explode)
    try:
        result = trainer.run()
    finally:
        handle.remove()
    assert isinstance(result, FailedEvent) and result.kind == "oom", result
    assert "out of memory" in result.message and "batch size 64" in result.message
    assert "try batch size 32" in result.message and "batch_size to 32" in result.hint


def test_dataset_that_does_not_fit_the_input_is_a_clear_failure():
    result = Trainer(project("lenet5", epochs=1, dataset={"name": "digits"})).run()  # a 28x28 LeNet on the 8x8 digits
    assert isinstance(result, FailedEvent) and result.kind == "data"
    assert "64 values per sample" in result.message and "784" in result.message


def test_output_that_does_not_fit_the_classes_names_the_layer_to_fix():
    data = template("mlp_digits", epochs=1)
    for n in data["graph"]["nodes"]:
        if n["id"] == "fc3":
            n["params"]["out_features"] = 5
    result = Trainer(parse_project(data)).run()
    assert isinstance(result, FailedEvent) and result.kind == "data"
    assert "10 classes" in result.message and "set out_features of 'fc3' to 10" in result.message


def test_invalid_graph_and_bad_settings():
    data = template("mlp_digits", epochs=1)
    data["graph"]["edges"] = [e for e in data["graph"]["edges"] if e["dst"] != "fc2"]
    result = Trainer(parse_project(data)).run()
    assert isinstance(result, FailedEvent) and result.kind == "config" and "error" in result.message
    with pytest.raises(TrainingConfigError) as info:
        Trainer(project("mlp_digits"), {"epochs": 0})
    assert info.value.field == "training.epochs"
    result = Trainer(project("mlp_digits", device="cuda" if not torch.cuda.is_available() else "mps")).run()
    if not isinstance(result, FinishedEvent):  # the device does not exist here
        assert result.kind == "config" and "training.device" in result.message


def test_a_listener_error_is_raised_not_reported_as_a_failed_run():
    def listener(event):
        if isinstance(event, StepEvent) and event.step == 3:
            raise KeyError("listener bug")

    with pytest.raises(KeyError, match="listener bug"):
        Trainer(project("mlp_digits", epochs=1), listener=listener).run()


# ---- pause / resume / stop from another thread ---------------------------------------------------------------


def test_pause_resume_and_stop_from_another_thread():
    rec = Recorder()
    stepped = threading.Event()
    paused = threading.Event()

    def listener(event):
        rec(event)
        if isinstance(event, StepEvent) and event.step >= 5:
            stepped.set()
        if isinstance(event, PausedEvent):
            paused.set()

    trainer = Trainer(project("mlp_digits", epochs=1000), listener=listener)
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("result", trainer.run()))
    worker.start()
    try:
        assert stepped.wait(60)
        trainer.pause()
        assert paused.wait(10) and trainer.paused
        steps_at_pause = len(rec.of(StepEvent))
        time.sleep(0.3)
        assert len(rec.of(StepEvent)) == steps_at_pause  # nothing ran while paused
        stepped.clear()
        trainer.resume()
        deadline = time.monotonic() + 30
        while len(rec.of(StepEvent)) < steps_at_pause + 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(rec.of(StepEvent)) >= steps_at_pause + 5
        trainer.pause()
        time.sleep(0.1)
        trainer.stop()  # a paused run stops too
    finally:
        trainer.stop()
        worker.join(30)
    assert not worker.is_alive()
    result = out["result"]
    assert isinstance(result, StoppedEvent) and result.step == len(rec.of(StepEvent))
    kinds = [type(e) for e in rec.events if not isinstance(e, StepEvent | ProbeEvent | EpochEvent)]
    assert kinds[:3] == [StartedEvent, PausedEvent, ResumedEvent] and kinds[-1] is StoppedEvent
    assert not trainer.running


# ---- probes ----------------------------------------------------------------------------------------------


def test_probes_report_layer_statistics_and_leave_no_hooks(monkeypatch):
    registered = []
    original = torch.nn.Module.register_forward_hook

    def counting(self, *args, **kwargs):
        registered.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "register_forward_hook", counting)
    hooked_during_steps = []

    def listener(event):
        if isinstance(event, StepEvent):
            hooked_during_steps.append(any(m._forward_hooks for m in trainer.model.modules()))

    rec = Recorder()
    trainer = Trainer(project("cnn_digits", epochs=1, probe_every=10), listener=[rec, listener])
    result = trainer.run()
    assert isinstance(result, FinishedEvent)
    probes = rec.of(ProbeEvent)
    assert [p.step for p in probes] == [1, 10, 20, trainer.global_step]  # and the step the run ended on
    assert trainer.global_step not in (1, 10, 20)
    assert not any(hooked_during_steps)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in trainer.model.modules())
    assert len(registered) == len(probes) * len(list(trainer.model.children()))  # hooks only on probe steps

    probe = probes[-1]
    assert list(probe.layers)[:4] == ["conv1", "bn1", "act1", "pool1"]
    act = probe.layers["act1"]
    assert act.op == "ReLU" and 0.0 <= act.dead_fraction <= 1.0 and act.min >= 0.0
    assert 8000 <= act.histogram.sum() <= 8192 and len(act.bin_edges) == len(act.histogram) + 1  # sampled
    assert probe.layers["fc2"].histogram.sum() == 64 * 10  # small outputs: every value
    conv = probe.layers["conv1"]
    assert conv.grad_norm > 0 and conv.weight_norm > 0 and conv.dead_fraction is None
    assert probe.layers["pool1"].grad_norm is None and probe.layers["pool1"].weight_norm is None
    assert probe.layers["fc2"].shape == (64, 10)
    assert probe.feature_maps.node_id == "conv1" and probe.feature_maps.maps.shape == (16, 8, 8)
    assert probe.feature_maps.sample.shape == (1, 8, 8)
    assert probe.decision_boundary is None


def test_decision_boundary_for_2d_points():
    rec = Recorder()
    Trainer(project("moons_mlp", epochs=2, probe_every=20), listener=rec).run()
    probes = rec.of(ProbeEvent)
    assert probes
    boundary = probes[-1].decision_boundary
    assert boundary.probs.shape == (60, 60, 2) and boundary.xs.shape == (60,)
    assert abs(float(boundary.probs.sum(-1).mean()) - 1.0) < 1e-4
    assert boundary.points.shape[1] == 2 and len(boundary.points) == len(boundary.labels)
    assert probes[-1].layers["act1"].dead_fraction is None  # Tanh units cannot die


# ---- other tasks, schedules, early stopping ---------------------------------------------------------------


def test_regression_on_diabetes_reports_mae_and_r2():
    result = Trainer(project("mlp_diabetes", epochs=5)).run()
    assert isinstance(result, FinishedEvent), result
    last = result.history[-1]
    assert {"val_mae", "val_r2"} <= set(last) and "val_accuracy" not in last
    assert last["val_r2"] > 0.2 and last["val_mae"] > 0
    assert result.confusion_matrix is None


def test_lstm_sine_regression_runs_an_epoch():
    # The template's Input is [32, 1]; the sine dataset's window must match it.
    result = Trainer(project("lstm_sine", epochs=1, dataset={"name": "sine", "window": 32, "n_samples": 400})).run()
    assert isinstance(result, FinishedEvent), result
    assert result.history[-1]["val_mae"] is not None


def test_autoencoder_runs_an_epoch():
    result = Trainer(project("autoencoder_digits", epochs=1)).run()
    assert isinstance(result, FinishedEvent), result
    last = result.history[-1]
    assert last["val_loss"] > 0 and last["val_mae"] > 0 and "val_r2" in last


@pytest.mark.parametrize("schedule", [{"name": "step", "step_size": 1, "gamma": 0.5}, {"name": "cosine"},
                                      {"name": "onecycle", "max_lr": 0.01}, {"name": "plateau", "patience": 0}])
def test_schedules_change_the_learning_rate(schedule):
    result = Trainer(project("moons_mlp", epochs=3, schedule=schedule)).run()
    assert isinstance(result, FinishedEvent), result
    lrs = [r["lr"] for r in result.history]
    if schedule["name"] == "step":
        assert lrs == [0.01, 0.005, 0.0025]
    elif schedule["name"] != "plateau":
        assert len(set(lrs)) == 3


@pytest.mark.parametrize("optimizer", [{"name": "SGD", "lr": 0.05, "momentum": 0.9, "nesterov": True},
                                       {"name": "AdamW", "lr": 0.01, "weight_decay": 0.01},
                                       {"name": "RMSprop", "lr": 0.005, "momentum": 0.5}])
def test_optimizers_train(optimizer):
    result = Trainer(project("moons_mlp", epochs=4, optimizer=optimizer, grad_clip=1.0)).run()
    assert isinstance(result, FinishedEvent), result
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_early_stopping_ends_the_run():
    result = Trainer(project("moons_mlp", epochs=200, early_stopping={"patience": 2, "min_delta": 10.0})).run()
    assert isinstance(result, FinishedEvent) and result.stopped_early
    assert len(result.history) == 3 and "early stopping" in result.reason


def test_best_weights_are_kept_in_memory_without_a_run_folder():
    trainer = Trainer(project("moons_mlp", epochs=2))
    result = trainer.run()
    assert trainer.best_weights is not None and result.best is not None
    model = build_model(trainer.project)
    model.load_state_dict(trainer.best_weights, strict=True)


def test_single_sample_last_batch_is_skipped_for_batchnorm():
    # digits: 1438 training samples; batch 1437 would leave a final batch of one, which BatchNorm refuses.
    result = Trainer(project("cnn_digits", epochs=1, batch_size=1437)).run()
    assert isinstance(result, FinishedEvent), result
    assert result.history[-1]["step"] == 1


def test_without_a_validation_set_the_train_loss_is_watched():
    result = Trainer(project("moons_mlp", epochs=2, val_fraction=0.0, early_stopping=True)).run()
    assert isinstance(result, FinishedEvent), result
    last = result.history[-1]
    assert last["val_loss"] is None and last["val_accuracy"] is None and last["train_accuracy"] > 0.5
    assert result.best["monitor"] == "train_loss" and result.confusion_matrix is None


def test_token_sequences_train_a_gru():
    result = Trainer(project("gru_tokens", epochs=1,
                             dataset={"name": "tokens", "seq_len": 20, "n_samples": 400})).run()
    assert isinstance(result, FinishedEvent), result
    assert result.history[-1]["val_accuracy"] is not None


def test_devices_are_described_and_resolved():
    from graph_engine.training import describe_devices, resolve_device

    devices = describe_devices()
    assert devices[0].kind == "cpu" and devices[0].threads >= 1 and "CPU" in devices[0].describe()
    assert resolve_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else ("mps" if any(d.kind == "mps" for d in devices) else "cpu")
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(TrainingConfigError) as info:
            resolve_device("cuda:0")
        assert info.value.field == "training.device" and "cpu" in info.value.hint
