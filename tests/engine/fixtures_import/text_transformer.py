"""The PyTorch tutorial's TransformerEncoder model with its sinusoidal positional encoding, batch first and
with a classification head (mean over the sequence, then a Linear): the text classifier of issue 10."""

import math

import torch
from torch import nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[:, :x.size(1)]
        return self.dropout(x)


class TextClassifier(nn.Module):
    def __init__(self, ntoken: int = 100, d_model: int = 32, nhead: int = 2, d_hid: int = 64, nlayers: int = 2,
                 classes: int = 4, dropout: float = 0.1):
        super().__init__()
        self.embedding = nn.Embedding(ntoken, d_model)
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        layer = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout, batch_first=True)
        self.transformer_encoder = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
        self.d_model = d_model
        self.head = nn.Linear(d_model, classes)

    def forward(self, src):
        src = self.embedding(src) * math.sqrt(self.d_model)
        return self.classify(src)

    def classify(self, src):
        src = self.pos_encoder(src)
        output = self.transformer_encoder(src)
        return self.head(output.mean(dim=1))
