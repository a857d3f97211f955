"""The training primitives, in one place: the engine's Trainer calls them and the exported train.py is made of
copies of them (graph_engine/export/train_script.py copies the source of the ones a project uses).

Hence the rules of this module: it imports only torch, numpy and the standard library; every function is
self-contained (it may call the other functions here, nothing else of LayerLoom); and a function holds one
recipe, not a switch over settings (one function per optimiser and per schedule), so a script copies only
what its project trains with.
"""

from __future__ import annotations

import contextlib
import math
import os
import random

import numpy as np
import torch
import torch.nn.functional as F

# ---- seeding and devices -------------------------------------------------------------------------------------


def seed_everything(seed):
    """Seed python, numpy and torch (the model's initial weights depend on torch's generator)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def auto_device():
    """cuda, then mps, then cpu."""
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    mps = getattr(torch.backends, "mps", None)
    return torch.device("mps" if mps is not None and mps.is_available() else "cpu")


def start_distributed(device):
    """Under torchrun (WORLD_SIZE > 1): join the process group; (device, rank, world size). One process per
    GPU (nccl), or CPU workers (gloo); DistributedDataParallel runs on nothing else, so mps falls back to cpu."""
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        device = torch.device("cpu")
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device, dist.get_rank(), dist.get_world_size()


def all_sum(values, device):
    """Sum a list of numbers over every process of the group."""
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


# ---- the split -----------------------------------------------------------------------------------------------


def split_indices(n, labels, val_fraction, seed):
    """(train indices, validation indices), each in ascending order: seeded, and stratified by class when
    `labels` (int64 class per sample, or None) gives every class at least 2 samples."""
    n_val = 0 if val_fraction == 0 or n < 2 else min(n - 1, max(1, round(n * float(val_fraction))))
    rng = np.random.default_rng(int(seed))
    if n_val == 0:
        val_idx = np.zeros(0, dtype=np.int64)
    else:
        if labels is not None:
            counts = np.bincount(labels)
            if np.any(counts[counts > 0] < 2):
                labels = None
        val_idx = stratified_pick(labels, n_val, rng) if labels is not None else rng.permutation(n)[:n_val]
    mask = np.zeros(n, dtype=bool)
    mask[val_idx] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def stratified_pick(labels, n_val, rng):
    """n_val indices that keep every class's share; each class keeps at least one training sample."""
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * (n_val / len(labels))
    take = np.floor(quota).astype(np.int64)
    # Largest remainders get the leftover places; ties go to the smaller class index (deterministic).
    order = sorted(range(len(classes)), key=lambda k: (-(quota[k] - take[k]), k))
    for k in order[: n_val - int(take.sum())]:
        take[k] += 1
    take = np.minimum(take, counts - 1)
    picked = [rng.permutation(np.flatnonzero(labels == c))[: take[k]] for k, c in enumerate(classes)]
    return np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)


# ---- augmentation --------------------------------------------------------------------------------------------


def augment(x, gen, shift=0, flip=False, noise=0.0, image_shape=None):
    """A randomly shifted (zero fill), left-right flipped and noised copy of a float batch. Samples are viewed
    as `image_shape` [C, H, W] for shift and flip; random numbers come from `gen` (a torch.Generator)."""
    dev = gen.device  # drawn where the generator lives, then moved
    shape = x.shape
    if (shift or flip) and image_shape is not None:
        x = x.reshape(x.shape[0], *image_shape)
    n = x.shape[0]
    if shift and n:
        offsets = torch.randint(-shift, shift + 1, (2, n), generator=gen, device=dev).to(x.device)
        x = shift_images(x, offsets[0], offsets[1], int(shift))
    if flip and n:
        mirror = (torch.rand(n, generator=gen, device=dev) < 0.5).to(x.device)
        x = torch.where(mirror.view(-1, *([1] * (x.dim() - 1))), x.flip(-1), x)
    if noise:
        x = x + torch.randn(x.shape, generator=gen, device=dev, dtype=x.dtype).to(x.device) * noise
    return x.reshape(shape)


def shift_images(x, dx, dy, s):
    """Translate each image of x [N, ..., H, W] by its own (dx, dy) in [-s, s], filling with zeros."""
    n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
    flat = x.reshape(n, -1, h, w)
    c = flat.shape[1]
    padded = F.pad(flat, (s, s, s, s))
    rows = torch.arange(h, device=x.device).view(1, h) - dy.view(n, 1) + s
    cols = torch.arange(w, device=x.device).view(1, w) - dx.view(n, 1) + s
    picked = torch.gather(padded, 2, rows.view(n, 1, h, 1).expand(n, c, h, w + 2 * s))
    return torch.gather(picked, 3, cols.view(n, 1, 1, w).expand(n, c, h, w)).reshape(x.shape)


