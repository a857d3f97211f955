"""A small pretrained CNN for the transfer-learning tests: a BatchNorm backbone and a Linear head, trained a
few steps on stroke digits in plain torch (so its weights and BatchNorm statistics are real, not defaults)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from graph_engine.data.procedural_images import make_stroke_digits


class SmallCNN(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool2 = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.pool1(torch.relu(self.bn1(self.conv1(x))))
        x = self.pool2(torch.relu(self.bn2(self.conv2(x))))
        return self.fc(torch.flatten(x, 1))


def pretrained_cnn(steps: int = 30, seed: int = 0) -> SmallCNN:
    """SmallCNN trained briefly on 28x28 stroke digits (eval mode on return); steps=0: random weights, but
    BatchNorm statistics that are not their defaults."""
    torch.manual_seed(seed)
    data = make_stroke_digits(256 if steps else 64, seed=seed)
    X, y = torch.from_numpy(data.X), torch.from_numpy(data.y)
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    if steps == 0:
        with torch.no_grad():
            model(X[:64])
    for step in range(steps):
        idx = torch.arange(step * 32, step * 32 + 32) % len(X)
        opt.zero_grad()
        nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
        opt.step()
    return model.eval()


def write_digit_folder(root: Path, per_class: int = 40, classes: int = 3, seed: int = 1) -> Path:
    """An image folder of new stroke digits 0..classes-1 (one sub-folder per class, 28x28 grey PNGs)."""
    data = make_stroke_digits(per_class * 10, seed=seed)
    for k in range(classes):
        (root / data.class_names[k]).mkdir(parents=True, exist_ok=True)
    for i, (image, label) in enumerate(zip(data.X, data.y, strict=True)):
        if label < classes:
            pixels = (np.clip(image[0], 0, 1) * 255).round().astype(np.uint8)
            Image.fromarray(pixels).save(root / data.class_names[label] / f"{i:04d}.png")
    return root
