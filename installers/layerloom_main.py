"""The frozen app's entry point (PyInstaller runs this file; the installed package uses `app.launcher:main`)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process (DataLoader workers) must not start the app again
    from app.launcher import main

    sys.exit(main())
