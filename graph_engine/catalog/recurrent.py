"""Recurrent layers: RNN, LSTM, GRU.

LayerLoom always keeps the batch first, so `batch_first` is fixed to True and always emitted (torch's default
is False). A recurrent layer takes one [seq_len, features] sequence per sample. Its outputs are picked from
torch's result in batch-first form: `output` [seq_len, D * hidden], `h_n` [num_layers * D, hidden] (and for
LSTM `c_n`), where D is 2 for a bidirectional layer and 1 otherwise.

LSTM's `proj_size` is left out on purpose: torch's CPU (oneDNN) path emits a UserWarning when a
projected LSTM runs, and LayerLoom shows its users no torch warnings.
"""

from __future__ import annotations

from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, Port, ShapeError, TensorType, expect_rank

MAX_FEATURES = 1 << 24
MAX_LAYERS = 64

# Gate blocks per cell (rows of weight_ih / weight_hh in units of hidden_size).
_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
# Rough element-wise work per hidden unit and time step (activations, gate products, state update).
_POINTWISE = {"RNN": 1, "GRU": 8, "LSTM": 9}


def _last_dim(index: int):
    return lambda inputs: inputs[index].shape[-1]


def _directions(p) -> int:
    return 2 if p["bidirectional"] else 1


def _recurrent_shape(op: str):
    def rule(inputs, p):
        (x,) = inputs
        expect_rank(x, (2,), op, "[seq_len, features]")
        if p["dropout"] > 0 and p["num_layers"] == 1:
            raise ShapeError(
                f"{op} applies dropout between stacked layers, but num_layers is 1 (dropout={p['dropout']:g})",
                "set dropout to 0, or num_layers to 2 or more; add a Dropout layer after it for output dropout",
                param="dropout",
            )
        seq, h, d = x.shape[0], p["hidden_size"], _directions(p)
        state = TensorType((p["num_layers"] * d, h))
        return (TensorType((seq, d * h)), state, state) if op == "LSTM" else (TensorType((seq, d * h)), state)

    return rule


def _layer_inputs(p):
    """Input width of each stacked layer."""
    above = _directions(p) * p["hidden_size"]
    return [p["input_size"]] + [above] * (p["num_layers"] - 1)


def _recurrent_params(op: str):
    def count(inputs, p):
        h = p["hidden_size"]
        g = _GATES[op] * h
        per_direction = sum(g * (width + h) + (2 * g if p["bias"] else 0) for width in _layer_inputs(p))
        return per_direction * _directions(p)

    return count


def _recurrent_flops(op: str):
    def flops(inputs, outputs, p):
        seq = inputs[0].shape[0]
        h = p["hidden_size"]
        g = _GATES[op] * h
        per_step = sum(2 * g * (width + h) + (2 * g if p["bias"] else 0) + _POINTWISE[op] * h
                       for width in _layer_inputs(p))
        return seq * per_step * _directions(p)

    return flops


def _common_params(op: str) -> tuple[Param, ...]:
    return (
        Param("input_size", ParamKind.INT, inferred=_last_dim(0), min=1, max=MAX_FEATURES,
              doc="Features per time step: the last input dimension (inferred)."),
        Param("hidden_size", ParamKind.INT, 64, min=1, max=MAX_FEATURES,
              doc="Size of the hidden state (the memory carried from step to step)."),
        Param("num_layers", ParamKind.INT, 1, min=1, max=MAX_LAYERS,
              doc=f"How many {op} layers are stacked, each reading the previous one's outputs."),
        Param("bias", ParamKind.BOOL, True, doc="Learn additive biases in every gate."),
        Param("batch_first", ParamKind.BOOL, True, fixed=True, torch_default=False,
              doc="LayerLoom always keeps the batch dimension first."),
        Param("dropout", ParamKind.FLOAT, 0.0, min=0.0, max=1.0,
              doc="Dropout between stacked layers (needs num_layers of 2 or more)."),
        Param("bidirectional", ParamKind.BOOL, False,
              doc="Also read the sequence backwards; doubles the output features."),
    )


RNN = LayerSpec(
    op="RNN",
    category="Recurrent",
    doc="Simple recurrent layer: reads a sequence step by step, carrying a hidden state (short memories).",
    params=(
        *_common_params("RNN"),
        Param("nonlinearity", ParamKind.CHOICE, "tanh", choices=("tanh", "relu"),
              doc="Activation of the hidden state update."),
    ),
    outputs=(Port("output", doc="Hidden state at every step: [seq_len, D * hidden_size]."),
             Port("h_n", doc="Final hidden state of every layer and direction: [num_layers * D, hidden_size].")),
    module="nn.RNN",
    positional=("input_size", "hidden_size"),
    output_exprs=("{r}[0]", "{r}[1].transpose(0, 1)"),
    shape_rule=_recurrent_shape("RNN"),
    param_count=_recurrent_params("RNN"),
    flops=_recurrent_flops("RNN"),
    keywords=("recurrent", "sequence", "time series", "elman", "rnn"),
)

LSTM = LayerSpec(
    op="LSTM",
    category="Recurrent",
    doc="Long short-term memory: a recurrent layer whose gates let it remember over long sequences.",
    params=_common_params("LSTM"),
    outputs=(Port("output", doc="Hidden state at every step: [seq_len, D * hidden_size]."),
             Port("h_n", doc="Final hidden state of every layer and direction: [num_layers * D, hidden_size]."),
             Port("c_n", doc="Final cell state of every layer and direction: [num_layers * D, hidden_size].")),
    module="nn.LSTM",
    positional=("input_size", "hidden_size"),
    output_exprs=("{r}[0]", "{r}[1][0].transpose(0, 1)", "{r}[1][1].transpose(0, 1)"),
    shape_rule=_recurrent_shape("LSTM"),
    param_count=_recurrent_params("LSTM"),
    flops=_recurrent_flops("LSTM"),
    keywords=("recurrent", "sequence", "time series", "memory", "gates", "lstm"),
)

GRU = LayerSpec(
    op="GRU",
    category="Recurrent",
    doc="Gated recurrent unit: a lighter LSTM-like layer that remembers over long sequences.",
    params=_common_params("GRU"),
    outputs=(Port("output", doc="Hidden state at every step: [seq_len, D * hidden_size]."),
             Port("h_n", doc="Final hidden state of every layer and direction: [num_layers * D, hidden_size].")),
    module="nn.GRU",
    positional=("input_size", "hidden_size"),
    output_exprs=("{r}[0]", "{r}[1].transpose(0, 1)"),
    shape_rule=_recurrent_shape("GRU"),
    param_count=_recurrent_params("GRU"),
    flops=_recurrent_flops("GRU"),
    keywords=("recurrent", "sequence", "time series", "gates", "gru"),
)

SPECS = (RNN, LSTM, GRU)
