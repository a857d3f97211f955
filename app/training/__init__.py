"""Training in the app: the engine's loop (graph_engine.training, no Qt) run in a QThread, and its live views.

    worker.py          TrainingWorker: a Trainer on a project snapshot in a QThread; step metrics batched to
                       ~10 signals a second, probes thinned, epoch/finished/stopped/failed as signals
    session.py         TrainingSession: start/pause/resume/stop, the document read-only during a run, the run
                       list and overlay selection, progress and ETA, the overfitting warning
    run_data.py        RunData: one run's data in growing numpy buffers (what the plots draw)
    plots/             TrainingDashboard and its pyqtgraph panels
    training_panel.py  TrainingPanel: dataset (with dataset_preview.py), hyperparameters and device
                       (device_info.py) as undoable edits of project.training; the run controls
    runs_panel.py      RunsPanel: the run list, overlay check boxes
    canvas_stats.py    CanvasStats: live per-layer statistics and the NaN marker on the canvas cards

Data flows one way: Trainer listener (worker thread) -> queued Qt signals -> TrainingSession (GUI thread)
-> RunData -> the dashboard, the panels and the canvas. Nothing in the worker thread touches a widget.
Importing this package imports nothing; the main window imports session.py and canvas_stats.py at start-up
(no numpy, torch or pyqtgraph there) and the rest when it is first shown or a run starts.
"""