# ---- optimisers (one per name in TrainingConfig) -------------------------------------------------------------


def sgd(params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)


def adam(params, lr, betas=(0.9, 0.999), weight_decay=0.0):
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)


def adamw(params, lr, betas=(0.9, 0.999), weight_decay=0.0):
    return torch.optim.AdamW(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)


def rmsprop(params, lr, momentum=0.0, weight_decay=0.0):
    return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


OPTIMIZERS = {"SGD": sgd, "Adam": adam, "AdamW": adamw, "RMSprop": rmsprop}


# ---- learning-rate schedules (same signature: optimizer, epochs, steps per epoch, their own settings) --------


def step_schedule(optimizer, epochs, steps_per_epoch, step_size, gamma):
    """Multiply the learning rate by gamma every step_size epochs."""
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)


def cosine_schedule(optimizer, epochs, steps_per_epoch, min_lr):
    """Cosine decay to min_lr over the run (stepped every epoch)."""
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=min_lr)


def plateau_schedule(optimizer, epochs, steps_per_epoch, factor, patience, min_lr):
    """Multiply the learning rate by factor when the watched loss stalls for patience epochs."""
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=factor, patience=patience,
                                                      min_lr=min_lr)


def onecycle_schedule(optimizer, epochs, steps_per_epoch, max_lr, pct_start, cycle_momentum):
    """Warm up to max_lr, then anneal (stepped every batch)."""
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=epochs * steps_per_epoch,
                                               pct_start=pct_start, cycle_momentum=cycle_momentum)


SCHEDULES = {"step": step_schedule, "cosine": cosine_schedule, "plateau": plateau_schedule,
             "onecycle": onecycle_schedule}


# ---- the step ------------------------------------------------------------------------------------------------


def batch_end(n, batch_size):
    """Samples used per epoch: a last batch of a single sample is skipped (BatchNorm cannot train on one)."""
    return n - 1 if n > 1 and n % batch_size == 1 else n


def steps_per_epoch(n, batch_size):
    return max(1, math.ceil(batch_end(n, batch_size) / batch_size))


def reshaped_loss(loss_fn):
    """loss_fn on the outputs viewed in the targets' shape (a network ending in [N, 1] for [N] targets, or a
    flat [N, 64] reconstruction of [N, 1, 8, 8] images)."""
    def loss(out, target):
        return loss_fn(out.reshape(target.shape), target)
    return loss


def sequence_cross_entropy(out, target):
    """A language model's loss: the cross-entropy of every position's scores (out [N, T, V]) against its next
    token (target [N, T]), averaged over all N * T positions."""
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), target.reshape(-1))


def optimizer_step(loss, optimizer):
    loss.backward()
    optimizer.step()


def clipped_optimizer_step(loss, optimizer, params, max_norm):
    """A step with the gradients' overall norm clipped to max_norm."""
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    optimizer.step()


def scaled_optimizer_step(loss, optimizer, scaler, params, max_norm):
    """A mixed-precision step: the loss scaled by the GradScaler; clipped (max_norm) on the real gradients."""
    scaler.scale(loss).backward()
    if max_norm:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(params, max_norm)
    scaler.step(optimizer)
    scaler.update()


# ---- evaluation ----------------------------------------------------------------------------------------------


@torch.inference_mode()
def classifier_sums(model, X, Y, loss_fn, chunk, autocast=contextlib.nullcontext):
    """[summed loss, correct predictions] of `model` (in eval mode) over X, Y, in chunks of `chunk` samples."""
    loss_sum = 0.0
    correct = torch.zeros((), dtype=torch.int64, device=X.device)
    for start in range(0, len(X), chunk):
        xb, yb = X[start:start + chunk], Y[start:start + chunk]
        with autocast():
            out = model(xb)
            loss = loss_fn(out, yb)
        loss_sum += float(loss) * len(xb)
        correct += (out.argmax(1) == yb).sum()
    return [loss_sum, float(correct)]


@torch.inference_mode()
def language_model_sums(model, X, Y, loss_fn, chunk, autocast=contextlib.nullcontext):
    """[summed loss (per sequence: the mean over its positions), correctly predicted next tokens] of `model`
    (in eval mode) over token sequences X and their next tokens Y, in chunks of `chunk` sequences."""
    loss_sum = 0.0
    correct = torch.zeros((), dtype=torch.int64, device=X.device)
    for start in range(0, len(X), chunk):
        xb, yb = X[start:start + chunk], Y[start:start + chunk]
        with autocast():
            out = model(xb)
            loss = loss_fn(out, yb)
        loss_sum += float(loss) * len(xb)
        correct += (out.argmax(-1) == yb).sum()
    return [loss_sum, float(correct)]


