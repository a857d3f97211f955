"""The adversarial training primitives, in one place: the engine's GanTrainer (gan_loop.py) calls them and the
exported train.py of a GAN project is made of copies of them (graph_engine/export/train_script_gan.py).

The rules of recipe.py hold here too: torch, numpy and the standard library only; every function is
self-contained (it calls only functions of this module or of recipe.py); one recipe per function.

The recipe (Radford et al. 2015, with the usual stabilisers): two Adam optimisers (betas 0.5, 0.999 by default),
one discriminator step then one generator step per batch, the non-saturating generator loss, one-sided label
smoothing (real samples are labelled 1 - smoothing for the discriminator), optional instance noise (Gaussian
noise added to what the discriminator sees, annealed linearly to zero over the run) and a fixed batch of noise
whose samples show the generator's progress. Images are values in 0..1 (a generator ends with Sigmoid).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from graph_engine.training.image_grid import image_grid, is_image_shape, png_bytes  # noqa: F401 - the GAN's own API
from graph_engine.training.recipe import batch_end

COLLAPSE_GRACE_EPOCHS = 3

# ---- noise ---------------------------------------------------------------------------------------------------


def fixed_noise(count, noise_shape, seed):
    """The same `count` noise vectors for every epoch of a run (and for `layerloom sample` with that seed)."""
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    return torch.randn((count, *noise_shape), generator=gen)


def instance_noise_std(start, epoch, epochs):
    """The instance noise of an epoch (counted from 1): `start` at the first epoch, down to 0 at the last."""
    if not start:
        return 0.0
    if epochs <= 1:
        return float(start)
    return float(start) * (1.0 - (epoch - 1) / (epochs - 1))


def gan_optimizers(generator_params, discriminator_params, g_lr, d_lr, betas):
    """One Adam optimiser per network (each learns at its own rate; they never share state)."""
    g_opt = torch.optim.Adam(generator_params, lr=g_lr, betas=tuple(betas))
    d_opt = torch.optim.Adam(discriminator_params, lr=d_lr, betas=tuple(betas))
    return g_opt, d_opt


# ---- the step ------------------------------------------------------------------------------------------------


def gan_step(generator, discriminator, real, noise, g_opt, d_opt, real_label, noise_std, gen):
    """One adversarial step on a batch of `real` samples (already shaped for the discriminator) and `noise`.

    The discriminator sees the real batch and the generated batch in one forward pass (so a distributed run
    synchronises it once per step) and learns to tell them apart, real targets `real_label` (label smoothing);
    then the generator learns to make the discriminator say "real" (the non-saturating loss). Returns the
    discriminator loss, the generator loss, and how many real and generated samples the discriminator
    classified correctly (logit above / below 0), as tensors, so the caller syncs with the device once."""
    n = real.shape[0]
    fake = generator(noise).reshape(real.shape)
    real_in, fake_in = real, fake
    if noise_std:  # instance noise: overlapping real and generated distributions keep D's gradients useful
        real_in = real + noise_std * torch.randn(real.shape, generator=gen, device=gen.device).to(real.device)
        fake_in = fake + noise_std * torch.randn(real.shape, generator=gen, device=gen.device).to(real.device)

    d_opt.zero_grad(set_to_none=True)
    d_out = discriminator(torch.cat([real_in, fake_in.detach()])).reshape(-1)
    targets = torch.cat([torch.full((n,), float(real_label), device=real.device),
                         torch.zeros(n, device=real.device)])
    d_loss = F.binary_cross_entropy_with_logits(d_out, targets)
    d_loss.backward()
    d_opt.step()

    g_opt.zero_grad(set_to_none=True)
    g_out = discriminator(fake_in).reshape(-1)
    g_loss = F.binary_cross_entropy_with_logits(g_out, torch.ones(n, device=real.device))
    g_loss.backward()
    g_opt.step()
    d_out = d_out.detach()
    return d_loss.detach(), g_loss.detach(), (d_out[:n] > 0).sum(), (d_out[n:] < 0).sum()


# ---- watching the run ----------------------------------------------------------------------------------------


@torch.no_grad()
def generate(generator, noise, chunk=256):
    """The generator's samples for `noise` in eval mode (BatchNorm uses its running statistics), as float32
    numpy on the CPU; the generator is put back in training mode."""
    generator.eval()
    parts = [generator(noise[start:start + chunk]).float().cpu() for start in range(0, len(noise), chunk)]
    generator.train()
    return torch.cat(parts).numpy()


def diversity(samples):
    """How different the samples are from each other: the per-value standard deviation across samples,
    averaged. Near zero when every noise vector gives the same image (mode collapse)."""
    flat = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    return float(flat.std(axis=0).mean()) if len(flat) > 1 else 0.0


def real_diversity(X, count, seed):
    """diversity() of `count` real samples picked with `seed` (the yardstick for the generated samples)."""
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    pick = torch.randperm(len(X), generator=gen)[:count].to(X.device)
    return diversity(X[pick].float().cpu().numpy())


def collapse_warning(record, history, yardstick):
    """A warning (text) when the run looks collapsed, else None: after the first COLLAPSE_GRACE_EPOCHS, the
    samples' diversity under a fifth of the real data's (mode collapse), or the discriminator wins outright (its loss near 0 while the generator's
    grows epoch after epoch, so the generator gets no useful gradient)."""
    settled = record["epoch"] > COLLAPSE_GRACE_EPOCHS  # a fresh generator's samples are alike: not a collapse
    if settled and yardstick > 0 and record["sample_diversity"] < 0.2 * yardstick:
        return (f"mode collapse: the samples vary {record['sample_diversity']:.3f}, the real data "
                f"{yardstick:.3f}; lower the learning rates or add instance noise")
    recent = [r["g_loss"] for r in history[-3:]] + [record["g_loss"]]
    if record["d_loss"] < 0.05 and len(recent) >= 3 and all(b > a for a, b in zip(recent, recent[1:], strict=False)):
        return (f"the discriminator wins: its loss is {record['d_loss']:.3f} while the generator's grows "
                f"({record['g_loss']:.2f}); lower the discriminator's learning rate or add label smoothing")
    return None


def gan_epoch(generator, discriminator, X, perm, batch_size, noise_shape, g_opt, d_opt, real_label, noise_std,
              gen, on_step=None):
    """One pass over the samples X[perm] in batches (a last batch of one sample is skipped, as in recipe.py).
    Returns [summed discriminator loss, summed generator loss, real samples called real, generated samples
    called generated, samples seen]; None when `on_step(d_loss, g_loss)` (called after each step) returns
    False. Noise comes from `gen` (a torch.Generator), so a seed gives the same run."""
    end = batch_end(len(perm), batch_size)
    sums = torch.zeros(4, dtype=torch.float64, device=X.device)
    seen = 0
    for start in range(0, end, batch_size):
        idx = perm[start:min(start + batch_size, end)]
        real = X[idx]
        noise = torch.randn((len(idx), *noise_shape), generator=gen, device=gen.device).to(X.device)
        d_loss, g_loss, real_ok, fake_ok = gan_step(generator, discriminator, real, noise, g_opt, d_opt,
                                                    real_label, noise_std, gen)
        sums += torch.stack([d_loss.double() * len(idx), g_loss.double() * len(idx), real_ok.double(),
                             fake_ok.double()])
        seen += len(idx)
        if on_step is not None and not on_step(d_loss, g_loss):
            return None
    return sums.tolist() + [seen]


def gan_record(epoch, sums, samples, yardstick, history):
    """The epoch's figures from gan_epoch's sums (added up over every process) and the fixed-noise samples."""
    d_sum, g_sum, real_ok, fake_ok, seen = sums
    seen = max(seen, 1)
    record = {"epoch": epoch, "d_loss": d_sum / seen, "g_loss": g_sum / seen, "d_real_accuracy": real_ok / seen,
              "d_fake_accuracy": fake_ok / seen, "sample_diversity": diversity(samples)}
    record["warning"] = collapse_warning(record, history, yardstick)
    return record
