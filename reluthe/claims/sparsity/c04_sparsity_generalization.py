"""C04: does sparse activation improve generalization?

The article: ReLU's sparse activation "improves generalization". Generalization is read as the
train–test accuracy gap at matched fit (first evaluation with train accuracy >= the family's
fit target) and as accuracy on out-of-distribution variants of the test digits (mnist1d), not
test accuracy alone. Sparsity is the exact-zero fraction of hidden outputs on test inputs, mean
over layers, at the best-validation weights. Every arm comes from the family's arm runner
(:mod:`reluthe.claims.sparsity._arms`: learning rate chosen on validation, 3 data seeds × 3 model
seeds); the plain relu and leaky_relu arms are the ones C03/C08/C11 train anyway.

Three kinds of evidence:

* **association** over the grid of mnist1d arms (relu plain, with an L1 or L2 activity penalty,
  leaky_relu plain and with L1; bias shifts, more strengths and elu under ``--full``): Spearman ρ
  of sparsity against the matched-fit gap and against OOD accuracy, cells = (arm, data seed,
  model seed), cluster bootstrap over the (data seed, model seed) units that all arms share;
* **separation** of sparsity from regularisation: the L1 penalty regularises every activation
  but makes exact zeros only under relu (on leaky_relu / elu it shrinks activations without
  zeros), so the difference-in-differences "L1 effect on relu minus L1 effect on leaky_relu"
  (paired by unit) is the part of the L1 effect that exact zeros could explain;
* **controls**: nets trained on shuffled labels until they fit them (Zhang et al. 2017 reach
  ~100 % train accuracy), their sparsity against the true-label relu nets; and the competing
  explanation of Novak et al. (2018), the input–output Jacobian norm, as ρ(Jacobian, gap) on the
  same grid, with the difference |ρ(Jacobian, gap)| − |ρ(sparsity, gap)|.

Raw rows: part "grid" (one per arm × data seed × model seed, the fields of ``_arms.rows`` plus
``arm``) and part "shuffled" (one per shuffled-label net).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import scipy.stats as st
import torch

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Settings, Verdict
from reluthe.claims.sparsity import _arms
from reluthe.claims.sparsity._common import fmt_est, inconclusive, pp
from reluthe.claims.sparsity._plot import new_figure, save
from reluthe.claims.sparsity._protocol import MIN_SEEDS
from reluthe.probes.sparsity import stacked_sparsity
from reluthe.stats import (
    Estimate,
    cluster_bootstrap_ci,
    compare,
    family_ci,
    paired_diff_ci,
    spearman_cluster_ci,
)
from reluthe.train import Recipe, train_mlps

L1, L2 = 0.3, 0.3  # activity-penalty strengths of the default run
NO_ZEROS = ("leaky_relu", "elu")  # activations L1 regularises without making exact zeros
MARGIN = 0.01  # practical margin of a difference-in-differences (accuracy, 1 pp)
NULL = 0.3  # |ρ| below this counts as no association
SHUFFLE_LRS = (3e-3, 1e-2)  # the shuffled-label control's grid, chosen on train fit
SHUFFLE_STEPS = 2  # the control trains this many times the setting's steps

RULE = (
    f"Generalization = train–test gap at matched fit (first evaluation with train accuracy >= "
    f"the fit target 0.95) and mean accuracy on the out-of-distribution (OOD) mnist1d test "
    f"variants; sparsity = exact-zero fraction of hidden outputs on test inputs at the "
    f"best-validation weights. Arms (learning rate chosen per arm on validation, >= {MIN_SEEDS} "
    f"data seeds × {MIN_SEEDS} model seeds): relu plain, with L1 ({L1:g}) or L2 ({L2:g}) "
    f"activity penalty, leaky_relu plain and with L1 (more strengths, bias shifts, elu and "
    f"mnist5k under --full). Exclusion, fixed beforehand (revised after the first full run, "
    f"see empirical/c04.md): an arm where more than half of the nets diverged or never "
    f"reached the fit target is excluded as a whole and named; then a (data seed, model seed) "
    f"unit whose net failed in any kept arm of its dataset is dropped from all its arms and "
    f"named; fewer than {MIN_SEEDS} data seeds, {MIN_SEEDS} model "
    f"seeds or {MIN_SEEDS} usable units on mnist1d -> inconclusive. One family, Bonferroni "
    f"intervals (Holm p): "
    f"(A) association over the mnist1d grid, Spearman ρ with a cluster bootstrap over units: "
    f"ρ(sparsity, gap) 'for' if below 0, ρ(sparsity, OOD) 'for' if above 0, 'against' if the "
    f"opposite side, 'null' if inside ±{NULL}; (B) separation: difference-in-differences "
    f"(L1 effect on relu minus L1 effect on leaky_relu or elu, paired by unit) on the gap "
    f"('for' if below -{MARGIN:.0%}, 'against' if above +{MARGIN:.0%}, 'null' if inside "
    f"±{MARGIN:.0%}) and on OOD accuracy (signs reversed); (C) shuffled-label control, trained "
    f"until it fits (train accuracy >= 0.95 on >= {MIN_SEEDS} nets, else 'not fitted'): its "
    f"sparsity minus the true-label relu nets', paired by unit, 'sparser' if above 0; (D) "
    f"|ρ(Jacobian norm, gap)| − |ρ(sparsity, gap)| over the same grid, 'Jacobian better' if "
    f"above 0. Supported: some (A) 'for' and none 'against', some (B) 'for' and none "
    f"'against', (C) fitted and not sparser, (D) not 'Jacobian better'. Refuted: no (A) or (B) "
    f"'for', and some 'against' or every (B) 'null'. Partly: some (A) or (B) 'for' but a "
    f"condition of supported fails (named). Inconclusive: too few seeds, or nothing else "
    f"applies."
)


# --- the arms -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ArmSpec:
    """One arm of the grid: dataset, activation, its parameters and recipe changes."""

    dataset: str
    activation: str
    params: tuple = ()
    changes: tuple = ()

    @property
    def label(self) -> str:
        """The arm in words, e.g. ``relu + L1 activity 0.3``."""
        name = self.activation + "".join(f" {k}={v:g}" for k, v in self.params)
        words = {"l1_activity": "L1 activity", "l2_activity": "L2 activity",
                 "bias_shift": "bias shift"}
        return name + "".join(f" + {words[k]} {v:g}" for k, v in self.changes)

    def train(self, ctx: Context) -> _arms.Arm:
        return _arms.arm(ctx, self.dataset, self.activation, dict(self.params) or None,
                         **dict(self.changes))


def arm_specs(ctx: Context) -> list[ArmSpec]:
    """The grid: the default run's five mnist1d arms; ``--full`` adds strengths, bias shifts,
    a larger leak, elu, and a reduced sweep on mnist5k."""
    def four(name: str, other: str = "leaky_relu", params: tuple = (), l1: float = L1):
        return [ArmSpec(name, "relu"), ArmSpec(name, "relu", (), (("l1_activity", l1),)),
                ArmSpec(name, other, params), ArmSpec(name, other, params, (("l1_activity", l1),))]
    specs = [*four("mnist1d"), ArmSpec("mnist1d", "relu", (), (("l2_activity", L2),))]
    if not ctx.full:
        return specs
    specs += [ArmSpec("mnist1d", "relu", (), ((k, v),)) for k, v in
              (("l1_activity", 1.0), ("l2_activity", 1.0), ("bias_shift", -0.3),
               ("bias_shift", 0.3))]
    specs += four("mnist1d", "elu")[2:] + four("mnist1d", "leaky_relu", (("alpha", 0.1),))[2:]
    return _unique(specs + four("mnist5k"))


def _unique(specs: list[ArmSpec]) -> list[ArmSpec]:
    return list(dict.fromkeys(specs))


def did_pairs(specs: list[ArmSpec]) -> list[dict]:
    """Every (relu plain, relu + L1, other plain, other + L1) quadruple of the grid, ``other`` an
    activation without exact zeros, with the same dataset and L1 strength."""
    have = {(s.dataset, s.activation, s.params, s.changes): s.label for s in specs}
    out = []
    for s in specs:
        if s.activation not in NO_ZEROS or len(s.changes) != 1 or s.changes[0][0] != "l1_activity":
            continue
        keys = [(s.dataset, "relu", (), ()), (s.dataset, "relu", (), s.changes),
                (s.dataset, s.activation, s.params, ())]
        if all(k in have for k in keys):
            out.append({"dataset": s.dataset, "other": s.activation,
                        "l1_activity": s.changes[0][1],
                        "arms": [have[k] for k in keys] + [s.label]})
    return out


# --- the shuffled-label control -------------------------------------------------------------


def shuffle_seeds(ctx: Context) -> list[int]:
    """One label permutation per data seed (the run's "noise" stream)."""
    return ctx.seeds("noise", len(_arms.data_seeds(ctx)))


def shuffled_dataset(ds, seed: int):
    """``ds`` with its training labels randomly permuted (seeded); validation and test kept."""
    perm = torch.randperm(len(ds.y_train), generator=torch.Generator().manual_seed(seed))
    return dataclasses.replace(ds, y_train=ds.y_train[perm].clone())


def shuffle_recipe(quick: bool, lr: float) -> Recipe:
    s = _arms.setting(quick, "mnist1d")
    return Recipe(lr=lr, steps=SHUFFLE_STEPS * s.steps, eval_every=s.eval_every)


@functools.cache
def _shuffled(settings_: Settings) -> tuple[float, list[float], list[dict]]:
    """Train the control: the grid on the first data seed, its learning rate chosen by the mean
    final train accuracy (the control's only aim is to fit), the other data seeds at that rate.
    Returns the chosen lr, each lr's mean train accuracy and one row per net."""
    ctx = Context(settings_)
    seeds, out, chosen, scores = _arms.model_seeds(ctx), [], None, []
    for d, perm_seed in zip(_arms.data_seeds(ctx), shuffle_seeds(ctx)):
        ds = shuffled_dataset(_arms.dataset(ctx, "mnist1d", d), perm_seed)
        widths = [ds.input_dim, *_arms.hidden(ctx.quick), ds.n_classes]
        lrs = SHUFFLE_LRS if chosen is None else (chosen,)
        res = train_mlps(ds, widths, seeds=seeds, recipes=[shuffle_recipe(ctx.quick, lr)
                                                           for lr in lrs], device=ctx.device)
        if chosen is None:
            scores = res.train_acc[:, -1].reshape(len(lrs), len(seeds)).mean(1).tolist()
            chosen = lrs[int(np.argmax(scores))]
        k0 = lrs.index(chosen) * len(seeds)
        members = res.select(list(range(k0, k0 + len(seeds))))
        out += _shuffled_rows(ctx, members, d, perm_seed, chosen)
    return chosen, scores, out


def _shuffled_rows(ctx: Context, res, data_seed: int, perm_seed: int, lr: float) -> list[dict]:
    x = _arms.dataset(ctx, "mnist1d", data_seed).x_test[:_arms.N_PROBE_POINTS]
    sp = stacked_sparsity(res.weights, x, "relu")
    fit = res.at_matched_fit(_arms.FIT_TARGET)
    return [{"part": "shuffled", "dataset": "mnist1d", "data_seed": int(data_seed),
             "seed": int(s), "shuffle_seed": int(perm_seed), "lr": lr,
             "diverged": not bool(np.isfinite(res.train_loss[k, -1])),
             "train_acc": float(res.train_acc[k, -1]), "test_acc": float(res.test_acc[k, -1]),
             "zero_fraction": float(sp["zero_fraction"][k].mean()),
             "zero_fraction_layers": sp["zero_fraction"][k].tolist(),
             "fit_reached": bool(res.train_acc[k, -1] >= _arms.FIT_TARGET),
             "fit_step": int(fit.step[k]) if fit.reached[k] else None}
            for k, s in enumerate(res.seeds)]


# --- measure --------------------------------------------------------------------------------


@single_threaded
def measure(ctx: Context) -> dict:
    specs, raw, arms = arm_specs(ctx), [], []
    for spec in specs:
        ctx.log(f"C04: arm {spec.dataset} {spec.label}")
        a = spec.train(ctx)
        arms.append({"label": spec.label, **a.describe()})
        raw += [{"part": "grid", "arm": spec.label, **r} for r in _arms.rows(ctx, a)]
    ctx.log("C04: shuffled-label control")
    lr, scores, rows = _shuffled(ctx.settings)
    raw += rows
    design = {**_arms.design(ctx, tuple(dict.fromkeys(s.dataset for s in specs))),
              "bootstrap_seed": ctx.seeds("bootstrap", 1)[0], "arms": arms,
              "did": did_pairs(specs),
              "shuffled": {"lrs": list(SHUFFLE_LRS), "lr": lr, "mean_train_acc": scores,
                           "steps": shuffle_recipe(ctx.quick, lr).steps,
                           "shuffle_seeds": shuffle_seeds(ctx)},
              "constants": {"l1": L1, "l2": L2, "margin": MARGIN, "null": NULL}}
    return {"design": design, "raw": raw}


# --- decide ---------------------------------------------------------------------------------


def _unit(r: dict) -> tuple[int, int]:
    return int(r["data_seed"]), int(r["seed"])


def _failed(r: dict) -> bool:
    return bool(r["diverged"]) or not r["fit_reached"] or r["fit_gap"] is None


def usable_units(raw: list[dict], dataset: str) -> tuple[list[tuple], list[str]]:
    """The units of ``dataset`` usable in every kept arm, and the exclusions named.

    An arm where more than half of the nets failed (diverged or never reached the fit target)
    is excluded as a whole (it cannot be read at matched fit); then a unit with a failed net in
    any kept arm is dropped from every arm.
    """
    grid = [r for r in raw if r["part"] == "grid" and r["dataset"] == dataset]
    arms: dict[str, list[dict]] = {}
    for r in grid:
        arms.setdefault(r["arm"], []).append(r)
    gone = {a: sum(map(_failed, rs)) for a, rs in arms.items() if 2 * sum(map(_failed, rs))
            > len(rs)}
    names = [f"{a}: {k}/{len(arms[a])} nets diverged or missed the fit target (arm excluded)"
             for a, k in gone.items()]
    bad = [r for r in grid if r["arm"] not in gone and _failed(r)]
    units = sorted({_unit(r) for r in grid if r["arm"] not in gone} - {_unit(r) for r in bad})
    names += [f"{r['arm']} (data seed {r['data_seed']}, model seed {r['seed']}): "
              f"{'diverged' if r['diverged'] else 'missed the fit target'}" for r in bad]
    return units, names


def _excluded_arms(names: list[str]) -> set[str]:
    return {n.split(": ")[0] for n in names if n.endswith("(arm excluded)")}


def _ood(r: dict) -> float:
    vals = [v for k, v in r.items() if k.startswith("ood_") and v is not None]
    return float(np.mean(vals)) if vals else float("nan")


def _table(raw: list[dict], dataset: str) -> dict[str, dict[tuple, dict]]:
    """arm -> unit -> row over the usable units and kept arms of ``dataset``."""
    units, names = usable_units(raw, dataset)
    keep, drop, out = set(units), _excluded_arms(names), {}
    for r in raw:
        if r["part"] == "grid" and r["dataset"] == dataset and _unit(r) in keep \
                and r["arm"] not in drop:
            out.setdefault(r["arm"], {})[_unit(r)] = r
    return out


def _rank(a, b) -> float:
    """Spearman ρ (NaN where one side is constant)."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(st.rankdata(a), st.rankdata(b))[0, 1])


def _cells(table: dict, units: list[tuple]) -> dict[str, np.ndarray]:
    rows = [table[arm][u] for arm in table for u in units]
    code = {u: i for i, u in enumerate(units)}
    return {"sparsity": np.array([r["zero_fraction"] for r in rows], float),
            "jacobian": np.array([r["jacobian"] for r in rows], float),
            "gap": np.array([r["fit_gap"] for r in rows], float),
            "ood": np.array([_ood(r) for r in rows], float),
            "unit": np.array([code[_unit(r)] for r in rows])}


def _makers(design: dict, raw: list[dict], units: list[tuple], table: dict) -> dict:
    """Every comparison of the family as ``name -> maker(confidence) -> Estimate``."""
    seed, c, makers = design["bootstrap_seed"], _cells(table, units), {}
    rho = functools.partial(spearman_cluster_ci, clusters=c["unit"], seed=seed)
    makers["A: rho(sparsity, gap)"] = lambda q: rho(c["sparsity"], c["gap"], confidence=q)
    if np.isfinite(c["ood"]).all():
        makers["A: rho(sparsity, OOD)"] = lambda q: rho(c["sparsity"], c["ood"], confidence=q)
    for p in design["did"]:
        t = _table(raw, p["dataset"])
        if not all(a in t for a in p["arms"]):
            continue
        us = sorted(set.intersection(*(set(t[a]) for a in p["arms"])))
        for what, get in (("gap", lambda r: r["fit_gap"]), ("OOD", _ood)):
            v = np.array([[get(t[a][u]) for u in us] for a in p["arms"]], float)
            if not np.isfinite(v).all() or len(us) < 2:
                continue
            did = (v[1] - v[0]) - (v[3] - v[2])
            name = f"B: {p['dataset']} L1 {p['l1_activity']:g} on {what}, relu vs {p['other']}"
            makers[name] = functools.partial(lambda d, q: paired_diff_ci(d, np.zeros_like(d), q),
                                             did)
    sh = _shuffled_pairs(raw, table, units)
    if sh is not None:
        makers["C: shuffled minus true sparsity"] = lambda q: paired_diff_ci(*sh, q)
    makers["D: |rho(Jacobian, gap)| - |rho(sparsity, gap)|"] = lambda q: cluster_bootstrap_ci(
        lambda s, j, g: abs(_rank(j, g)) - abs(_rank(s, g)),
        [c["sparsity"], c["jacobian"], c["gap"]], c["unit"], seed=seed, confidence=q)
    return makers


def _shuffled_fitted(raw: list[dict]) -> list[dict]:
    return [r for r in raw if r["part"] == "shuffled" and not r["diverged"] and r["fit_reached"]]


def _shuffled_pairs(raw, table, units) -> tuple[np.ndarray, np.ndarray] | None:
    """Sparsity of fitted shuffled-label nets and of the true-label relu net of the same unit,
    or None with fewer than MIN_SEEDS such pairs (the control did not fit)."""
    relu = table.get("relu", {})
    sh = {_unit(r): r for r in _shuffled_fitted(raw)}
    us = [u for u in units if u in sh and u in relu]
    if len(us) < MIN_SEEDS:
        return None
    return (np.array([sh[u]["zero_fraction"] for u in us]),
            np.array([relu[u]["zero_fraction"] for u in us]))


def classify(name: str, e: Estimate) -> str:
    """'for', 'against', 'null' or 'unclear' for association and separation; 'sparser' /
    'not sparser' for the control; 'Jacobian better' / 'not better' for the competitor."""
    if name.startswith("C"):
        return "sparser" if e.has_ci and e.low > 0 else "not sparser"
    if name.startswith("D"):
        return "Jacobian better" if e.has_ci and e.low > 0 else "not better"
    sign = -1 if "gap" in name else 1  # a smaller gap, a larger OOD accuracy is better
    if name.startswith("A"):
        if not e.has_ci:
            return "unclear"
        lo, hi = sorted((sign * e.low, sign * e.high))
        if lo > 0:
            return "for"
        if hi < 0:
            return "against"
        return "null" if -NULL <= e.low and e.high <= NULL else "unclear"
    res = compare(e, MARGIN)
    return {"tie": "null", "unclear": "unclear"}.get(
        res, "for" if (res == "greater") == (sign > 0) else "against")


def _verdict(classes: dict[str, str], fitted: bool) -> tuple[Verdict, list[str]]:
    """The verdict of the rule and, for partly, the conditions that fail."""
    a = [v for k, v in classes.items() if k.startswith("A")]
    b = [v for k, v in classes.items() if k.startswith("B")]
    fails = []
    if "for" not in a or "against" in a:
        fails.append("the association over the grid is not 'for' (or is 'against' somewhere)")
    if "for" not in b or "against" in b:
        fails.append("the L1 effect is not larger on relu than without exact zeros "
                     "(or smaller somewhere)")
    if not fitted:
        fails.append("the shuffled-label control did not fit its labels")
    elif "sparser" in classes.values():
        fails.append("nets memorising shuffled labels are sparser than true-label nets")
    if "Jacobian better" in classes.values():
        fails.append("the Jacobian norm tracks the gap better than sparsity")
    if not fails:
        return Verdict.SUPPORTED, []
    if "for" not in a + b:
        if "against" in a + b or (b and all(v == "null" for v in b)):
            return Verdict.REFUTED, fails
        return Verdict.INCONCLUSIVE, fails
    return Verdict.PARTLY, fails


def decide(measured: dict) -> Outcome:
    design, raw = measured["design"], measured["raw"]
    units, excluded = usable_units(raw, "mnist1d")
    n_data, n_model = len({d for d, _ in units}), len({m for _, m in units})
    if min(n_data, n_model, len(units)) < MIN_SEEDS:
        return inconclusive(f"{n_data} data seed(s), {n_model} model seed(s) and {len(units)} "
                            f"usable (data seed, model seed) units on mnist1d; the rule needs "
                            f">= {MIN_SEEDS} of each", {"excluded": excluded})
    table = _table(raw, "mnist1d")
    if len(table) < 2:
        return inconclusive(f"{len(table)} arm(s) on mnist1d left after the exclusions; the "
                            f"grid needs >= 2", {"excluded": excluded})
    makers = _makers(design, raw, units, table)
    ests = dict(zip(makers, family_ci(list(makers.values()))))
    classes = {k: classify(k, e) for k, e in ests.items()}
    fitted = _shuffled_pairs(raw, table, units) is not None
    verdict, fails = _verdict(classes, fitted)
    evidence = _evidence(design, raw, units, excluded, table, ests, classes)
    evidence["reported"] = _reported(design, table, units)
    key = _key(ests, classes, evidence)
    head = {Verdict.SUPPORTED: "Sparser ReLU nets generalize better, beyond regularisation. ",
            Verdict.REFUTED: "Sparsity does not improve generalization here: ",
            Verdict.PARTLY: "Sparsity goes with better generalization only in part: ",
            Verdict.INCONCLUSIVE: "The evidence points neither way: "}[verdict]
    text = head + ("; ".join(fails) + ". " if fails else "") + _detail(ests, classes, evidence)
    return Outcome(verdict, key, evidence, text)


def _evidence(design, raw, units, excluded, table, ests, classes) -> dict:
    sh = [r for r in raw if r["part"] == "shuffled"]
    arms = {arm: {k: float(np.mean([f(r) for r in rows.values()])) for k, f in
                  (("sparsity", lambda r: r["zero_fraction"]), ("fit_gap", lambda r: r["fit_gap"]),
                   ("ood", _ood), ("jacobian", lambda r: r["jacobian"]),
                   ("test_acc", lambda r: r["test_acc"]))}
            for arm, rows in table.items()}
    return {"usable_units": [list(u) for u in units], "excluded": excluded,
            "comparisons": {k: {"estimate": e.to_dict(), "class": classes[k]}
                            for k, e in ests.items()},
            "arm_means": arms,
            "shuffled": {"n": len(sh), "n_fitted": len(_shuffled_fitted(raw)),
                         "lr": design["shuffled"]["lr"], "steps": design["shuffled"]["steps"],
                         "train_acc": [r["train_acc"] for r in sh],
                         "test_acc_mean": float(np.mean([r["test_acc"] for r in sh])) if sh
                         else None,
                         "zero_fraction_mean": float(np.mean([r["zero_fraction"] for r in sh]))
                         if sh else None,
                         "anchor": "Zhang et al. (2017) fit random CIFAR-10 labels to ~100 %"},
            "jacobian_anchor": "Novak et al. (2018): the input–output Jacobian norm at test "
                               "points correlates with the generalization gap"}


def _reported(design: dict, table: dict, units: list[tuple]) -> dict:
    """Outside the family, at 95 %: ρ(Jacobian norm, gap) over the grid (Novak et al. 2018)."""
    c = _cells(table, units)
    return {"rho(Jacobian, gap)": spearman_cluster_ci(
        c["jacobian"], c["gap"], c["unit"], seed=design["bootstrap_seed"]).to_dict()}


def _get(ests: dict, prefix: str) -> Estimate | None:
    return next((e for k, e in ests.items() if k.startswith(prefix)), None)


def _f(e: Estimate | None, scale: float = 1.0, unit: str = "") -> str:
    return "n/a" if e is None else fmt_est(e, scale, 2 if scale == 1.0 else 1, unit)


def _key(ests: dict, classes: dict, evidence: dict) -> str:
    did = _get(ests, "B: mnist1d L1")
    sh = _get(ests, "C")
    return (f"ρ(sparsity, gap at matched fit) {_f(_get(ests, 'A: rho(sparsity, gap)'))}, "
            f"ρ(sparsity, OOD) {_f(_get(ests, 'A: rho(sparsity, OOD)'))}; L1 on relu minus on "
            f"leaky_relu, gap {_f(did, 100, ' pp')}; ρ(Jacobian, gap) "
            f"{_f(Estimate(**evidence['reported']['rho(Jacobian, gap)']))}; sparsity of nets "
            f"fitting shuffled labels minus true labels {'n/a' if sh is None else pp(sh)} "
            f"({evidence['shuffled']['n_fitted']}/{evidence['shuffled']['n']} fitted)")


def _detail(ests: dict, classes: dict, evidence: dict) -> str:
    parts = [f"{k[3:]}: {_f(e, 100, ' pp') if k.startswith(('B', 'C')) else _f(e)} "
             f"({classes[k]})" for k, e in ests.items()]
    sh = evidence["shuffled"]
    acc = sh["train_acc"]
    fit = (f"The shuffled-label control reached {min(acc):.0%}–{max(acc):.0%} train accuracy "
           f"(lr {sh['lr']:g}, {sh['steps']} steps; Zhang et al. 2017: ~100 %)") if acc else \
        "No shuffled-label control"
    excl = ("; excluded: " + "; ".join(evidence["excluded"])) if evidence["excluded"] else ""
    jac = _f(Estimate(**evidence["reported"]["rho(Jacobian, gap)"]))
    return ("Family of comparisons with Bonferroni intervals: " + "; ".join(parts) + ". "
            f"Reported beside it (95 %): ρ(Jacobian norm, gap) {jac} (Novak et al. 2018 find "
            f"the Jacobian norm tracks the gap). " + fit
            + f". {len(evidence['usable_units'])} usable units{excl}.")


# --- plot -----------------------------------------------------------------------------------


def plot(measured: dict, figures_dir: Path) -> list[str]:
    raw = measured["raw"]
    table = _table(raw, "mnist1d")
    fig, axes = new_figure(11.0, 3.8, 3)
    for arm, rows in table.items():
        rs = list(rows.values())
        for ax, x in zip(axes[:2], ("zero_fraction", "jacobian")):
            ax.plot([r[x] for r in rs], [r["fit_gap"] for r in rs], "o", ms=4, alpha=0.7,
                    label=arm)
        axes[2].plot([r["zero_fraction"] for r in rs], [_ood(r) for r in rs], "o", ms=4,
                     alpha=0.7, label=arm)
    sh = _shuffled_fitted(raw)
    if sh:
        axes[0].axvline(np.mean([r["zero_fraction"] for r in sh]), color="k", ls=":",
                        label="shuffled labels (fitted), mean")
    axes[0].set_xlabel("exact-zero fraction of hidden outputs (test inputs)")
    axes[1].set_xlabel("input–output Jacobian norm (test inputs)")
    for ax in axes[:2]:
        ax.set_ylabel("train–test gap at matched fit")
    axes[2].set_xlabel("exact-zero fraction of hidden outputs (test inputs)")
    axes[2].set_ylabel("mean out-of-distribution accuracy")
    if table:
        axes[0].legend(fontsize=6)
    axes[0].set_title("MNIST-1D: sparsity vs gap, one point per net", fontsize=9)
    axes[1].set_title("competing explanation: Jacobian norm vs gap", fontsize=9)
    axes[2].set_title("sparsity vs out-of-distribution accuracy", fontsize=9)
    return [save(fig, figures_dir, "c04_sparsity_vs_generalization.png")]
