"""C20: "in GANs, ReLU helps improve the quality of generated samples" (article §5.3).

The article: GAN: ReLU … 有助于提高生成样本的质量. Measured: a small GAN (:mod:`._gan`) on the
ring of 8 Gaussians (radius 2, std 0.02; the distribution of ``reluthe.data.load(
"gaussian_mixture", k=8)``, sampled afresh at every step): generator z ~ N(0, I_8) → 32 → 32 → 2
and discriminator 2 → 32 → 32 → 1, both with the activation under test in their hidden layers:
relu, leaky_relu with slope 0.2 (DCGAN's discriminator), tanh. Non-saturating GAN loss
(Goodfellow et al. 2014), batch 128, one discriminator step per generator step.

A GAN has no validation loss that ranks runs, so instead of choosing one optimiser setting the
comparison is repeated under three Adam settings (lr 2e-3 and 1e-3 with DCGAN's betas
0.5/0.999, lr 2e-3 with torch's default betas 0.9/0.999) and the rule, fixed before the data,
judges across them. A run has a data seed (its real-sample stream) and a model seed (initial
weights, training and evaluation latents); arms with the same run share all of these, so they
are paired. The default run has 5 runs per (setting, activation), run i with data seed i and
model seed i (3 data × 3 model seeds crossed, 81 GANs, do not fit its CPU budget); ``--full``
crosses 3 data seeds with 3 model seeds and trains longer. DCGAN's lr 2e-4 is left out: at it
these GANs do not train within the budget (at 1500 steps not even lr 1e-3 does; at 3500 steps
with batch 64, lr 1e-3 reaches about 3 of 8 modes).

Evaluation (:func:`reluthe.probes.architectures.mode_coverage`) on 2000 samples per run: share
of high-quality samples (within 3σ = 0.06 of some mode) and modes covered (modes holding at
least 1/32 of all samples within 3σ). Runs that diverge (non-finite loss, gradients or samples)
are named and scored with 0 modes and 0 high-quality samples; runs with at most one mode are
counted as collapsed. One row per (setting, activation, data seed, model seed), with its coverage
history and 100 of its samples for the figure.
"""

from __future__ import annotations

import itertools
from functools import partial
from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._protocol import MIN_SEEDS, proportion_est, scaled
from reluthe.claims._records import column, select
from reluthe.claims.architectures._gan import (
    ACT_PARAMS,
    BATCH,
    HIDDEN,
    Z_DIM,
    GanMember,
    Ring,
    history,
    train_gans,
)
from reluthe.claims.architectures._plot import ci_bars, new_figure, save
from reluthe.probes.architectures import ring_centers
from reluthe.stats import family_ci, paired_diff_ci

ACTIVATIONS = ("relu", "leaky_relu", "tanh")
OTHERS = ("tanh", "leaky_relu")
METRICS = ("modes_covered", "high_quality")
SETTINGS = {  # name -> (Adam lr, betas)
    "lr 2e-3, betas 0.5/0.999": (2e-3, (0.5, 0.999)),
    "lr 1e-3, betas 0.5/0.999": (1e-3, (0.5, 0.999)),
    "lr 2e-3, betas 0.9/0.999": (2e-3, (0.9, 0.999)),
}
RING = Ring()
N_SHOWN, EVALS = 100, 5
DEFAULT = {"runs": 5, "crossed": False, "steps": 2700}
FULL = {"runs": 3, "crossed": True, "steps": 6000}
QUICK = {"runs": 2, "crossed": False, "steps": 40}
TRAINED_MODES = 4  # a setting counts if some activation covers >= 4 of 8 modes on average

