"""Gradient flow at initialisation, shared by C05 and C15: one probe, one two-part rule.

Both claims say the same thing (§2.2.2 and §3.2 of the article): ReLU's derivative is 1 for
positive inputs, so (a) the gradient passes back unchanged, and (b) gradients do not vanish in
deep networks. The two parts are measured and judged separately:

* **the mechanism** (:func:`mechanism`): in every ReLU layer of real networks, the gradient
  reaching a unit's input ``∂L/∂z`` is compared, entry by entry (input × unit), with the
  gradient reaching its output ``∂L/∂a``; on active entries (``z > 0``) the article says they are
  equal, on inactive ones (``z < 0``) that ``∂L/∂z = 0``. An exact check: it holds when every
  entry does, to a relative 1e-12.
* **the consequence** (:func:`consequence`): ``log10(‖∂L/∂z_1‖ / ‖∂L/∂z_D‖)``, the gradient
  reaching the first hidden layer relative to the last, at the deepest depth measured, for each
  init (torch's default, He, Xavier), next to the saturating activations (tanh, sigmoid) on the
  same networks (same weights, same batch: paired).

Seeds are nested: data seed ``k`` (an MNIST-1D generation and a probe batch of it) goes with its
own block of model seeds, so the per-data-seed means are independent and their t interval
(``n`` = number of data seeds) respects the design. Every probe runs in float64 on the CPU.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reluthe.claims._base import Outcome, Verdict
from reluthe.claims._records import select
from reluthe.claims.gradients._common import MIN_SEEDS, VANISH_DECADES, batch, mnist1d
from reluthe.stats import Estimate, family_ci, mean_ci

INITS = ("default", "he", "xavier")
SATURATING = ("tanh", "sigmoid")
EXACT_RTOL = 1e-12
DEVICE_NOTE = ("the probe takes no device: it runs a float64 copy of each network on the CPU, "
               "so that gradients of 1e-30 do not underflow")

RULE_PARTS = (
    "Seeds: {n_data} data seeds (an MNIST-1D generation and a probe batch of {batch} training "
    "points each) × {n_model} model seeds nested in each; a cell's estimate is the mean of the "
    "per-data-seed means with a t interval over data seeds. Networks whose gradient ratio is not "
    "finite (under- or overflow) are named and excluded. INCONCLUSIVE when a cell has fewer than "
    f"{MIN_SEEDS} data seeds with {MIN_SEEDS} usable model seeds each. "
    "(a) MECHANISM (what the article states: derivative 1 for x > 0, so the gradient passes "
    "unchanged): in every relu layer of every network, each (input, unit) entry with z > 0 must "
    f"have ∂L/∂z = ∂L/∂a to a relative {EXACT_RTOL:g}, and each entry with z < 0 ∂L/∂z = 0; "
    "holds when every entry does, fails when any does not, undecided when no entry was "
    "measured. The share of entries passing zero (≈ ½ at init, the inactive units) is reported, "
    "not judged: the article's own f' is 0 there. "
    "(b) CONSEQUENCE (no vanishing gradient), judged per init (torch default, He, Xavier) at "
    "depth {depth}: s = log10(‖∂L/∂z_1‖/‖∂L/∂z_D‖) of relu. 'holds' when its 95 % CI lies above "
    f"−{VANISH_DECADES:g} (the first layer gets at least 1/10 of the last layer's gradient); "
    f"'vanishes' when the CI lies below −{VANISH_DECADES:g}, then 'reduced' if relu keeps "
    "significantly more gradient than every saturating activation measured (tanh, sigmoid: "
    "paired difference of s on the same weights and batch, Bonferroni intervals over the family "
    "of init × saturating comparisons, stats.family_ci, lying above 0) and 'fails' otherwise; "
    "'unclear' when the CI straddles −1. "
    "Verdict: INCONCLUSIVE if the mechanism is undecided, or no init is 'reduced' and not both a "
    "'holds' and a non-'holds' init are decided while some init is 'unclear'; REFUTED if relu "
    "'fails' under every init; SUPPORTED if the mechanism holds and the consequence holds under "
    "every init; PARTLY otherwise (the verdict names the inits under which the consequence holds)."
)


def rule_parts(cfg: dict, depth: int) -> str:
    """The shared part of C05's and C15's rules, filled in with the default design."""
    return RULE_PARTS.format(n_data=cfg["n_data_seeds"], n_model=cfg["n_model_seeds"],
                             batch=cfg["batch"], depth=depth)


# --- measurement ------------------------------------------------------------------------------


def flow_design(ctx, cfg: dict) -> dict:
    """The design of a flow measurement: ``cfg`` plus nested data / model / batch seeds.

    Model seeds ``k·m .. k·m + m − 1`` (``m = cfg["n_model_seeds"]``) go with data seed ``k``.
    """
    n_data, n_model = cfg["n_data_seeds"], cfg["n_model_seeds"]
    return {**cfg, "data_seeds": ctx.seeds("data", n_data),
            "model_seeds": ctx.seeds("model", n_data * n_model),
            "batch_seeds": ctx.seeds("probe", n_data), "dataset": "mnist1d", "device": "cpu",
            "device_note": DEVICE_NOTE, "exact_rtol": EXACT_RTOL,
            "nesting": "model seeds k·m .. k·m+m−1 go with data seed k (m model seeds each)"}


def probe_batches(design: dict) -> list[tuple[int, list[int], torch.Tensor, torch.Tensor]]:
    """``(data_seed, its model seeds, x, y)`` for each data seed of ``design``."""
    m = design["n_model_seeds"]
    return [(d, design["model_seeds"][k * m:(k + 1) * m],
             *batch(mnist1d(d), design["batch"], b))
            for k, (d, b) in enumerate(zip(design["data_seeds"], design["batch_seeds"]))]


def flow_rows(ctx, design: dict, sups: dict | None = None) -> list[dict]:
    """One row per (activation, init, depth, data seed, model seed); with ``sups`` (sup|f'| per
    activation) also the per-layer bounds of C15."""
    batches = probe_batches(design)
    items = [{"act": a, "init": i, "depths": design["depths"], "width": design["width"],
              "batches": batches, "sup": None if sups is None else sups[a]}
             for a in design["acts"] for i in design["inits"]]
    return [r for rows in ctx.map(_flow_unit, items) for r in rows]


def _flow_unit(item: dict) -> list[dict]:
    """All depths and seeds of one (activation, init): one probe per network."""
    from reluthe.models import mlp

    out = []
    for depth in item["depths"]:
        for data_seed, seeds, x, y in item["batches"]:
            for seed in seeds:
                widths = [x.shape[1]] + [item["width"]] * depth + [10]
                net = mlp(widths, item["act"], item["init"], seed=seed)
                row = {"seed": seed, "data_seed": data_seed, "activation": item["act"],
                       "init": item["init"], "depth": depth}
                row.update(probe(net, x, y, sup=item["sup"]))
                out.append(row)
    return out


def _forward(net: nn.Sequential, x: torch.Tensor):
    """Loss inputs, pre-activations ``z_l``, activation outputs ``a_l`` and float64 weights of an
    ``mlp``, computed from float64 copies of its parameters (``net`` itself is not touched)."""
    h, zs, acts, weights = x.double(), [], [], []
    for module in net:
        if isinstance(module, nn.Linear):
            w = module.weight.detach().double()
            b = None if module.bias is None else module.bias.detach().double()
            weights.append(w)
            h = F.linear(h, w, b)
            if not zs:  # the graph starts at the first pre-activation
                h.requires_grad_()
        else:
            zs.append(h)
            h = module(h)
            acts.append(h)
    return h, zs, acts, weights


def probe(net: nn.Sequential, x: torch.Tensor, y: torch.Tensor, sup: float | None = None) -> dict:
    """Gradient statistics of one ``mlp`` on one batch, in float64 (``net`` is untouched).

    Returns the fields of a record row: ``log10_ratio`` (first over last hidden layer's
    ``‖∂L/∂z‖``), per layer ``log10_grad`` (relative to the last), ``zero_grad_share``,
    ``log10_act_var`` and ``mean_sq_gain`` (the empirical ``E[f'(z)²]``, the local gain being
    ``(∂L/∂z)/(∂L/∂a)``), and the mechanism counts (``n_pos``, ``n_pos_unchanged``, ``n_neg``,
    ``n_neg_zero``). With ``sup`` also C15's bound fields (:func:`_bound_fields`).
    """
    out, zs, acts, weights = _forward(net, x)
    grads = torch.autograd.grad(F.cross_entropy(out, y), zs + acts)
    gz, ga = grads[:len(zs)], grads[len(zs):]
    with torch.no_grad():
        norms = np.array([float(g.norm()) for g in gz])
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(norms)
            row = {"log10_ratio": float(logs[0] - logs[-1]),
                   "log10_grad": np.round(logs - logs[-1], 4).tolist(),
                   "zero_grad_share": [round(float((g == 0).double().mean()), 5) for g in gz],
                   "log10_act_var": [round(float(np.log10(a.var().item())), 4) for a in acts]}
        row.update(_mechanism_counts(zs, gz, ga))
        if sup is not None:
            row.update(_bound_fields(gz, ga, weights, sup))
    return row


def _gains(gz: torch.Tensor, ga: torch.Tensor) -> torch.Tensor:
    """The local gain ``(∂L/∂z)/(∂L/∂a)`` of each entry (NaN where ``∂L/∂a = 0``)."""
    return torch.where(ga != 0, gz / ga, torch.full_like(gz, math.nan))


def _mechanism_counts(zs, gz, ga) -> dict:
    """Entries with z > 0 that pass ∂L/∂a unchanged, entries with z < 0 that pass 0, and the
    empirical E[f'(z)²] of each layer (over entries with ∂L/∂a ≠ 0)."""
    pos = neg = pos_same = neg_zero = 0
    for z, g, a in zip(zs, gz, ga):
        p, n = z > 0, z < 0
        pos += int(p.sum())
        neg += int(n.sum())
        pos_same += int((p & ((g - a).abs() <= EXACT_RTOL * a.abs())).sum())
        neg_zero += int((n & (g == 0)).sum())
    return {"n_pos": pos, "n_pos_unchanged": pos_same, "n_neg": neg, "n_neg_zero": neg_zero,
            "mean_sq_gain": [round(float(torch.nanmean(_gains(g, a) ** 2)), 6)
                             for g, a in zip(gz, ga)]}


def _bound_fields(gz, ga, weights: list[torch.Tensor], sup: float) -> dict:
    """C15's bounds: the activation's own factor ``f'(z) ≤ sup|f'|`` (per layer the largest local
    gain, its product over layers against ``sup^D``) and the per-input per-layer ratios
    ``‖δ_l‖/‖δ_{l+1}‖`` against ``sup|f'| · ‖W_{l+1}‖₂``."""
    max_gain = np.array([float(_gains(g, a).abs().nan_to_num(0.0).max())
                         for g, a in zip(gz, ga)])
    spec = np.array([float(torch.linalg.matrix_norm(w, ord=2)) for w in weights])
    s = np.stack([g.norm(dim=1).numpy() for g in gz])  # (D, n): per-input norms
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = s[:-1] / s[1:]  # layer l from layer l+1
        bound = sup * spec[1:-1]  # W_{l+1} for l = 1 .. D-1
        excess = ratio / bound[:, None]
        per_input = np.log10(s[0]) - np.log10(s[-1])
    ok = np.isfinite(excess)
    per_input = per_input[np.isfinite(per_input)]

    def nan_or(f, a):
        return float(f(a)) if a.size else math.nan

    return {"max_gain_over_sup": float(max_gain.max() / sup),
            "log10_max_gain_product": float(np.sum(np.log10(max_gain))),
            "log10_sup_product": float(len(max_gain) * math.log10(sup)),
            "max_ratio_over_bound": nan_or(np.max, excess[ok]), "n_checked": int(ok.sum()),
            "median_layer_ratio": nan_or(np.median, ratio[ok]),
            "layer_bound": bound.tolist(),
            "log10_bound_product": float(np.sum(np.log10(bound))),
            "median_log10_input_ratio": nan_or(np.median, per_input),
            "contracting_layers": float(np.mean(bound < 1.0))}


# --- estimates --------------------------------------------------------------------------------


def excluded(raw: list[dict]) -> list[dict]:
    """The networks the rule excludes: a non-finite gradient ratio (named in the evidence)."""
    return [{k: r[k] for k in ("activation", "init", "depth", "data_seed", "seed")}
            for r in raw if not math.isfinite(r["log10_ratio"])]


def _usable(raw: list[dict], **cell) -> list[dict]:
    return [r for r in select(raw, **cell) if math.isfinite(r["log10_ratio"])]


def _cluster_means(rows: list[dict]) -> list[float]:
    """The mean ``log10_ratio`` over the model seeds of each data seed, in data-seed order."""
    by = {}
    for r in rows:
        by.setdefault(r["data_seed"], []).append(r["log10_ratio"])
    return [float(np.mean(v)) for _, v in sorted(by.items())]


def cell_est(raw: list[dict], activation: str, init: str, depth: int,
             confidence: float = 0.95) -> Estimate:
    """log10(first / last gradient) of one cell: mean of per-data-seed means, t over them."""
    means = _cluster_means(_usable(raw, activation=activation, init=init, depth=depth))
    if not means:
        return Estimate(math.nan, None, None, 0, confidence)
    return mean_ci(means, confidence)


def _paired_diff(raw: list[dict], a: str, b: str, init: str, depth: int,
                 confidence: float) -> Estimate:
    """s(a) − s(b) on the same networks (data seed, model seed), t over data-seed means."""
    other = {(r["data_seed"], r["seed"]): r["log10_ratio"]
             for r in _usable(raw, activation=b, init=init, depth=depth)}
    rows = [dict(r, log10_ratio=r["log10_ratio"] - other[(r["data_seed"], r["seed"])])
            for r in _usable(raw, activation=a, init=init, depth=depth)
            if (r["data_seed"], r["seed"]) in other]
    means = _cluster_means(rows)
    e = mean_ci(means, confidence) if means else Estimate(math.nan, None, None, 0, confidence)
    return dataclasses.replace(e, method="paired by network, t over data seeds")


def too_few_seeds(raw: list[dict], design: dict) -> bool:
    """True when some (activation, init, depth) cell has fewer than MIN_SEEDS data seeds that
    each have MIN_SEEDS usable model seeds."""
    def short(rows):
        per = {}
        for r in rows:
            per[r["data_seed"]] = per.get(r["data_seed"], 0) + 1
        return sum(n >= MIN_SEEDS for n in per.values()) < MIN_SEEDS
    return any(short(_usable(raw, activation=a, init=i, depth=d))
               for a in design["acts"] for i in design["inits"] for d in design["depths"])


# --- the two parts of the rule ----------------------------------------------------------------


def mechanism(raw: list[dict]) -> dict:
    """Part (a): do relu's active entries pass ∂L/∂a unchanged and its inactive ones pass 0?

    Pooled counts over every relu network, the state ("holds", "fails", "undecided"), and for
    every activation the share of z > 0 entries passing unchanged and the mean E[f'(z)²].
    """
    relu = select(raw, activation="relu")
    tot = {k: sum(r[k] for r in relu) for k in ("n_pos", "n_pos_unchanged", "n_neg",
                                                "n_neg_zero")}
    bad = [{"init": r["init"], "depth": r["depth"], "data_seed": r["data_seed"],
            "seed": r["seed"]} for r in relu
           if r["n_pos_unchanged"] < r["n_pos"] or r["n_neg_zero"] < r["n_neg"]]
    state = "undecided" if tot["n_pos"] == 0 else ("fails" if bad else "holds")
    acts = sorted({r["activation"] for r in raw})
    unchanged = {a: _share([r for r in raw if r["activation"] == a]) for a in acts}
    gain = {a: float(np.mean([np.mean(r["mean_sq_gain"]) for r in raw if r["activation"] == a]))
            for a in acts}
    return {"state": state, "relu_counts": tot, "relu_networks_failing": bad,
            "share_pos_unchanged": unchanged, "mean_sq_local_gain": gain}


def _share(rows: list[dict]) -> float:
    n = sum(r["n_pos"] for r in rows)
    return sum(r["n_pos_unchanged"] for r in rows) / n if n else math.nan


def consequence(raw: list[dict], design: dict, depth: int) -> dict:
    """Part (b) per init: relu's decay at ``depth``, its paired difference from each saturating
    activation (one Bonferroni family over init × saturating) and the init's state."""
    sat = [s for s in SATURATING if s in design["acts"]]
    pairs = [(i, s) for i in design["inits"] for s in sat]
    fam = family_ci([partial(_paired_diff, raw, "relu", s, i, depth) for i, s in pairs]) \
        if pairs else []
    diffs = {f"{i}/{s}": e for (i, s), e in zip(pairs, fam)}
    out = {}
    for i in design["inits"]:
        e = cell_est(raw, "relu", i, depth)
        vs = {s: diffs[f"{i}/{s}"] for s in sat}
        out[i] = {"relu_log10_ratio": e.to_dict(), "state": _init_state(e, vs),
                  "relu_minus": {s: v.to_dict() for s, v in vs.items()},
                  "saturating_log10_ratio": {s: cell_est(raw, s, i, depth).to_dict()
                                             for s in sat}}
    return out


def _init_state(e: Estimate, vs: dict[str, Estimate]) -> str:
    if not e.has_ci:
        return "unclear"
    if e.low >= -VANISH_DECADES:
        return "holds"
    if e.high < -VANISH_DECADES:
        better = bool(vs) and all(v.has_ci and v.low > 0 for v in vs.values())
        return "reduced" if better else "fails"
    return "unclear"


def verdict_of(mech: str, states: dict[str, str]):
    """The verdict of the two parts (see ``RULE_PARTS``) and the inits under which (b) holds."""
    holds = [i for i, s in states.items() if s == "holds"]
    short = [i for i, s in states.items() if s in ("fails", "reduced")]
    reduced = [i for i, s in states.items() if s == "reduced"]
    unclear = [i for i, s in states.items() if s == "unclear"]
    if mech == "undecided" or (unclear and not reduced and not (holds and short)):
        return Verdict.INCONCLUSIVE, holds
    if len(short) == len(states) and not reduced:
        return Verdict.REFUTED, holds
    if mech == "holds" and len(holds) == len(states):
        return Verdict.SUPPORTED, holds
    return Verdict.PARTLY, holds


def flow_outcome(verdict: Verdict, key: str, ev: dict, raw: list[dict], design: dict,
                 text) -> Outcome:
    """C05's and C15's outcome: inconclusive below the seed floor (:func:`too_few_seeds`),
    else ``verdict`` with ``text()`` and, when inconclusive, why (the mechanism not measured,
    or an unclear init)."""
    if too_few_seeds(raw, design):
        return Outcome(Verdict.INCONCLUSIVE, key, ev,
                       f"Fewer than {MIN_SEEDS} data seeds with {MIN_SEEDS} usable model seeds "
                       "in some cell: no verdict.")
    text = text()
    if verdict == Verdict.INCONCLUSIVE:
        text += (" No verdict: " + ("the mechanism was not measured." if
                                    ev["mechanism"]["state"] == "undecided" else
                                    "an init is unclear and the decided ones do not settle "
                                    "the consequence; more seeds would."))
    return Outcome(verdict, key, ev, text)


def consequence_text(cons: dict, depth: int) -> str:
    """One clause per init: relu's decay, its state, and relu minus each saturating one."""
    parts = []
    for i, c in cons.items():
        e, vs = c["relu_log10_ratio"], c["relu_minus"]
        diffs = ", ".join(f"{d['value']:+.1f} decades vs {s}" for s, d in vs.items())
        not_less = [s for s, d in vs.items() if not (d["low"] is not None and d["low"] > 0)]
        state = {"holds": "does not vanish", "unclear": "unclear",
                 "reduced": "vanishes, but less than every saturating activation",
                 "fails": "vanishes" + (f", and not less than {' or '.join(not_less)}"
                                        if not_less else "")}[c["state"]]
        parts.append(f"{i}: 10^{e['value']:.1f} ({state}" + (f"; relu {diffs}" if diffs else "")
                     + ")")
    return (f"At depth {depth} the first hidden layer receives, relative to the last, "
            + "; ".join(parts) + ".")


def mechanism_text(mech: dict) -> str:
    """What part (a) found, in words."""
    c = mech["relu_counts"]
    share = mech["share_pos_unchanged"]
    others = ", ".join(f"{a} {100 * v:.0f}%" for a, v in share.items() if a != "relu")
    zero = c["n_neg"] / max(c["n_pos"] + c["n_neg"], 1)
    if mech["state"] == "holds":
        head = (f"Mechanism holds: all {c['n_pos']:,} relu entries with z > 0 pass ∂L/∂a "
                f"unchanged and all {c['n_neg']:,} with z < 0 pass 0")
    elif mech["state"] == "fails":
        head = (f"Mechanism fails: {c['n_pos'] - c['n_pos_unchanged']:,} of {c['n_pos']:,} "
                f"active entries and {c['n_neg'] - c['n_neg_zero']:,} of {c['n_neg']:,} "
                f"inactive ones do not pass as stated, in {len(mech['relu_networks_failing'])} "
                "networks")
    else:
        return "Mechanism undecided: no relu entry with z > 0 was measured."
    return (head + f" (so the gradient passes fully only on the active {100 * (1 - zero):.0f}% "
            "of entries" + (f"; entries with z > 0 passing unchanged: {others}" if others else "")
            + ").")
