"""C20: "in GANs, ReLU helps improve the quality of generated samples" (article §5.3).

A small GAN on the ring of 8 Gaussians (radius 2, std 0.02; the data of
``reluthe.data.load("gaussian_mixture", k=8)``, sampled afresh at every step): generator
z ~ N(0, I_8) → 32 → 32 → 2 and discriminator 2 → 32 → 32 → 1, both with the activation under
test (relu, leaky_relu with slope 0.2 as in DCGAN's discriminator, tanh) in their hidden layers.
Non-saturating GAN loss (Goodfellow et al. 2014), Adam (lr 1e-3, betas 0.5/0.999), batch 128,
one discriminator step per generator step. All activations × seeds train as one stacked model;
arms with the same seed share initial weights, noise and data.

Evaluation (:func:`reluthe.probes.architectures.mode_coverage`) on 2000 samples per run: share
of high-quality samples (within 3σ = 0.06 of some mode) and modes covered (modes holding at
least 1/32 of all samples within 3σ: a quarter of the fair share). Stability: runs that fail
(non-finite samples or at most one mode covered) and the seed-to-seed spread.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from reluthe._threads import single_threaded
from reluthe.claims._arch_plot import ci_bars, new_figure, save
from reluthe.claims._arch_stack import MemberActivation, stacked_linear
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.probes.architectures import mode_coverage, ring_centers
from reluthe.stats import diff_ci, mean_ci

ACTIVATIONS = ("relu", "leaky_relu", "tanh")
ACT_PARAMS = {"leaky_relu": {"alpha": 0.2}}
K_MODES, RADIUS, STD = 8, 2.0, 0.02
Z_DIM, HIDDEN, BATCH, LR, BETAS = 8, 32, 128, 1e-3, (0.5, 0.999)
N_EVAL, N_SIGMA = 2000, 3.0
FULL = {"seeds": 6, "steps": 4000}
QUICK = {"seeds": 2, "steps": 60}

RULE = (
    "GAN on 8 Gaussians (ring radius 2, std 0.02), G and D with the same hidden activation: "
    "relu, leaky_relu(0.2), tanh; 6 seeds each in the default run, 4000 steps. Per run, on 2000 "
    "samples: share of samples within 3 std of a mode (HQ) and modes holding >= 1/32 of the "
    "samples within 3 std (modes covered). Welch 95% CIs of relu - other on both metrics. relu "
    "is BETTER than an activation if one metric's CI lies above 0 and neither lies below 0; "
    "WORSE if one lies below 0 and neither above. SUPPORTED: relu better than tanh and not worse "
    "than leaky_relu. PARTLY: relu better than tanh but worse than leaky_relu, or better than "
    "leaky_relu and not better than tanh (the condition is named). REFUTED: relu worse than at "
    "least one of them and better than none. INCONCLUSIVE: otherwise, or fewer than 2 seeds."
)


def _mlp(params, prefix, h, act, n_layers=3):
    for i in range(n_layers):
        h = torch.baddbmm(params[f"{prefix}b{i}"][:, None, :], h,
                          params[f"{prefix}w{i}"].transpose(1, 2))
        if i < n_layers - 1:
            h = act(h)
    return h


def _init(seeds, prefix, dims, offset):
    params = {}
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        params[f"{prefix}w{i}"], params[f"{prefix}b{i}"] = stacked_linear(seeds, b, a,
                                                                          offset=offset + i)
    return params


def _real(gens, batch):
    centers = torch.as_tensor(ring_centers(K_MODES, RADIUS), dtype=torch.float32)
    out = []
    for g in gens:
        idx = torch.randint(0, K_MODES, (batch,), generator=g)
        out.append(centers[idx] + STD * torch.randn(batch, 2, generator=g))
    return torch.stack(out)


@single_threaded
def train_gans(seeds: list[int], steps: int) -> dict:
    """Train one GAN per (activation, seed) as a stacked model; JSON-ready coverage results."""
    names = [a for a in ACTIVATIONS for _ in seeds]
    member_seeds = [s for _ in ACTIVATIONS for s in seeds]
    k, n_seeds = len(names), len(seeds)
    act = MemberActivation(names, ACT_PARAMS)
    gp = _init(member_seeds, "g", (Z_DIM, HIDDEN, HIDDEN, 2), 0)
    dp = _init(member_seeds, "d", (2, HIDDEN, HIDDEN, 1), 10)
    for p in (*gp.values(), *dp.values()):
        p.requires_grad_(True)
    opt_g = torch.optim.Adam(list(gp.values()), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(list(dp.values()), lr=LR, betas=BETAS)
    data_gens = [torch.Generator().manual_seed(20_000 + s) for s in seeds]
    noise_gens = [torch.Generator().manual_seed(30_000 + s) for s in seeds]
    pick = torch.arange(k) % n_seeds  # member -> its seed's data and noise

    def noise(batch, gens):
        return torch.stack([torch.randn(batch, Z_DIM, generator=g) for g in gens])[pick]

    eval_z = noise(N_EVAL, [torch.Generator().manual_seed(40_000 + s) for s in seeds])
    centers = ring_centers(K_MODES, RADIUS)

    def coverage():
        with torch.no_grad():
            samples = _mlp(gp, "g", eval_z, act)
        return [mode_coverage(samples[j], centers, STD, n_sigma=N_SIGMA) for j in range(k)], \
            samples

    history, eval_every = [], max(1, steps // 5)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        real = _real(data_gens, BATCH)[pick]
        fake = _mlp(gp, "g", noise(BATCH, noise_gens), act)
        d_real, d_fake = _mlp(dp, "d", real, act), _mlp(dp, "d", fake.detach(), act)
        loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real),
                                                     reduction="none").mean((1, 2))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake),
                                                       reduction="none").mean((1, 2)))
        opt_d.zero_grad()
        loss_d.sum().backward()
        opt_d.step()
        d_gen = _mlp(dp, "d", fake, act)
        loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen),
                                                    reduction="none").mean((1, 2))
        opt_g.zero_grad()
        loss_g.sum().backward()
        opt_g.step()
        if step % eval_every == 0 or step == steps:
            cov, _ = coverage()
            history.append({"step": step, "modes": [c.modes_covered for c in cov],
                            "hq": [c.high_quality for c in cov]})
    elapsed = time.perf_counter() - start
    cov, samples = coverage()
    shown = samples[:, :300].numpy().astype(float)

    def per_act(values):
        return {a: [values[i * n_seeds + j] for j in range(n_seeds)]
                for i, a in enumerate(ACTIVATIONS)}

    return {
        "seeds": seeds, "steps": steps, "time_s": elapsed,
        "modes_covered": per_act([c.modes_covered for c in cov]),
        "high_quality": per_act([c.high_quality for c in cov]),
        "finite": per_act([c.finite for c in cov]),
        "mode_counts": per_act([list(c.counts) for c in cov]),
        "history": {"steps": [h["step"] for h in history],
                    "modes": per_act([[h["modes"][j] for h in history] for j in range(k)]),
                    "hq": per_act([[h["hq"][j] for h in history] for j in range(k)])},
        "samples": per_act([np.round(shown[j], 4).tolist() for j in range(k)]),
    }


def measure(ctx: Context) -> dict:
    proto = QUICK if ctx.quick else FULL
    seeds = [ctx.seed + i for i in range(proto["seeds"])]
    ctx.log(f"C20: GAN, {len(ACTIVATIONS)} activations x {len(seeds)} seeds")
    out = train_gans(seeds, proto["steps"])
    out.update({"activations": list(ACTIVATIONS), "activation_params": ACT_PARAMS,
                "modes": K_MODES, "radius": RADIUS, "std": STD, "n_sigma": N_SIGMA,
                "min_share": 1 / (4 * K_MODES), "n_eval": N_EVAL, "hidden": HIDDEN,
                "z_dim": Z_DIM, "batch_size": BATCH, "lr": LR, "betas": list(BETAS)})
    return out


def _compare(m: dict, other: str) -> dict:
    effects = {metric: diff_ci(m[metric]["relu"], m[metric][other])
               for metric in ("modes_covered", "high_quality")}
    above = any(e.has_ci and e.low > 0 for e in effects.values())
    below = any(e.has_ci and e.high < 0 for e in effects.values())
    return {"effects": {k: e.to_dict() for k, e in effects.items()},
            "better": bool(above and not below), "worse": bool(below and not above)}


def decide(m: dict) -> Outcome:
    summary = {a: {"modes_covered": mean_ci(m["modes_covered"][a]).to_dict(),
                   "high_quality": mean_ci(m["high_quality"][a]).to_dict(),
                   "failed_runs": int(sum((not f) or c <= 1 for f, c in
                                          zip(m["finite"][a], m["modes_covered"][a]))),
                   "modes_sd": float(np.std(m["modes_covered"][a], ddof=1))
                   if len(m["seeds"]) > 1 else float("nan")}
               for a in m["activations"]}
    vs = {o: _compare(m, o) for o in ("tanh", "leaky_relu")}
    evidence = {"summary": summary, "relu_vs": vs}
    key = "; ".join(f"{a}: {s['modes_covered']['value']:.1f}/8 modes, HQ "
                    f"{s['high_quality']['value']:.0%}, failed {s['failed_runs']}"
                    for a, s in summary.items())
    if len(m["seeds"]) < 2:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "Fewer than 2 seeds per activation: no confidence interval.")
    t, lk = vs["tanh"], vs["leaky_relu"]
    if t["better"] and not lk["worse"]:
        return Outcome(Verdict.SUPPORTED, key, evidence,
                       "relu GANs cover more modes or produce more high-quality samples than tanh "
                       "GANs and are not worse than leaky_relu GANs.")
    if t["better"] and lk["worse"]:
        return Outcome(Verdict.PARTLY, key, evidence,
                       "relu improves on tanh, but leaky_relu(0.2) does better than relu: the "
                       "gain comes from a non-saturating activation, and a leaky one is better.")
    if lk["better"] and not t["better"]:
        return Outcome(Verdict.PARTLY, key, evidence,
                       "relu does better than leaky_relu but not significantly better than "
                       "tanh: the claimed gain over a saturating activation is not shown here.")
    if (t["worse"] or lk["worse"]) and not (t["better"] or lk["better"]):
        return Outcome(Verdict.REFUTED, key, evidence,
                       "relu GANs produce fewer covered modes or fewer high-quality samples than "
                       + " and ".join(o for o in vs if vs[o]["worse"]) + " GANs.")
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   "The CIs of relu minus tanh / leaky_relu include 0 on the quality metrics: "
                   "more seeds or longer training would separate them.")


def plot(m: dict, figures_dir: Path) -> list[str]:
    acts, seeds = m["activations"], m["seeds"]
    fig, axes = new_figure(ncols=len(seeds), nrows=len(acts), size=(1.9, 1.9))
    centers = ring_centers(m["modes"], m["radius"])
    lim = m["radius"] * 1.6
    for r, a in enumerate(acts):
        for c in range(len(seeds)):
            ax = axes[r * len(seeds) + c]
            pts = np.asarray(m["samples"][a][c], dtype=float)
            pts = pts[np.isfinite(pts).all(1)] if pts.size else pts.reshape(0, 2)
            ax.scatter(centers[:, 0], centers[:, 1], s=60, facecolors="none",
                       edgecolors="tab:green", lw=0.8)
            ax.scatter(np.clip(pts[:, 0], -lim, lim), np.clip(pts[:, 1], -lim, lim), s=1,
                       color="tab:red" if a == "relu" else "tab:blue", alpha=0.5)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{a} s{seeds[c]}: {m['modes_covered'][a][c]} modes", fontsize=7)
    names = [save(fig, figures_dir, "c20_gan_samples.png")]
    fig, axes = new_figure(ncols=2)
    ci_bars(axes[0], acts, [m["modes_covered"][a] for a in acts], ylabel="modes covered (of 8)",
            title=f"C20 modes covered ({m['steps']} steps)")
    ci_bars(axes[1], acts, [m["high_quality"][a] for a in acts],
            ylabel="high-quality samples (%)", title="C20 samples within 3 std of a mode",
            scale=100)
    names.append(save(fig, figures_dir, "c20_gan_quality.png"))
    return names
