"""Stacked GANs for C20: the ring of Gaussians, generator / discriminator, alternating training.

K members (optimiser setting × activation × data seed × model seed) of one Adam ``betas`` train
as one stacked model (:func:`reluthe.train.train_alternating`: a discriminator phase, then a
generator phase reusing the step's fake batch, one Adam state each); each member has its own
learning rate. Members of one model seed share initial weights (generator layers, then the
discriminator's, from one generator seeded by the model seed), training latents (noise stream)
and evaluation latents (probe stream); members of one data seed share their real samples, drawn
afresh at every step from that seed's stream. A member whose loss or gradients turn non-finite,
or whose evaluation samples do, is frozen (its weights zeroed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from reluthe.errors import InvalidInputError
from reluthe.probes.architectures import mode_coverage, ring_centers
from reluthe.train import (
    MemberActivation,
    member_generators,
    stacked_mlp,
    stacked_mlp_init,
    train_alternating,
)

__all__ = ["GanMember", "Ring", "train_gans", "history"]

ACT_PARAMS = {"leaky_relu": {"alpha": 0.2}}
Z_DIM, HIDDEN, BATCH = 8, 32, 64


@dataclass(frozen=True)
class Ring:
    """The target: ``k`` Gaussians of std ``std`` on a circle of ``radius``; evaluation on
    ``n_eval`` samples, a sample is high-quality within ``n_sigma`` std of a mode."""

    k: int = 8
    radius: float = 2.0
    std: float = 0.02
    n_eval: int = 2000
    n_sigma: float = 3.0


@dataclass(frozen=True)
class GanMember:
    """One GAN: its activation (G and D), Adam learning rate, data seed and model seed, and the
    seeds of its training latents (``noise``) and evaluation latents (``probe``)."""

    activation: str
    lr: float
    data_seed: int
    seed: int
    noise: int
    probe: int


def _params(layers) -> dict:
    """Stacked layers [(W, b), ...] as the trainer's parameter dict (the same tensors)."""
    return {f"{n}{i}": t for i, pair in enumerate(layers) for n, t in zip("wb", pair)}


def _draws(seeds: list[int]):
    """Distinct seeds, their generators, and each member's index into them."""
    distinct = sorted(set(seeds))
    return member_generators(distinct), torch.tensor([distinct.index(s) for s in seeds])


def _real(gens, ring: Ring, batch: int) -> torch.Tensor:
    """One batch of ring samples per generator (CPU): (len(gens), batch, 2)."""
    centers = torch.as_tensor(ring_centers(ring.k, ring.radius), dtype=torch.float32)
    out = []
    for g in gens:
        idx = torch.randint(0, ring.k, (batch,), generator=g)
        out.append(centers[idx] + ring.std * torch.randn(batch, 2, generator=g))
    return torch.stack(out)


def _latents(gens, batch: int) -> torch.Tensor:
    """One batch of latent draws per generator (CPU): (len(gens), batch, Z_DIM)."""
    return torch.stack([torch.randn(batch, Z_DIM, generator=g) for g in gens])


def _bce(logits, target: float):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target),
                                              reduction="none").mean((1, 2))


def train_gans(members: list[GanMember], ring: Ring, *, steps: int, betas: tuple[float, float],
               evals: int, device: str = "cpu") -> dict:
    """Train ``members`` (one Adam ``betas``) as one stack.

    Returns ``{"coverage": [ModeCoverage per member], "samples": Tensor (K, n_eval, 2),
    "log": StackLog}``; a diverged member's coverage is that of its frozen (zero) generator.

    Raises
    ------
    InvalidInputError
        An empty member list.
    """
    if not members:
        raise InvalidInputError("train_gans needs at least one member.")
    act = MemberActivation([m.activation for m in members], ACT_PARAMS)
    gens = member_generators([m.seed for m in members])  # G's layers, then D's
    g_layers = stacked_mlp_init((Z_DIM, HIDDEN, HIDDEN, 2), gens, device=device)
    d_layers = stacked_mlp_init((2, HIDDEN, HIDDEN, 1), gens, device=device)
    data_gens, data_pick = _draws([m.data_seed for m in members])
    noise_gens, noise_pick = _draws([m.noise for m in members])
    probe_gens, probe_pick = _draws([m.probe for m in members])
    eval_z = _latents(probe_gens, ring.n_eval)[probe_pick].to(device)
    centers = ring_centers(ring.k, ring.radius)
    fake = {}

    def generate(z):
        return stacked_mlp(g_layers, z, act)[0]

    def discriminate(x):
        return stacked_mlp(d_layers, x, act)[0]

    def loss_d(step):
        real = _real(data_gens, ring, BATCH)[data_pick].to(device)
        fake["x"] = generate(_latents(noise_gens, BATCH)[noise_pick].to(device))
        return _bce(discriminate(real), 1.0) + _bce(discriminate(fake["x"].detach()), 0.0)

    def loss_g(step):
        return _bce(discriminate(fake.pop("x")), 1.0)

    def coverage():
        with torch.no_grad():
            samples = generate(eval_z).cpu()
        return [mode_coverage(s, centers, ring.std, n_sigma=ring.n_sigma)
                for s in samples], samples

    def evaluate(step):
        cov = coverage()[0]
        return {"modes": [c.modes_covered for c in cov], "hq": [c.high_quality for c in cov],
                "diverged": [not c.finite for c in cov]}

    log = train_alternating([(_params(d_layers), loss_d), (_params(g_layers), loss_g)],
                            steps=steps, lr=[m.lr for m in members], betas=betas,
                            eval_every=max(1, steps // evals), evaluate=evaluate, device=device)
    cov, samples = coverage()
    return {"coverage": cov, "samples": samples, "log": log}


def history(log, key: str, j: int) -> list:
    """Member ``j``'s evaluation history of ``key`` ("modes" or "hq")."""
    return [np.asarray(e[key])[j].item() for e in log.evals]
