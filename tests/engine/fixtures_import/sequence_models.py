"""Recurrent and attention models written the usual way (tuple outputs, h_n[-1], out[:, -1, :])."""

import torch
import torch.nn as nn


class GRUClassifier(nn.Module):
    def __init__(self, vocab=50, dim=16, hidden=24, classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.gru = nn.GRU(dim, hidden, num_layers=2, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, tokens):
        _, h = self.gru(self.embed(tokens))
        return self.fc(h[-1])


class LSTMRegressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 12, batch_first=True, bidirectional=True)
        self.head = nn.Linear(24, 1)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        last = out[:, -1, :]
        return self.head(torch.tanh(last))


class TinyAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(6, 16)
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.norm = nn.LayerNorm(16)
        self.out = nn.Linear(16, 2)

    def forward(self, x):
        h = self.proj(x)
        a, _ = self.attn(h, h, h)
        h = self.norm(h + a)
        return self.out(h.mean(dim=1))
