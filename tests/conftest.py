"""Shared test setup: Qt renders offscreen, state files go to a temp folder; hypothesis runs reproducibly on CI."""

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Runs, autosaves and recovery files of tests that do not choose their own folder never reach the user's real
# state folder (tests that care set LAYERLOOM_STATE_DIR themselves with monkeypatch).
os.environ.setdefault("LAYERLOOM_STATE_DIR", tempfile.mkdtemp(prefix="layerloom-test-state-"))

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")
