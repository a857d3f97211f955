"""The exported train.py's own functions (its command line, data preparation and epoch loop), as real code.

train_script.py copies them into the script with the training primitives of graph_engine.training.recipe
and the project's dataset loader (graph_engine/export/train_script_data.py). The names in CAPITALS are the
script's settings, written by the exporter; the flags below are not: they are settled when the script is
written (`if CLIPPED:` keeps its body when the project clips gradients and vanishes when it does not), so a
script holds only the branches its project takes. See source_copy.fold.
"""

import argparse
import contextlib
import gc
import importlib.util
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from graph_engine.data.output_fit import output_mismatch
from graph_engine.export.train_script_data import DATASET, text_vocabulary
from graph_engine.sampling.text import sample_ids
from graph_engine.training.recipe import (
    all_sum,
    augment,
    auto_device,
    batch_end,
    bits,
    classifier_sums,
    clipped_optimizer_step,
    finite_or_none,
    freeze,
    language_model_sums,
    load_weights_into,
    matching_weights,
    optimizer_step,
    read_state_dict,
    regressor_sums,
    reshaped_loss,
    scaled_optimizer_step,
    seed_everything,
    sequence_cross_entropy,
    split_indices,
    start_distributed,
    steps_per_epoch,
    total_sum_of_squares,
    train_mode,
)

# The project's dataset loader, optimiser and schedule: train_script.py copies the ones it uses under these names
# (a loader of train_script_data.py, an optimiser and a schedule of graph_engine.training.recipe).
load_data = make_optimizer = make_scheduler = None

# The script's settings (the exporter writes the project's values).
HERE = Path(__file__).resolve().parent
MODEL_FILE = "model.py"
TASK = "classification"
LOSS = "cross_entropy"
OPTIMIZER: dict = {}
SCHEDULE: dict = {}
EPOCHS = 20
BATCH_SIZE = 64
VAL_FRACTION = 0.2
SEED = 0
DEVICE = "auto"
GRAD_CLIP = None
EARLY_STOPPING: dict = {}
AUGMENT: dict = {}
INPUT_SHAPE: tuple = ()
OUTPUT_SHAPE: tuple = ()
IMAGE_SHAPE = None
EVAL_CHUNK = 1024
INIT_WEIGHTS = None  # the weights file training starts from (None: the model's own initialisation)
FRESH: tuple = ()  # layers that start from their own initialisation even so (a replaced head)
FROZEN: tuple = ()  # module paths of the frozen layers
SAMPLE_PROMPT = 16  # a language model's sample: prompt characters, new ones, temperature (the trainer's)
SAMPLE_LENGTH = 240
SAMPLE_TEMPERATURE = 0.8

# The flags settled at export (see the module docstring).
USER_FILE = TASK_KNOWN = CLASSIFICATION = AUTOENCODER = LANGUAGE_MODEL = AUGMENTED = CLIPPED = MIXED_PRECISION = True
SCHEDULED = PER_BATCH_SCHEDULE = PLATEAU_SCHEDULE = EARLY_STOPPED = FROZEN_LAYERS = STARTS_FROM = True
FLAGS = ("USER_FILE", "TASK_KNOWN", "CLASSIFICATION", "AUTOENCODER", "LANGUAGE_MODEL", "AUGMENTED", "CLIPPED",
         "MIXED_PRECISION", "SCHEDULED", "PER_BATCH_SCHEDULE", "PLATEAU_SCHEDULE", "EARLY_STOPPED", "FROZEN_LAYERS",
         "STARTS_FROM")


