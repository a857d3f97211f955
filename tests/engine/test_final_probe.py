"""A run ends with a probe at its last step: what the dashboard shows of a finished or stopped run (activations,
gradient norms, decision boundary) is the final model, however far apart probe_every spaces the probes."""

from __future__ import annotations

from graph_engine.training import FinishedEvent, ProbeEvent, StepEvent, StoppedEvent, Trainer
from tests.engine.test_training_loop import Recorder, project


def test_a_finished_run_is_probed_at_its_last_step():
    rec = Recorder()
    result = Trainer(project("moons_mlp", epochs=2, probe_every=1000), listener=rec).run()
    assert isinstance(result, FinishedEvent)
    last_step = result.history[-1]["step"]
    probes = rec.of(ProbeEvent)
    assert [p.step for p in probes] == [1, last_step]
    assert probes[-1].epoch == 2 and probes[-1].decision_boundary is not None
    assert all(s.grad_norm is not None and s.grad_norm > 0 for s in probes[-1].layers.values()
               if s.weight_norm is not None)  # the last step's gradients, not none
    # The probe comes before the run's end event, so a listener sees the final state first.
    assert rec.events.index(probes[-1]) < rec.events.index(result)


def test_a_stopped_run_is_probed_where_it_stopped_and_only_once():
    rec = Recorder()
    trainer = None

    def stop_at_seven(event):
        if isinstance(event, StepEvent) and event.step == 7:
            trainer.stop()

    trainer = Trainer(project("moons_mlp", epochs=5, probe_every=7), listener=[rec, stop_at_seven])
    result = trainer.run()
    assert isinstance(result, StoppedEvent) and result.step == 7
    assert [p.step for p in rec.of(ProbeEvent)] == [1, 7]  # step 7 was probed already: no second probe