def bits(nats):
    """A loss in nats (natural log) as bits: per character for a character-level language model."""
    return None if nats is None else nats / math.log(2)


@torch.inference_mode()
def regressor_sums(model, X, Y, loss_fn, chunk, autocast=contextlib.nullcontext):
    """[summed loss, summed |error|, summed error^2] of `model` (in eval mode) over X, Y (errors per target
    element, in float64)."""
    loss_sum = 0.0
    abs_sum = torch.zeros((), dtype=torch.float64, device=X.device)
    sq_sum = torch.zeros((), dtype=torch.float64, device=X.device)
    for start in range(0, len(X), chunk):
        xb, yb = X[start:start + chunk], Y[start:start + chunk]
        with autocast():
            out = model(xb).reshape(yb.shape)
            loss = loss_fn(out, yb)
        loss_sum += float(loss) * len(xb)
        diff = out.double() - yb.double()
        abs_sum += diff.abs().sum()
        sq_sum += (diff * diff).sum()
    return [loss_sum, float(abs_sum), float(sq_sum)]


def total_sum_of_squares(Y):
    """Sum over every target element of (y - mean of its column)^2, in float64 (the R2 denominator)."""
    if len(Y) == 0:
        return 0.0
    y = Y.reshape(len(Y), -1).double()
    return float(((y - y.mean(0, keepdim=True)) ** 2).sum())


def finite_or_none(value):
    """A figure for JSON: None instead of NaN or Inf."""
    return value if value is not None and math.isfinite(value) else None


# ---- transfer learning: starting weights and frozen layers ---------------------------------------------------


def read_state_dict(path):
    """The tensors of a weights file by name: .safetensors, or a .pt/.pth state_dict read with
    torch.load(weights_only=True), so no code in the file runs."""
    path = str(path)
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return dict(load_file(path, device="cpu"))
    data = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in data.items()):
        raise ValueError(f"{path} is not a state_dict (a mapping of names to tensors)")
    return data


def under_prefix(key, prefixes):
    """True when the state-dict key belongs to one of the dotted prefixes (a node id, or a path into a block)."""
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def matching_weights(model, weights, fresh=()):
    """How `weights` fit `model`, matched by name: (the tensors to load, [(key, problem)] for every key that is
    missing, unexpected or of another shape, the model's keys left to their own initialisation). Keys under a
    `fresh` prefix (a layer the person replaced, such as a new head) are never problems: they start fresh."""
    expected = model.state_dict()
    load, problems, new = {}, [], []
    for key, tensor in expected.items():
        if under_prefix(key, fresh):
            new.append(key)
        elif key not in weights:
            problems.append((key, "is missing from the file"))
        elif tuple(weights[key].shape) != tuple(tensor.shape):
            problems.append((key, f"has shape {list(weights[key].shape)} in the file but {list(tensor.shape)} "
                                  "in the network"))
        elif weights[key].dtype.is_floating_point != tensor.dtype.is_floating_point:
            problems.append((key, f"is {weights[key].dtype} in the file but {tensor.dtype} in the network"))
        else:
            load[key] = weights[key]
    problems += [(key, "is in the file but not in the network") for key in weights
                 if key not in expected and not under_prefix(key, fresh)]
    return load, problems, new


def load_weights_into(model, tensors):
    """Copy the matched tensors into the model (the others keep their initial values)."""
    with torch.no_grad():
        model.load_state_dict(tensors, strict=False)


def freeze(model, paths):
    """Stop training the parts of `model` at `paths` (the frozen nodes' modules or tensors): their parameters get
    requires_grad False, so no optimiser is given them. Returns the normalisation layers inside them, which
    `train_mode` keeps in eval mode so their running statistics stay as they were loaded."""
    fixed = []
    for path in paths:
        try:
            part = model.get_submodule(path)
        except AttributeError:
            try:  # a tensor the network owns (a learnable token), or a node without weights (ReLU, Add)
                model.get_parameter(path).requires_grad_(False)
            except AttributeError:
                pass
            continue
        part.requires_grad_(False)
        # _NormBase: BatchNorm*, SyncBatchNorm and InstanceNorm*, the layers that keep running statistics.
        fixed += [m for m in part.modules() if isinstance(m, torch.nn.modules.batchnorm._NormBase)]
    return fixed


def train_mode(model, fixed_norms):
    """model.train(), except for the frozen normalisation layers (see `freeze`)."""
    model.train()
    for module in fixed_norms:
        module.eval()