def load_model_module():
    """Import the exported model code (a plain file next to this script)."""
    spec = importlib.util.spec_from_file_location("exported_model", HERE / MODEL_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare_data(path):
    """The samples shaped for the model's input, their targets, the task, and labels to stratify the split."""
    if USER_FILE:  # a data file may be missing on this machine, or unreadable
        if not Path(path).exists():
            sys.exit(f"error: the data {path} does not exist; pass its location with --data PATH")
        try:
            X, y, data_task = load_data(path)
        except OSError as exc:
            sys.exit(f"error: cannot read the data {path}: {exc.strerror or exc}")
    else:
        X, y, data_task = load_data(path)
    if X.shape[1:] != INPUT_SHAPE:  # digits' [1, 8, 8] images serve an MLP on [64] and a CNN on [1, 8, 8]
        if int(np.prod(X.shape[1:])) != int(np.prod(INPUT_SHAPE)):
            sys.exit(f"error: the data has samples of shape {list(X.shape[1:])}, the model expects {list(INPUT_SHAPE)}")
        X = X.reshape((len(X), *INPUT_SHAPE))
    labels = y if data_task == "classification" else None
    if AUTOENCODER:  # the targets are the inputs
        return X, X.astype(np.float32, copy=True), "autoencoder", labels
    if USER_FILE and TASK_KNOWN:  # a data file's targets decide its task
        if data_task != TASK:
            sys.exit(f"error: the data is for {data_task}, but the task is {TASK}")
    return X, y, data_task, labels


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs (default {EPOCHS})")
    parser.add_argument("--lr", type=float, default=OPTIMIZER["lr"],
                        help=f"learning rate (default {OPTIMIZER['lr']:g})")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help=f"samples per step and process (default {BATCH_SIZE})")
    parser.add_argument("--device", default=DEVICE, help=f"auto, cpu, cuda, cuda:N or mps (default {DEVICE})")
    parser.add_argument("--out", default="out", help="folder for model.safetensors and metrics.json (default out)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    if USER_FILE:
        parser.add_argument("--data", default=DATASET["path"], help=f"the data file or folder (default {DATASET['path']})")
    if STARTS_FROM:  # transfer learning: the project starts from given weights or freezes layers
        parser.add_argument("--init", default=INIT_WEIGHTS, help="start from these weights (.safetensors or a .pt "
                            f"state_dict), matched by layer name (default {INIT_WEIGHTS})")
    else:
        parser.add_argument("--init", help="starting weights: set them in LayerLoom (training.init), export again")
    args = parser.parse_args()
    if not STARTS_FROM:  # the loader is copied only into the scripts of projects that start from weights
        if args.init:
            parser.error("this script was exported without weight loading; give the project starting weights "
                         "(training.init, or Train from These Weights) in LayerLoom and export it again")
    if args.epochs < 1 or args.batch_size < 1 or not args.lr > 0:
        parser.error("--epochs and --batch-size must be at least 1 and --lr above 0")
    return args


def start_from(model, path, fresh):
    """Load the weights file `path` into the model, matched by name (transfer learning). A layer that is missing
    from the file, not in the model or of another shape stops the script, unless `fresh` lists it."""
    if not Path(path).exists():
        sys.exit(f"error: the weights {path} do not exist; pass their location with --init PATH")
    try:
        weights = read_state_dict(path)
    except Exception as exc:  # noqa: BLE001 - a damaged or pickled file: a message, never a traceback
        sys.exit(f"error: cannot read the weights {path}: {exc}")
    tensors, problems, new = matching_weights(model, weights, fresh)
    if problems:
        shown = "; ".join(f"{key} {text}" for key, text in problems[:8])
        more = f"; and {len(problems) - 8} more" if len(problems) > 8 else ""
        sys.exit(f"error: the weights in {path} do not fit the model: {shown}{more}; list the layers you replaced "
                 "in FRESH at the top of this script to start them from their own initialisation")
    load_weights_into(model, tensors)
    return new


def to_device(array, device):
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def main():
    args = parse_args()
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    device = auto_device() if args.device == "auto" else torch.device(args.device)
    rank, world = 0, 1
    if distributed:
        from torch.nn.parallel import DistributedDataParallel
        from torch.utils.data.distributed import DistributedSampler

        device, rank, world = start_distributed(device)
    main_process = rank == 0

    if USER_FILE:
        X, Y, task, labels = prepare_data(args.data)
    else:
        X, Y, task, labels = prepare_data(None)
    classes = int(Y.max()) + 1 if task == "classification" and len(Y) else None
    if LANGUAGE_MODEL:  # token ids are the text's characters, in sorted order
        vocabulary = text_vocabulary(args.data)
        classes = len(vocabulary)
    problem = output_mismatch(task, OUTPUT_SHAPE, classes, Y.shape[1:], "the data")  # the app's own rule
    if problem:
        sys.exit(f"error: {problem}")
    if LANGUAGE_MODEL:  # the cross-entropy of every position's next token
        loss_fn = sequence_cross_entropy
    elif TASK_KNOWN:
        loss_fn = getattr(F, LOSS)
    else:
        loss_fn = F.cross_entropy if task == "classification" else F.mse_loss
    if not CLASSIFICATION:
        if not LANGUAGE_MODEL:
            loss_fn = reshaped_loss(loss_fn)
    train_idx, val_idx = split_indices(len(X), labels, VAL_FRACTION, args.seed)

    seed_everything(args.seed)
    model = load_model_module().create_model().to(device)
    if STARTS_FROM:
        fresh_keys = start_from(model, args.init, FRESH) if args.init else None
    if FROZEN_LAYERS:  # not trained: no gradients, and their normalisation statistics stay fixed
        fixed_norms = freeze(model, FROZEN)
    X_train, Y_train = to_device(X[train_idx], device), to_device(Y[train_idx], device)
    shard = val_idx[rank::world]  # each process scores its share of the validation set
    X_val, Y_val = to_device(X[shard], device), to_device(Y[shard], device)
    if not CLASSIFICATION:
        if not LANGUAGE_MODEL:
            sst = total_sum_of_squares(torch.from_numpy(np.asarray(Y[val_idx], dtype=np.float64)))
    params = [p for p in model.parameters() if p.requires_grad]
    net, sampler = model, None
    if distributed:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        sampler = DistributedSampler(range(len(X_train)), num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    n_local = len(sampler) if sampler is not None else len(X_train)
    bs = args.batch_size
    end = batch_end(n_local, bs)
    optimizer = make_optimizer(params, **{**OPTIMIZER, "lr": args.lr})
    if SCHEDULED:
        scheduler = make_scheduler(optimizer, args.epochs, steps_per_epoch(n_local, bs), **SCHEDULE)
    if MIXED_PRECISION:  # float16 autocast on CUDA only; the scaler is a no-op elsewhere
        use_amp = device.type == "cuda"
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
        autocast = (lambda: torch.autocast("cuda", dtype=torch.float16)) if use_amp else contextlib.nullcontext
    shuffle_gen = torch.Generator(device="cpu").manual_seed(args.seed)
    if AUGMENTED:
        aug_gen = torch.Generator(device=device if device.type == "cuda" else "cpu").manual_seed(args.seed + 1)
    if EARLY_STOPPED:
        best_monitor, bad_epochs = math.inf, 0
    history = []
    if main_process:
        print(f"training on {device}{f' x {world} processes' if distributed else ''}: {DATASET['name']}, "
              f"{len(train_idx)} train / {len(val_idx)} validation samples, {args.epochs} epochs, batch {bs}, "
              f"{sum(p.numel() for p in params):,} parameters", flush=True)
        if FROZEN_LAYERS:
            print(f"frozen: {', '.join(FROZEN)} ({sum(p.numel() for p in model.parameters() if not p.requires_grad):,} "
                  "parameters not trained)", flush=True)
        if STARTS_FROM:
            if fresh_keys is not None:
                print(f"started from {args.init}"
                      + (f"; newly initialised: {', '.join(fresh_keys)}" if fresh_keys else ""), flush=True)

    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        if FROZEN_LAYERS:
            train_mode(net, fixed_norms)
        else:
            net.train()
        if sampler is not None:
            sampler.set_epoch(epoch - 1)
            perm = torch.tensor(list(sampler), dtype=torch.int64)
        else:
            perm = torch.randperm(len(X_train), generator=shuffle_gen)
        perm = perm.to(device)
        loss_sum, seen = 0.0, 0
        if CLASSIFICATION:
            correct = 0
        for start in range(0, end, bs):
            idx = perm[start:min(start + bs, end)]
            xb, yb = X_train[idx], Y_train[idx]
            if AUGMENTED:
                xb = augment(xb, aug_gen, image_shape=IMAGE_SHAPE, **AUGMENT)
            optimizer.zero_grad(set_to_none=True)
            if MIXED_PRECISION:
                with autocast():
                    out = net(xb)
                    loss = loss_fn(out, yb)
            else:
                out = net(xb)
                loss = loss_fn(out, yb)
            value = loss.item()
            if not math.isfinite(value):
                sys.exit(f"error: the loss became {value} at epoch {epoch}; lower the learning rate (--lr)")
            if MIXED_PRECISION:
                scaled_optimizer_step(loss, optimizer, scaler, params, GRAD_CLIP)
            elif CLIPPED:
                clipped_optimizer_step(loss, optimizer, params, GRAD_CLIP)
            else:
                optimizer_step(loss, optimizer)
            if PER_BATCH_SCHEDULE:
                scheduler.step()
            loss_sum += value * len(idx)
            seen += len(idx)
            if CLASSIFICATION:
                correct += int((out.argmax(1) == yb).sum())
        train_s = time.perf_counter() - t0

        net.eval()
        scored = net.module if distributed else net
        chunk = max(bs, EVAL_CHUNK)
        if LANGUAGE_MODEL:
            if MIXED_PRECISION:
                val_loss, val_correct = language_model_sums(scored, X_val, Y_val, loss_fn, chunk, autocast)
            else:
                val_loss, val_correct = language_model_sums(scored, X_val, Y_val, loss_fn, chunk)
            sums = [loss_sum, seen, len(X_val), Y_val.numel(), val_loss, val_correct]
        elif CLASSIFICATION:
            if MIXED_PRECISION:
                val_loss, val_correct = classifier_sums(scored, X_val, Y_val, loss_fn, chunk, autocast)
            else:
                val_loss, val_correct = classifier_sums(scored, X_val, Y_val, loss_fn, chunk)
            sums = [loss_sum, seen, correct, len(X_val), val_loss, val_correct]
        else:
            if MIXED_PRECISION:
                val_loss, abs_sum, sq_sum = regressor_sums(scored, X_val, Y_val, loss_fn, chunk, autocast)
            else:
                val_loss, abs_sum, sq_sum = regressor_sums(scored, X_val, Y_val, loss_fn, chunk)
            sums = [loss_sum, seen, len(X_val), Y_val.numel(), val_loss, abs_sum, sq_sum]
        if distributed:  # add up every process's share
            sums = all_sum(sums, device)
        if LANGUAGE_MODEL:
            loss_sum, seen_all, count, tokens, val_loss, val_correct = sums
            train_loss = finite_or_none(loss_sum / max(seen_all, 1))
            record = {"epoch": epoch, "train_loss": train_loss, "train_bits_per_char": bits(train_loss),
                      "val_loss": finite_or_none(val_loss / count) if count else None}
            record["val_bits_per_char"] = bits(record["val_loss"])
            record["val_accuracy"] = val_correct / tokens if count else None
        elif CLASSIFICATION:
            loss_sum, seen_all, correct, count, val_loss, val_correct = sums
            record = {"epoch": epoch, "train_loss": finite_or_none(loss_sum / max(seen_all, 1)),
                      "train_accuracy": correct / seen_all if seen_all else None,
                      "val_loss": finite_or_none(val_loss / count) if count else None,
                      "val_accuracy": val_correct / count if count else None}
        else:
            loss_sum, seen_all, count, elements, val_loss, abs_sum, sq_sum = sums
            record = {"epoch": epoch, "train_loss": finite_or_none(loss_sum / max(seen_all, 1)),
                      "val_loss": finite_or_none(val_loss / count) if count else None,
                      "val_mae": finite_or_none(abs_sum / elements) if count else None,
                      "val_r2": finite_or_none(1.0 - sq_sum / sst) if count and sst else None}
        record["lr"] = optimizer.param_groups[0]["lr"]
        record["time_s"] = round(time.perf_counter() - t0, 6)
        record["samples_per_s"] = round(seen / train_s, 1) if train_s > 0 else None
        history.append(record)
        if PLATEAU_SCHEDULE or EARLY_STOPPED:  # watch the validation loss (the training loss without one)
            monitor = record["val_loss"] if len(val_idx) else record["train_loss"]
            monitor = math.inf if monitor is None else monitor
        if PLATEAU_SCHEDULE:
            scheduler.step(monitor)
        elif SCHEDULED and not PER_BATCH_SCHEDULE:
            scheduler.step()
        if main_process:
            shown = "  ".join(f"{k} {'-' if v is None else f'{v:.4f}'}" for k, v in record.items()
                              if k not in ("epoch", "lr", "time_s", "samples_per_s"))
            print(f"epoch {epoch}/{args.epochs}  {shown}  lr {record['lr']:.3g}  {record['time_s']:.2f} s",
                  flush=True)
        if EARLY_STOPPED:
            if monitor < best_monitor - EARLY_STOPPING["min_delta"]:
                best_monitor, bad_epochs = monitor, 0
            else:
                bad_epochs += 1
                if bad_epochs >= EARLY_STOPPING["patience"]:
                    if main_process:
                        print(f"early stopping: no improvement for {bad_epochs} epochs", flush=True)
                    break

    if LANGUAGE_MODEL:  # what the trained model writes (LayerLoom shows the same sample after each epoch)
        if main_process:
            model.eval()
            prompt = [int(i) for i in X[val_idx[0] if len(val_idx) else train_idx[0], :SAMPLE_PROMPT]]
            new = sample_ids(model, prompt, SAMPLE_LENGTH, INPUT_SHAPE[0], SAMPLE_TEMPERATURE, args.seed)
            print("generated text:\n" + "".join(vocabulary[i] for i in prompt + new), flush=True)
    if main_process:
        from safetensors.torch import save_file

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        save_file({k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()},
                  str(out / "model.safetensors"))
        with open(out / "metrics.json", "w", encoding="utf-8") as fh:
            json.dump(history, fh, indent=1, allow_nan=False)
            fh.write("\n")
        if LANGUAGE_MODEL:  # id -> character, to turn the model's outputs into text
            with open(out / "vocabulary.json", "w", encoding="utf-8") as fh:
                json.dump(vocabulary, fh, ensure_ascii=True)
        print(f"wrote {out / 'model.safetensors'} and {out / 'metrics.json'}", flush=True)
    if distributed:
        import torch.distributed as dist

        del net  # DistributedDataParallel's reducer must be gone before its process group
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
