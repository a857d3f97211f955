"""Live training plots (pyqtgraph): `TrainingDashboard` and its panels, each fed by a RunData.

One module per panel: loss_plot, metric_plot, lr_plot, activation_histograms, gradient_norms, feature_maps,
decision_boundary, confusion_matrix; panel.py holds their shared refresh discipline (created once, setData,
at most one refresh per 100 ms, none while hidden) and colors.py the palette-derived colours.
"""

from app.training.plots.activation_histograms import ActivationHistograms
from app.training.plots.confusion_matrix import ConfusionMatrix
from app.training.plots.dashboard import TrainingDashboard
from app.training.plots.decision_boundary import DecisionBoundary
from app.training.plots.feature_maps import FeatureMaps
from app.training.plots.gradient_norms import GradientNorms
from app.training.plots.loss_plot import LossPlot
from app.training.plots.lr_plot import LrPlot
from app.training.plots.metric_plot import MetricPlot
from app.training.plots.panel import REFRESH_MS, LivePanel

__all__ = ["REFRESH_MS", "ActivationHistograms", "ConfusionMatrix", "DecisionBoundary", "FeatureMaps",
           "GradientNorms", "LivePanel", "LossPlot", "LrPlot", "MetricPlot", "TrainingDashboard"]
