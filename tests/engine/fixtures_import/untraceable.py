"""Modules that cannot be imported: data-dependent control flow, and calls LayerLoom has no layer for."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        h = self.fc(x)
        if h.sum() > 0:  # depends on the data: no fixed graph
            h = torch.relu(h)
        return h


class Unmappable(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.register_buffer("offset", torch.ones(1))
        self.act = nn.Softsign()
        self.fc = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        x = torch.erf(F.pad(x, (1, 1, 1, 1)))
        x = self.conv(x)
        x = self.act(x)
        x = x + self.offset  # a buffer: a constant, which LayerLoom has no node for
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return torch.cumsum(x, dim=1)


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(torch.relu(self.fc(x)))


class NeedsArgs(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return self.fc(x)
