"""`python -m graph_engine ...` runs the `layerloom` command."""

from graph_engine.cli import main

raise SystemExit(main())
