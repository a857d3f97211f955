"""LayerLoom's desktop application: a thin PySide6 layer over graph_engine."""
