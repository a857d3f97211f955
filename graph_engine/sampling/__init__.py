"""Sampling from trained generative networks: image grids (images.py) and text (text.py, language models).
`layerloom sample` (graph_engine/cli_sample.py) and the app call these."""