RULE = (
    "GAN on 8 Gaussians (ring radius 2, std 0.02), G and D with the same hidden activation: "
    "relu, leaky_relu(0.2), tanh; under each of 3 Adam settings (lr 2e-3 betas 0.5/0.999; lr "
    "1e-3 betas 0.5/0.999; lr 2e-3 betas 0.9/0.999); 5 runs per (setting, activation) in the "
    "default run (run i: data seed i, model seed i; 2700 steps), 3 data x 3 model seeds "
    "crossed under --full (6000 steps); batch 64. Per run, on 2000 samples: share of samples "
    "within 3 std of a mode (HQ) and modes "
    "holding >= 1/32 of the samples within 3 std (modes covered); diverged runs (non-finite "
    "loss, gradients or samples) are named and scored 0 modes, HQ 0. Arms share runs (data, "
    "init, latents): paired t-CIs over runs of relu - other on both metrics, Bonferroni-level "
    "over the family of 3 settings x 2 others x 2 metrics (stats.family_ci, 95% together). A "
    f"setting counts only if it TRAINS: some activation covers >= {TRAINED_MODES} modes on "
    "average (else the budget, not the activation, failed). In a setting relu is BETTER than an "
    "activation if one metric's CI lies above 0 and neither lies below 0; WORSE if one lies "
    "below 0 and neither above. A setting SUPPORTS if relu is better than tanh and not worse "
    "than leaky_relu; PARTLY if relu is better than tanh but worse than leaky_relu, or better "
    "than leaky_relu and not better than tanh; REFUTES if relu is worse than at least one and "
    "better than none; else it is inconclusive. Across the settings that train: SUPPORTED if "
    "every one supports; PARTLY if some supports or partly supports but not all support (named); "
    "REFUTED if some refutes and none supports or partly supports; INCONCLUSIVE if all are "
    "inconclusive, no setting trains, or fewer than "
    f"{MIN_SEEDS} runs, data seeds or model seeds per arm. Each arm's HQ share and modes "
    "covered are reported per setting with 95% intervals inside [0, 1] and [0, 8] (Wilson's on "
    "the effective number of samples, resp. modes)."
)


def _runs(draws: dict, crossed: bool) -> list[tuple[int, int]]:
    """(data seed index, model seed index) of every run: all pairs, or the i-th with the i-th."""
    n_data, n_model = len(draws["data"]), len(draws["model"])
    if crossed:
        return list(itertools.product(range(n_data), range(n_model)))
    return [(i, i) for i in range(min(n_data, n_model))]


def _members(lr: float, draws: dict, crossed: bool) -> list[GanMember]:
    return [GanMember(a, lr, draws["data"][i], draws["model"][j], draws["noise"][j],
                      draws["probe"][j])
            for a, (i, j) in itertools.product(ACTIVATIONS, _runs(draws, crossed))]


def _rows(setting: str, members: list[GanMember], out: dict) -> list[dict]:
    """A row per member: final coverage (0 if diverged), its history, shown samples."""
    log, shown = out["log"], np.round(out["samples"][:, :N_SHOWN].numpy().astype(float), 4)
    rows = []
    for j, (m, c) in enumerate(zip(members, out["coverage"])):
        bad = bool(log.diverged[j]) or not c.finite
        rows.append({"seed": m.seed, "data_seed": m.data_seed, "noise_seed": m.noise,
                     "probe_seed": m.probe, "setting": setting, "activation": m.activation,
                     "lr": m.lr, "modes_covered": 0 if bad else c.modes_covered,
                     "high_quality": 0.0 if bad else c.high_quality, "diverged": bad,
                     "diverged_at": int(log.diverged_at[j]), "mode_counts": list(c.counts),
                     "history_modes": history(log, "modes", j),
                     "history_hq": history(log, "hq", j), "samples": shown[j].tolist()})
    return rows


@single_threaded
def run_setting(setting: str, steps: int, draws: dict, crossed: bool,
                device: str = "cpu") -> list[dict]:
    """Train every (activation, run) GAN of one optimiser setting."""
    lr, betas = SETTINGS[setting]
    members = _members(lr, draws, crossed)
    out = train_gans(members, RING, steps=steps, betas=betas, evals=EVALS, device=device)
    return _rows(setting, members, out)


def _unit(args):
    return run_setting(*args)


def measure(ctx: Context) -> dict:
    proto = QUICK if ctx.quick else FULL if ctx.full else DEFAULT
    n = proto["runs"]
    draws = {k: ctx.seeds(k, n) for k in ("model", "data", "noise", "probe")}
    runs = _runs(draws, proto["crossed"])
    ctx.log(f"C20: GAN, {len(SETTINGS)} settings x {len(ACTIVATIONS)} activations x "
            f"{len(runs)} runs")
    results = ctx.map(_unit, [(s, proto["steps"], draws, proto["crossed"], ctx.device)
                              for s in SETTINGS])
    design = {"seeds": draws["model"], "data_seeds": draws["data"],
              "noise_seeds": draws["noise"], "probe_seeds": draws["probe"],
              "runs": [[draws["data"][i], draws["model"][j]] for i, j in runs],
              "steps": proto["steps"], "evaluations": EVALS, "trained_modes": TRAINED_MODES,
              "settings": {k: {"lr": lr, "betas": list(b)} for k, (lr, b) in SETTINGS.items()},
              "activations": list(ACTIVATIONS), "activation_params": ACT_PARAMS,
              "modes": RING.k, "radius": RING.radius, "std": RING.std, "n_sigma": RING.n_sigma,
              "min_share": 1 / (4 * RING.k), "n_eval": RING.n_eval, "n_shown": N_SHOWN,
              "hidden": HIDDEN, "z_dim": Z_DIM, "batch_size": BATCH, "device": ctx.device}
    return {"design": design, "raw": [row for rows in results for row in rows]}


