"""C20: "in GANs, ReLU helps improve the quality of generated samples" (article §5.3).

The article: GAN: ReLU … 有助于提高生成样本的质量. Measured: a small GAN on the ring of 8
Gaussians (radius 2, std 0.02; the data of ``reluthe.data.load("gaussian_mixture", k=8)``,
sampled afresh at every step): generator z ~ N(0, I_8) → 32 → 32 → 2 and discriminator
2 → 32 → 32 → 1, both with the activation under test (relu, leaky_relu with slope 0.2 as in
DCGAN's discriminator, tanh) in their hidden layers. Non-saturating GAN loss (Goodfellow et al.
2014), Adam (lr 1e-3, betas 0.5/0.999), batch 128, one discriminator step per generator step
(:func:`reluthe.train.train_alternating`, members that diverge are frozen). All activations ×
seeds train as one stacked model; arms with the same seed share initial
weights (model stream), real samples (data stream), training latents (noise stream) and
evaluation latents (probe stream), so they are paired by seed.

Evaluation (:func:`reluthe.probes.architectures.mode_coverage`) on 2000 samples per run: share
of high-quality samples (within 3σ = 0.06 of some mode) and modes covered (modes holding at
least 1/32 of all samples within 3σ: a quarter of the fair share). Stability: runs that fail
(non-finite samples or at most one mode covered) and the seed-to-seed spread. One row per
(activation, seed), with its coverage history and 300 of its samples for the figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._protocol import MIN_SEEDS, proportion_est, scaled
from reluthe.claims._records import column
from reluthe.claims.architectures._paired import paired_diff
from reluthe.claims.architectures._plot import ci_bars, new_figure, save
from reluthe.probes.architectures import mode_coverage, ring_centers
from reluthe.train import (
    MemberActivation,
    member_generators,
    stacked_mlp,
    stacked_mlp_init,
    train_alternating,
)

ACTIVATIONS = ("relu", "leaky_relu", "tanh")
ACT_PARAMS = {"leaky_relu": {"alpha": 0.2}}
K_MODES, RADIUS, STD = 8, 2.0, 0.02
Z_DIM, HIDDEN, BATCH, LR, BETAS = 8, 32, 128, 1e-3, (0.5, 0.999)
N_EVAL, N_SIGMA, N_SHOWN = 2000, 3.0, 300
FULL = {"seeds": 6, "steps": 4000}
QUICK = {"seeds": 2, "steps": 60}

RULE = (
    "GAN on 8 Gaussians (ring radius 2, std 0.02), G and D with the same hidden activation: "
    "relu, leaky_relu(0.2), tanh; 6 seeds each in the default run, 4000 steps. Per run, on 2000 "
    "samples: share of samples within 3 std of a mode (HQ) and modes holding >= 1/32 of the "
    "samples within 3 std (modes covered). Arms share seeds (init, data, latents): paired 95% "
    "t-CIs over seeds of relu - other on both metrics. relu "
    "is BETTER than an activation if one metric's CI lies above 0 and neither lies below 0; "
    "WORSE if one lies below 0 and neither above. SUPPORTED: relu better than tanh and not worse "
    "than leaky_relu. PARTLY: relu better than tanh but worse than leaky_relu, or better than "
    "leaky_relu and not better than tanh (the condition is named). REFUTED: relu worse than at "
    f"least one of them and better than none. INCONCLUSIVE: otherwise, or fewer than "
    f"{MIN_SEEDS} seeds. Each arm's HQ share and modes covered are reported with 95 % intervals "
    "inside [0, 1] and [0, 8] (Wilson's on the effective number of samples, resp. modes: "
    "stats.accuracy_ci)."
)


def _params(layers) -> dict:
    """Stacked layers [(W, b), ...] as the trainer's parameter dict (the same tensors)."""
    return {f"{n}{i}": t for i, pair in enumerate(layers) for n, t in zip("wb", pair)}


def _real(gens, batch):
    """One batch of ring samples per generator (CPU): (len(gens), batch, 2)."""
    centers = torch.as_tensor(ring_centers(K_MODES, RADIUS), dtype=torch.float32)
    out = []
    for g in gens:
        idx = torch.randint(0, K_MODES, (batch,), generator=g)
        out.append(centers[idx] + STD * torch.randn(batch, 2, generator=g))
    return torch.stack(out)


def _latents(gens, batch):
    """One batch of latent draws per generator (CPU): (len(gens), batch, Z_DIM)."""
    return torch.stack([torch.randn(batch, Z_DIM, generator=g) for g in gens])


def _bce(logits, target: float):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target),
                                              reduction="none").mean((1, 2))


