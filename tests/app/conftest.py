"""Shared set-up of the app tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def clipboard_emptied_before_exit():
    """Empty the clipboard at the end of the session, while Python still runs.

    The offscreen platform keeps clipboard data in a C++ global that is destroyed by exit(), after the
    interpreter has finalised. A QMimeData created from Python (the canvas's Copy, a test's own) still on the
    clipboard then calls back into Python from its destructor and the process dies with SIGSEGV after every
    test passed (PySide6 6.11.3: Shiboken::Object::destroy -> _PyErr_Fetch with no thread state). Whether it
    happened depended on the order of the test files: a later `clipboard().setText()` replaced the Python
    object in time.
    """
    yield
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.instance() is not None:
        QGuiApplication.clipboard().clear()
