"""Activation functions: the elementwise non-linearities between layers, plus Softmax/LogSoftmax.

None of them takes `inplace`: an in-place activation overwrites the tensor that activation hooks and
gradient checks need to see.
"""

from __future__ import annotations

from graph_engine.catalog.spec import LayerSpec, Param, ParamKind, ShapeError, TensorType, full_dim


def _same_shape(inputs, p):
    (x,) = inputs
    return (TensorType(x.shape, x.dtype),)


def _activation(op: str, doc: str, keywords: tuple[str, ...] = (), params: tuple[Param, ...] = (),
                shape_rule=_same_shape, **extra) -> LayerSpec:
    return LayerSpec(
        op=op,
        category="Activation",
        doc=doc,
        params=params,
        module=f"nn.{op}",
        shape_rule=shape_rule,
        keywords=("activation", "nonlinearity", *keywords),
        **extra,
    )


RELU = _activation("ReLU", "Keeps positive values and zeroes negatives (max(0, x)); the default "
                   "non-linearity that lets a network learn more than a linear function.",
                   ("rectified linear unit", "relu"))

LEAKY_RELU = _activation(
    "LeakyReLU", "Like ReLU but lets a small slope through for negatives, so units never stop learning "
    "(no 'dead' ReLUs).", ("leaky",),
    params=(Param("negative_slope", ParamKind.FLOAT, 0.01, min=0.0, max=1.0,
                  doc="Slope used for negative inputs."),),
)

ELU = _activation(
    "ELU", "Exponential linear unit: like ReLU for positives, smoothly saturating to -alpha for negatives, "
    "which keeps mean activations near zero.", ("exponential",),
    params=(Param("alpha", ParamKind.FLOAT, 1.0, min=0.0, max=100.0,
                  doc="Value the output approaches for very negative inputs (as -alpha)."),),
)

GELU = _activation(
    "GELU", "Smooth ReLU-like curve that weights inputs by how likely they are positive; the standard "
    "activation in transformers (BERT, GPT).", ("gaussian error linear unit", "transformer"),
    params=(Param("approximate", ParamKind.CHOICE, "none", choices=("none", "tanh"),
                  doc="'tanh' uses a faster approximation of the exact curve."),),
)

SILU = _activation("SiLU", "x * sigmoid(x), a smooth ReLU alternative (also called Swish) used in "
                   "EfficientNet and many modern networks.", ("swish",))

TANH = _activation("Tanh", "Squashes values into (-1, 1); zero-centred, common in RNNs and as the output "
                   "of generators.", ("hyperbolic tangent",))

SIGMOID = _activation("Sigmoid", "Squashes values into (0, 1); use it on the output for yes/no "
                      "probabilities or for gates.", ("logistic", "probability", "binary"))


def _softmax_rule(op: str):
    def rule(inputs, p):
        (x,) = inputs
        if x.rank < 1:
            raise ShapeError(f"{op} needs at least one dim besides the batch, but gets {x} (0 dims)",
                             "apply it to a [classes] tensor")
        full_dim(p["dim"], x.rank)
        return (TensorType(x.shape, x.dtype),)

    return rule


def _softmax_flops(inputs, outputs, p):
    return 3 * outputs[0].numel  # exp, sum, divide (or subtract the log-sum) per element


def _dim_param() -> Param:
    # torch's own default (dim=None) picks a dim implicitly and warns; we always write the dim out.
    return Param("dim", ParamKind.INT, -1, min=-8, max=8, torch_default=None,
                 doc="Dim whose entries sum to 1 (-1: the last one, e.g. the classes; dim 0 is the batch).")


SOFTMAX = _activation(
    "Softmax", "Turns scores into probabilities that sum to 1 along `dim`; use it on a classifier's output "
    "for prediction (CrossEntropyLoss already includes it when training).", ("probability", "classifier"),
    params=(_dim_param(),), shape_rule=_softmax_rule("Softmax"), flops=_softmax_flops,
)

