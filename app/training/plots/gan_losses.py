"""A GAN run's contest, epoch by epoch: the generator's and the discriminator's losses (top) and the
discriminator's accuracy on real and on generated samples (bottom, 0..1), with the collapse warning of the
latest epoch (graph_engine/training/gan_recipe.py) in red above them. A healthy run keeps both accuracies
away from 1 and the losses level; a discriminator that wins outright drives its accuracy on fakes to 1."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.training.plots.panel import LivePanel, pen

WARNING_COLOR = "#e5484d"


class GanLosses(LivePanel):
    """Generator and discriminator losses and the discriminator's accuracy per epoch."""

    KINDS = frozenset({"epoch", "status"})

    def __init__(self, parent: QWidget | None = None):
        super().__init__("GAN losses and accuracy", parent)
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.hide()
        self.loss_widget = self.make_plot(left="loss")
        self.accuracy_widget = self.make_plot(bottom="epoch", left="D accuracy")
        loss_item, acc_item = self.loss_widget.getPlotItem(), self.accuracy_widget.getPlotItem()
        acc_item.setYRange(0, 1.02, padding=0)
        acc_item.getViewBox().setXLink(loss_item.getViewBox())
        self.g_curve = loss_item.plot(symbol="o", symbolSize=4)
        self.d_curve = loss_item.plot(symbol="o", symbolSize=4)
        self.real_curve = acc_item.plot(symbol="o", symbolSize=4)
        self.fake_curve = acc_item.plot(symbol="o", symbolSize=4)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.warning_label)
        layout.addWidget(self.loss_widget, 3)
        layout.addWidget(self.accuracy_widget, 2)
        self.set_content(box)
        self.apply_colors()
        self.show_placeholder("A GAN's losses appear here after its first epoch.")

    def apply_colors(self) -> None:
        c = self.colors
        self.g_curve.setPen(pen(c.train, 1.8))
        self.g_curve.setSymbolBrush(c.train)
        self.d_curve.setPen(pen(c.validation, 1.8))
        self.d_curve.setSymbolBrush(c.validation)
        self.real_curve.setPen(pen(c.secondary, 1.6))
        self.real_curve.setSymbolBrush(c.secondary)
        self.fake_curve.setPen(pen(c.muted, 1.6))
        self.fake_curve.setSymbolBrush(c.muted)
        self.warning_label.setStyleSheet(f"color: {WARNING_COLOR}; font-weight: bold;")

    def refresh(self) -> None:
        run = self.run
        if run is None or "d_loss" not in run.epoch_keys():
            self.show_placeholder("A GAN's losses appear here after its first epoch.")
            return
        self.show_content()
        epochs = run.epoch_values("epoch")
        self.g_curve.setData(epochs, run.epoch_values("g_loss"))
        self.d_curve.setData(epochs, run.epoch_values("d_loss"))
        self.real_curve.setData(epochs, run.epoch_values("d_real_accuracy"))
        self.fake_curve.setData(epochs, run.epoch_values("d_fake_accuracy"))
        last = run.records[-1]
        warning = last.get("warning") or ""
        self.warning_label.setText(f"⚠ {html.escape(warning)}" if warning else "")
        self.warning_label.setVisible(bool(warning))
        c = self.colors
        self.set_legend([(c.train, "G loss", ""), (c.validation, "D loss", ""), (c.secondary, "D on real", ""),
                         (c.muted, "D on fakes", "")])
        self.set_subtitle(f"G {last['g_loss']:.3f}  D {last['d_loss']:.3f}")