# --------------------------------------------------------------------------- decision

def _pairs(raw, setting: str, metric: str, other: str) -> tuple[list[float], list[float]]:
    """``metric`` of relu and of ``other`` in ``setting``, aligned by (data seed, model seed)."""
    def by_run(a):
        return {(r["data_seed"], r["seed"]): float(r[metric])
                for r in select(raw, setting=setting, activation=a)}
    relu, oth = by_run("relu"), by_run(other)
    runs = sorted(set(relu) & set(oth))
    return [relu[k] for k in runs], [oth[k] for k in runs]


def _effects(raw, settings) -> dict:
    """Family of paired relu - other effects, keyed (setting, other, metric)."""
    keys = list(itertools.product(settings, OTHERS, METRICS))
    makers = [partial(paired_diff_ci, *_pairs(raw, s, met, o)) for s, o, met in keys]
    return dict(zip(keys, family_ci(makers)))


def _compare(effects: dict, setting: str, other: str) -> dict:
    es = {met: effects[(setting, other, met)] for met in METRICS}
    above = any(e.has_ci and e.low > 0 for e in es.values())
    below = any(e.has_ci and e.high < 0 for e in es.values())
    return {"effects": {k: e.to_dict() for k, e in es.items()},
            "better": bool(above and not below), "worse": bool(below and not above)}


def setting_label(t: dict, lk: dict) -> str:
    """The per-setting outcome ("supports", "partly", "refutes", "inconclusive") from relu's
    comparisons with tanh (``t``) and leaky_relu (``lk``)."""
    if t["better"] and not lk["worse"]:
        return "supports"
    if (t["better"] and lk["worse"]) or (lk["better"] and not t["better"]):
        return "partly"
    if (t["worse"] or lk["worse"]) and not (t["better"] or lk["better"]):
        return "refutes"
    return "inconclusive"


def _modes_est(modes, k: int):
    """Modes covered (of ``k``) over runs: the bounded interval of the share, in modes."""
    return scaled(proportion_est(np.asarray(modes, dtype=float) / k, k), k,
                  f"share of {k} modes, in modes")


def _summary(raw: list[dict], setting: str, a: str, design: dict) -> dict:
    rows = select(raw, setting=setting, activation=a)
    modes = [r["modes_covered"] for r in rows]
    return {"modes_covered": _modes_est(modes, design["modes"]).to_dict(),
            "high_quality": proportion_est([r["high_quality"] for r in rows],
                                           design["n_eval"]).to_dict(),
            "diverged": [f"data {r['data_seed']}/model {r['seed']}" for r in rows
                         if r["diverged"]],
            "collapsed_runs": int(sum(c <= 1 for c in modes)),
            "modes_sd": float(np.std(modes, ddof=1)) if len(modes) > 1 else float("nan")}


def _key(summary: dict, labels: dict) -> str:
    parts = []
    for s, by_act in summary.items():
        arms = ", ".join(f"{a} {v['modes_covered']['value']:.1f}/8 modes HQ "
                         f"{v['high_quality']['value']:.0%} collapsed {v['collapsed_runs']}"
                         for a, v in by_act.items())
        parts.append(f"[{s}: {labels[s]}] {arms}")
    return "; ".join(parts)


def _resolved(vs_setting: dict) -> str:
    """The comparisons of one setting that the family intervals resolve, for the explanation."""
    said = [f"relu {'better' if c['better'] else 'worse'} than {o}"
            for o, c in vs_setting.items() if c["better"] or c["worse"]]
    return f" ({', '.join(said)})" if said else ""


def _too_few(design: dict) -> str | None:
    """Why the design has too few runs, data seeds or model seeds for a verdict, or None."""
    runs = design["runs"]
    counts = {"runs": len(runs), "data seeds": len({d for d, _ in runs}),
              "model seeds": len({s for _, s in runs})}
    low = {k: v for k, v in counts.items() if v < MIN_SEEDS}
    if low:
        return (", ".join(f"{v} {k}" for k, v in low.items()) + f" per arm: fewer than "
                f"{MIN_SEEDS}, no verdict.")
    return None