LOG_SOFTMAX = _activation(
    "LogSoftmax", "Log of Softmax, computed stably; pair it with NLLLoss for classification.",
    ("log probability", "classifier", "nll"),
    params=(_dim_param(),), shape_rule=_softmax_rule("LogSoftmax"), flops=_softmax_flops,
)


def _prelu_shape(inputs, p):
    (x,) = inputs
    n = p["num_parameters"]
    if n != 1:
        channels = x.shape[0] if x.rank else 1
        if n != channels:
            raise ShapeError(f"PReLU has num_parameters={n} but the input {x} has {channels} channels",
                             f"set num_parameters to 1 (one shared slope) or {channels} (one per channel)",
                             param="num_parameters")
    return (TensorType(x.shape, x.dtype),)


PRELU = _activation(
    "PReLU", "Leaky ReLU whose negative slope is learned (one shared slope, or one per channel).",
    ("parametric", "leaky", "learnable"),
    params=(
        Param("num_parameters", ParamKind.INT, 1, min=1, max=1 << 20,
              doc="1 for a single shared slope, or the channel count for one slope per channel."),
        Param("init", ParamKind.FLOAT, 0.25, min=-1.0, max=1.0, doc="Starting value of the slope."),
    ),
    shape_rule=_prelu_shape,
    param_count=lambda inputs, p: p["num_parameters"],
)

MISH = _activation("Mish", "x * tanh(softplus(x)), a smooth self-gated activation similar to SiLU "
                   "(used in YOLOv4).", ("self-gated",))

HARDSWISH = _activation("Hardswish", "A cheap piecewise approximation of SiLU/Swish, used in mobile "
                        "networks (MobileNetV3).", ("hard swish", "mobile"))

RELU6 = _activation("ReLU6", "ReLU capped at 6 (min(max(0, x), 6)); keeps activations small for low-precision "
                    "mobile networks (MobileNetV2).", ("relu", "mobile", "clipped"))

HARDSIGMOID = _activation("Hardsigmoid", "A cheap piecewise-linear sigmoid (relu6(x + 3) / 6), used for the "
                          "gates of MobileNetV3's squeeze-excitation blocks.", ("hard sigmoid", "gate", "mobile"))


def _hardtanh_shape(inputs, p):
    if p["min_val"] >= p["max_val"]:
        raise ShapeError(f"Hardtanh's min_val={p['min_val']:g} is not below max_val={p['max_val']:g}",
                         "choose a min_val smaller than max_val", param="min_val")
    return _same_shape(inputs, p)


HARDTANH = _activation(
    "Hardtanh", "Clips values into [min_val, max_val] (linear in between): a cheap tanh.", ("clip", "clamp"),
    params=(Param("min_val", ParamKind.FLOAT, -1.0, min=-1e6, max=1e6, doc="Values below this become it."),
            Param("max_val", ParamKind.FLOAT, 1.0, min=-1e6, max=1e6, doc="Values above this become it.")),
    shape_rule=_hardtanh_shape,
)

SOFTPLUS = _activation(
    "Softplus", "A smooth ReLU, log(1 + exp(beta * x)) / beta, always positive; used for scales and rates that "
    "must stay above zero.", ("smooth relu", "positive"),
    params=(Param("beta", ParamKind.FLOAT, 1.0, min=1e-6, max=1e6, doc="Sharpness: larger is closer to ReLU."),
            Param("threshold", ParamKind.FLOAT, 20.0, min=0.0, max=1e6,
                  doc="Above this (times beta) the output is the input itself, for numerical stability.")),
)

SPECS = (RELU, LEAKY_RELU, ELU, GELU, SILU, TANH, SIGMOID, SOFTMAX, LOG_SOFTMAX, PRELU, MISH, HARDSWISH, RELU6,
         HARDSIGMOID, HARDTANH, SOFTPLUS)
