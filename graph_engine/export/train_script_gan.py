"""The exported train.py's own functions for a GAN project (its command line and epoch loop), as real code.

train_script.py copies them into the script with the adversarial primitives of
graph_engine/training/gan_recipe.py (the functions GanTrainer runs), the training primitives of recipe.py and
the dataset's loader (train_script_data.py). The names in CAPITALS are the script's settings, written by the
exporter. The generator is MODEL_FILE's create_model() (the exported model code), the discriminator
DISCRIMINATOR_FILE's; both are built in the order GanTrainer builds them, after the same seeding, so a run of
the script on CPU gives the in-app trainer's losses and weights (tested).
"""

import argparse
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

from graph_engine.export.train_script_data import DATASET
from graph_engine.training.gan_recipe import (
    fixed_noise,
    gan_epoch,
    gan_optimizers,
    gan_record,
    generate,
    instance_noise_std,
    real_diversity,
)
from graph_engine.training.image_grid import image_grid, is_image_shape, png_bytes
from graph_engine.training.recipe import all_sum, auto_device, seed_everything, start_distributed

# The project's dataset loader: train_script.py copies it under this name (a loader of train_script_data.py).
load_data = None

# The script's settings (the exporter writes the project's values).
HERE = Path(__file__).resolve().parent
MODEL_FILE = "model.py"
DISCRIMINATOR_FILE = "discriminator.py"
GAN: dict = {}
EPOCHS = 20
BATCH_SIZE = 64
SEED = 0
DEVICE = "auto"
NOISE_SHAPE: tuple = ()
SAMPLE_SHAPE: tuple = ()
FIXED_NOISE_SEED_OFFSET = 7
REAL_DIVERSITY_SAMPLES = 512


def load_module(file_name):
    """Import exported model code (a plain file next to this script)."""
    spec = importlib.util.spec_from_file_location(Path(file_name).stem, HERE / file_name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_gan_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs (default {EPOCHS})")
    parser.add_argument("--g-lr", type=float, default=GAN["g_lr"],
                        help=f"the generator's learning rate (default {GAN['g_lr']:g})")
    parser.add_argument("--d-lr", type=float, default=GAN["d_lr"],
                        help=f"the discriminator's learning rate (default {GAN['d_lr']:g})")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help=f"samples per step and process (default {BATCH_SIZE})")
    parser.add_argument("--device", default=DEVICE, help=f"auto, cpu, cuda, cuda:N or mps (default {DEVICE})")
    parser.add_argument("--out", default="out", help="folder for the weights, samples.png and metrics.json "
                                                     "(default out)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    args = parser.parse_args()
    if args.epochs < 1 or args.batch_size < 1 or not args.g_lr > 0 or not args.d_lr > 0:
        parser.error("--epochs and --batch-size must be at least 1 and the learning rates above 0")
    return args


def main():
    args = parse_gan_args()
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    device = auto_device() if args.device == "auto" else torch.device(args.device)
    rank, world = 0, 1
    if distributed:
        from torch.nn.parallel import DistributedDataParallel
        from torch.utils.data.distributed import DistributedSampler

        device, rank, world = start_distributed(device)
    main_process = rank == 0

    X, _, _ = load_data(None)
    if int(np.prod(X.shape[1:])) != int(np.prod(SAMPLE_SHAPE)):
        sys.exit(f"error: the data has samples of shape {list(X.shape[1:])}, the generator makes {list(SAMPLE_SHAPE)}")
    X = X.reshape((len(X), *SAMPLE_SHAPE)).astype(np.float32)

    seed_everything(args.seed)
    generator = load_module(MODEL_FILE).create_model().to(device)
    discriminator = load_module(DISCRIMINATOR_FILE).create_model().to(device)
    X_train = torch.from_numpy(np.ascontiguousarray(X)).to(device)
    g_net, d_net, sampler = generator, discriminator, None
    if distributed:
        ids = [device.index] if device.type == "cuda" else None
        g_net = DistributedDataParallel(generator, device_ids=ids)
        d_net = DistributedDataParallel(discriminator, device_ids=ids)
        sampler = DistributedSampler(range(len(X_train)), num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    g_opt, d_opt = gan_optimizers([p for p in generator.parameters() if p.requires_grad],
                                  [p for p in discriminator.parameters() if p.requires_grad],
                                  args.g_lr, args.d_lr, (GAN["beta1"], GAN["beta2"]))
    shuffle_gen = torch.Generator(device="cpu").manual_seed(args.seed)
    noise_gen = torch.Generator(device=device if device.type == "cuda" else "cpu").manual_seed(args.seed + 1 + rank)
    noise = fixed_noise(GAN["samples"], NOISE_SHAPE, args.seed + FIXED_NOISE_SEED_OFFSET).to(device)
    yardstick = real_diversity(X_train, REAL_DIVERSITY_SAMPLES, args.seed)
    out = Path(args.out)
    history = []
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
        print(f"training a GAN on {device}{f' x {world} processes' if distributed else ''}: {DATASET['name']}, "
              f"{len(X_train)} samples, {args.epochs} epochs, batch {args.batch_size}", flush=True)

    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        if sampler is not None:
            sampler.set_epoch(epoch - 1)
            perm = torch.tensor(list(sampler), dtype=torch.int64)
        else:
            perm = torch.randperm(len(X_train), generator=shuffle_gen)
        sums = gan_epoch(g_net, d_net, X_train, perm.to(device), args.batch_size, NOISE_SHAPE, g_opt, d_opt,
                         1.0 - GAN["label_smoothing"], instance_noise_std(GAN["instance_noise"], epoch, args.epochs),
                         noise_gen)
        if distributed:  # add up every process's share
            sums = all_sum(sums, device)
        if not (math.isfinite(sums[0]) and math.isfinite(sums[1])):
            sys.exit(f"error: the losses became {sums[0]:g} / {sums[1]:g} at epoch {epoch}; lower --g-lr and --d-lr")
        samples = generate(generator, noise)
        record = gan_record(epoch, sums, samples, yardstick, history)
        record["time_s"] = round(time.perf_counter() - t0, 6)
        history.append(record)
        if main_process:
            print(f"epoch {epoch}/{args.epochs}  d_loss {record['d_loss']:.4f}  g_loss {record['g_loss']:.4f}  "
                  f"D real {record['d_real_accuracy']:.3f}  D fake {record['d_fake_accuracy']:.3f}  "
                  f"{record['time_s']:.2f} s", flush=True)
            if record["warning"]:
                print(f"warning: {record['warning']}", flush=True)
            if is_image_shape(SAMPLE_SHAPE):
                (out / "samples.png").write_bytes(png_bytes(image_grid(samples)))

    if main_process:
        from safetensors.torch import save_file

        for network, name in ((generator, "model.safetensors"), (discriminator, "discriminator.safetensors")):
            save_file({k: v.detach().to("cpu").contiguous() for k, v in network.state_dict().items()}, str(out / name))
        with open(out / "metrics.json", "w", encoding="utf-8") as fh:
            json.dump(history, fh, indent=1, allow_nan=False)
            fh.write("\n")
        print(f"wrote {out / 'model.safetensors'} (the generator: create_model() in {MODEL_FILE}), "
              f"discriminator.safetensors, samples.png and metrics.json", flush=True)
    if distributed:
        import torch.distributed as dist

        del g_net, d_net  # DistributedDataParallel's reducers must be gone before their process group
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