def _rows(seeds, members, draw_seeds, log, cov, samples) -> list[dict]:
    """A row per (activation, seed): final coverage, its history, divergence, shown samples."""
    shown = np.round(samples[:, :N_SHOWN].numpy().astype(float), 4)
    return [{"seed": seeds[j], "activation": a,
             **{f"{k}_seed": draw_seeds[k][j] for k in ("data", "noise", "probe")},
             "modes_covered": cov[i].modes_covered,
             "high_quality": cov[i].high_quality,
             "finite": cov[i].finite and not log.diverged[i],
             "diverged": bool(log.diverged[i]), "diverged_at": int(log.diverged_at[i]),
             "mode_counts": list(cov[i].counts),
             "history_modes": [int(e["modes"][i]) for e in log.evals],
             "history_hq": [float(e["hq"][i]) for e in log.evals],
             "samples": shown[i].tolist()}
            for i, (a, j) in enumerate(members)]


@single_threaded
def train_gans(seeds: list[int], steps: int, draw_seeds: dict, device: str = "cpu") -> dict:
    """Train one GAN per (activation, seed) as a stacked model.

    Each step is a discriminator phase then a generator phase of
    :func:`reluthe.train.train_alternating` (one Adam state each, as two ``torch.optim.Adam``);
    the generator phase reuses the step's fake batch. A member whose loss or gradients turn
    non-finite, or whose evaluation samples do, is frozen (``diverged``, ``finite`` False).
    ``draw_seeds`` holds, per model seed, the seeds of its real samples (``"data"``), training
    latents (``"noise"``) and evaluation latents (``"probe"``). Returns ``{"rows": [...],
    "run": {...}}``: a row per (activation, seed) and what was run.
    """
    members = [(a, j) for a in ACTIVATIONS for j in range(len(seeds))]
    act = MemberActivation([a for a, _ in members], ACT_PARAMS)
    gens = member_generators([seeds[j] for _, j in members])  # G's layers, then D's
    g_layers = stacked_mlp_init((Z_DIM, HIDDEN, HIDDEN, 2), gens, device=device)
    d_layers = stacked_mlp_init((2, HIDDEN, HIDDEN, 1), gens, device=device)
    data_gens, noise_gens = (member_generators(draw_seeds[k]) for k in ("data", "noise"))
    pick = torch.tensor([j for _, j in members])  # member -> its seed's data and noise
    eval_z = _latents(member_generators(draw_seeds["probe"]), N_EVAL)[pick].to(device)
    fake = {}

    def generate(z):
        return stacked_mlp(g_layers, z, act)[0]

    def discriminate(x):
        return stacked_mlp(d_layers, x, act)[0]

    def loss_d(step):
        real = _real(data_gens, BATCH)[pick].to(device)
        fake["x"] = generate(_latents(noise_gens, BATCH)[pick].to(device))
        return _bce(discriminate(real), 1.0) + _bce(discriminate(fake["x"].detach()), 0.0)

    def loss_g(step):
        return _bce(discriminate(fake.pop("x")), 1.0)

    def coverage():
        with torch.no_grad():
            samples = generate(eval_z).cpu()
        centers = ring_centers(K_MODES, RADIUS)
        return [mode_coverage(s, centers, STD, n_sigma=N_SIGMA) for s in samples], samples

    def evaluate(step):
        cov = coverage()[0]
        return {"modes": [c.modes_covered for c in cov], "hq": [c.high_quality for c in cov],
                "diverged": [not c.finite for c in cov]}

    log = train_alternating([(_params(d_layers), loss_d), (_params(g_layers), loss_g)],
                            steps=steps, lr=LR, betas=BETAS,
                            eval_every=max(1, steps // 5), evaluate=evaluate, device=device)
    cov, samples = coverage()
    return {"rows": _rows(seeds, members, draw_seeds, log, cov, samples),
            "run": {"history_steps": log.steps, "stack_time_s": log.time_s}}


def measure(ctx: Context) -> dict:
    proto = QUICK if ctx.quick else FULL
    n = proto["seeds"]
    seeds = ctx.seeds("model", n)
    draw_seeds = {"data": ctx.seeds("data", n), "noise": ctx.seeds("noise", n),
                  "probe": ctx.seeds("probe", n)}
    ctx.log(f"C20: GAN, {len(ACTIVATIONS)} activations x {n} seeds")
    out = train_gans(seeds, proto["steps"], draw_seeds, ctx.device)
    design = {"seeds": seeds, "data_seeds": draw_seeds["data"],
              "noise_seeds": draw_seeds["noise"], "probe_seeds": draw_seeds["probe"],
              "steps": proto["steps"], **out["run"], "activations": list(ACTIVATIONS),
              "activation_params": ACT_PARAMS, "modes": K_MODES, "radius": RADIUS, "std": STD,
              "n_sigma": N_SIGMA, "min_share": 1 / (4 * K_MODES), "n_eval": N_EVAL,
              "n_shown": N_SHOWN, "hidden": HIDDEN, "z_dim": Z_DIM, "batch_size": BATCH,
              "lr": LR, "betas": list(BETAS), "device": ctx.device}
    return {"design": design, "raw": out["rows"]}


def _compare(raw: list[dict], other: str) -> dict:
    effects = {metric: paired_diff(raw, metric, "activation", "relu", other)
               for metric in ("modes_covered", "high_quality")}
    above = any(e.has_ci and e.low > 0 for e in effects.values())
    below = any(e.has_ci and e.high < 0 for e in effects.values())
    return {"effects": {k: e.to_dict() for k, e in effects.items()},
            "better": bool(above and not below), "worse": bool(below and not above)}


def _modes_est(modes, k: int):
    """Modes covered (of ``k``) over seeds: the bounded interval of the share ``modes / k``,
    in modes."""
    return scaled(proportion_est(np.asarray(modes, dtype=float) / k, k), k,
                  f"share of {k} modes, in modes")


def _summary(raw: list[dict], a: str, design: dict) -> dict:
    n_seeds = len(design["seeds"])
    modes = column(raw, "modes_covered", activation=a)
    finite = column(raw, "finite", activation=a)
    return {"modes_covered": _modes_est(modes, design["modes"]).to_dict(),
            "high_quality": proportion_est(column(raw, "high_quality", activation=a),
                                           design["n_eval"]).to_dict(),
            "failed_runs": int(sum((not f) or c <= 1 for f, c in zip(finite, modes))),
            "modes_sd": float(np.std(modes, ddof=1)) if n_seeds > 1 else float("nan")}


def decide(m: dict) -> Outcome:
    design, raw = m["design"], m["raw"]
    summary = {a: _summary(raw, a, design) for a in design["activations"]}
    vs = {o: _compare(raw, o) for o in ("tanh", "leaky_relu")}
    evidence = {"summary": summary, "relu_vs": vs}
    key = "; ".join(f"{a}: {s['modes_covered']['value']:.1f}/8 modes, HQ "
                    f"{s['high_quality']['value']:.0%}, failed {s['failed_runs']}"
                    for a, s in summary.items())
    if len(design["seeds"]) < MIN_SEEDS:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       f"Fewer than {MIN_SEEDS} seeds per activation: no verdict.")
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


def _plot_samples(m: dict, figures_dir: Path) -> str:
    design = m["design"]
    acts, seeds = design["activations"], design["seeds"]
    fig, axes = new_figure(ncols=len(seeds), nrows=len(acts), size=(1.9, 1.9))
    centers = ring_centers(design["modes"], design["radius"])
    lim = design["radius"] * 1.6
    for r, a in enumerate(acts):
        for c, s in enumerate(seeds):
            ax = axes[r * len(seeds) + c]
            (row,) = [row for row in m["raw"] if row["activation"] == a and row["seed"] == s]
            pts = np.asarray(row["samples"], dtype=float).reshape(-1, 2)
            pts = pts[np.isfinite(pts).all(1)]
            ax.scatter(centers[:, 0], centers[:, 1], s=60, facecolors="none",
                       edgecolors="tab:green", lw=0.8)
            ax.scatter(np.clip(pts[:, 0], -lim, lim), np.clip(pts[:, 1], -lim, lim), s=1,
                       color="tab:red" if a == "relu" else "tab:blue", alpha=0.5)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{a} s{s}: {row['modes_covered']} modes", fontsize=7)
    return save(fig, figures_dir, "c20_gan_samples.png")


def plot(m: dict, figures_dir: Path) -> list[str]:
    names = [_plot_samples(m, figures_dir)]
    acts, raw = m["design"]["activations"], m["raw"]
    fig, axes = new_figure(ncols=2)
    k = m["design"]["modes"]
    ci_bars(axes[0], acts, [np.asarray(column(raw, "modes_covered", activation=a)) / k
                            for a in acts], scale=k, n_items=k,
            ylabel="modes covered (of 8)",
            title=f"C20 modes covered ({m['design']['steps']} steps)")
    ci_bars(axes[1], acts, [column(raw, "high_quality", activation=a) for a in acts],
            ylabel="high-quality samples (%)", title="C20 samples within 3 std of a mode",
            scale=100, n_items=m["design"]["n_eval"])
    names.append(save(fig, figures_dir, "c20_gan_quality.png"))
    return names