def _trains(summary_of_setting: dict, design: dict) -> bool:
    return max(v["modes_covered"]["value"] for v in summary_of_setting.values()) \
        >= design["trained_modes"]


def decide(m: dict) -> Outcome:
    design, raw = m["design"], m["raw"]
    settings = list(design["settings"])
    summary = {s: {a: _summary(raw, s, a, design) for a in design["activations"]}
               for s in settings}
    effects = _effects(raw, settings)
    vs = {s: {o: _compare(effects, s, o) for o in OTHERS} for s in settings}
    labels = {s: setting_label(vs[s]["tanh"], vs[s]["leaky_relu"])
              if _trains(summary[s], design) else "does not train" for s in settings}
    evidence = {"summary": summary, "relu_vs": vs, "setting_outcome": labels}
    key = _key(summary, labels)
    few = _too_few(design)
    if few:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence, few)
    named = "; ".join(f"{s}: {lab}{_resolved(vs[s])}" for s, lab in labels.items())
    counted = [lab for lab in labels.values() if lab != "does not train"]
    if not counted:
        return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                       "No optimiser setting trains these GANs within the budget (no "
                       f"activation covers {design['trained_modes']} modes on average).")
    if all(lab == "supports" for lab in counted):
        return Outcome(Verdict.SUPPORTED, key, evidence,
                       "Under every optimiser setting that trains, relu GANs cover more modes or "
                       "produce more high-quality samples than tanh GANs and are not worse than "
                       "leaky_relu(0.2) GANs: " + named + ".")
    if any(lab in ("supports", "partly") for lab in counted):
        return Outcome(Verdict.PARTLY, key, evidence,
                       "relu's advantage depends on the optimiser setting: " + named + ".")
    if "refutes" in counted:
        return Outcome(Verdict.REFUTED, key, evidence,
                       "In no setting is relu better; in some it is worse: " + named + ".")
    return Outcome(Verdict.INCONCLUSIVE, key, evidence,
                   "Under every optimiser setting that trains, the family intervals of relu "
                   "minus tanh / leaky_relu include 0 on both quality metrics: " + named + ".")


# --------------------------------------------------------------------------- figures

def _plot_samples(m: dict, figures_dir: Path) -> str:
    design = m["design"]
    acts, settings = design["activations"], list(design["settings"])
    ds, seed = design["runs"][0]
    fig, axes = new_figure(ncols=len(acts), nrows=len(settings), size=(2.2, 2.2))
    centers = ring_centers(design["modes"], design["radius"])
    lim = design["radius"] * 1.6
    for r, s in enumerate(settings):
        for c, a in enumerate(acts):
            ax = axes[r * len(acts) + c]
            (row,) = select(m["raw"], setting=s, activation=a, data_seed=ds, seed=seed)
            pts = np.asarray(row["samples"], dtype=float).reshape(-1, 2)
            pts = pts[np.isfinite(pts).all(1)]
            ax.scatter(centers[:, 0], centers[:, 1], s=60, facecolors="none",
                       edgecolors="tab:green", lw=0.8, label="true modes")
            ax.scatter(np.clip(pts[:, 0], -lim, lim), np.clip(pts[:, 1], -lim, lim), s=2,
                       color="tab:red" if a == "relu" else "tab:blue", alpha=0.6,
                       label="generated samples")
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{a}, {s}\n{row['modes_covered']} modes covered", fontsize=6)
    axes[0].legend(fontsize=5, loc="lower left")
    return save(fig, figures_dir, "c20_gan_samples.png")


def plot(m: dict, figures_dir: Path) -> list[str]:
    names = [_plot_samples(m, figures_dir)]
    design, raw = m["design"], m["raw"]
    acts, settings, k = design["activations"], list(design["settings"]), design["modes"]
    labels = [f"{a}\n{s}" for s in settings for a in acts]
    fig, axes = new_figure(ncols=2, size=(6.0, 3.4))
    ci_bars(axes[0], labels, [np.asarray(column(raw, "modes_covered", setting=s, activation=a))
                              / k for s in settings for a in acts], scale=k, n_items=k,
            ylabel="modes covered (of 8)",
            title=f"C20 modes covered ({design['steps']} steps) per optimiser setting")
    ci_bars(axes[1], labels, [column(raw, "high_quality", setting=s, activation=a)
                              for s in settings for a in acts],
            ylabel="high-quality samples (%)", title="C20 samples within 3 std of a mode",
            scale=100, n_items=design["n_eval"])
    for ax in axes:
        ax.tick_params(axis="x", labelsize=5)
    names.append(save(fig, figures_dir, "c20_gan_quality.png"))
    return names
