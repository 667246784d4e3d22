"""C08: sparse activation helps the network pick out the salient features of its input.

The article: sparse activation lets the network "learn the salient features of the input". Read
as *linear decodability*: a linear probe (ridge classifier, penalty chosen on the validation
split, :mod:`reluthe.claims.sparsity._probe_layers`) is fitted on the training split's features
of **every hidden layer** at each member's best-validation checkpoint and scored on the test
split. (The last hidden layer is what the network's own linear readout sees, so its probe mostly
restates the network's accuracy; the earlier layers say how far the features themselves carry
the label.) The raw-input probe is the floor.

Sparsity must be comparable across activations: exact zeros are ReLU's alone (up to float32
underflow), so the common measure is the *near-zero fraction*, the share of (input, unit) pairs
with ``|h| < 0.05 · RMS(h)`` of that layer (exact zeros included).

Two statistics enter the rule, both paired by (data seed, model seed) between arms that share
the data draw, init (up to a bias shift) and batch order:

* **A, sparsity moved with the activation fixed** (the causal test): ReLU with an L1 activity
  penalty (sparser) vs plain ReLU, and plain ReLU vs ReLU with its hidden biases shifted up
  (denser), on MNIST-1D (and real MNIST under ``--full``). Counted only where the near-zero
  fraction really moved.
* **B, across activations**: plain ReLU vs each activation without exact zeros, per main dataset
  and layer (as in C11, a win over a net that did not fit is not counted).

**Matched sparsity** (reported, not in the verdict): each non-sparse activation is compared
with the ReLU arm (plain, L1 or bias-shifted) whose near-zero fraction is nearest to its own, so
the gap between activations is shown with less of a sparsity difference behind it. It is not a
third statistic: its difference is B's minus the sparsity dose that A measures, so it explains
B rather than testing the claim again. The ReLU sweep is kept to two extra arms for the run's
CPU budget; a richer sweep (more L1 strengths, the real-MNIST sweep) runs under ``--full``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reluthe._threads import single_threaded
from reluthe.claims._base import Context, Outcome, Verdict
from reluthe.claims._records import select
from reluthe.claims.sparsity import _arms
from reluthe.claims.sparsity._common import fmt_est, pp
from reluthe.claims.sparsity._plot import errbar, save
from reluthe.claims.sparsity._probe_layers import (
    NEAR_ZERO_EPS,
    PROBE_ALPHAS,
    clusters,
    input_probe,
    layer_probes,
    member_key,
    near_zero_fraction,
    paired_est,
    rows_est,
)
from reluthe.claims.sparsity._protocol import FIT_GAP, MIN_SEEDS, NON_SPARSE
from reluthe.stats import Estimate, compare, family_ci

MARGIN = 0.01
L1, SHIFT = 0.3, 0.6  # the ReLU sweep: L1 activity coefficient (sparser), bias shift (denser)
RULE = (
    f"Features: every hidden layer at each member's best-validation checkpoint; quality = test "
    f"accuracy of a ridge-classifier probe fitted on the training split, its penalty chosen per "
    f"member and layer on the validation split from {list(PROBE_ALPHAS)}. Sparsity: the "
    f"near-zero fraction |h| < {NEAR_ZERO_EPS} × RMS(h) of that layer on test inputs. All "
    f"effects are mean paired differences over members (same data seed and model seed), with "
    f"percentile cluster-bootstrap intervals whose clusters are the data seeds, Bonferroni over "
    f"each family, classified with a margin of {MARGIN:.0%}. Members with a non-finite "
    f"training loss are named and excluded. Statistic A (activation fixed, sparsity moved, "
    f"MNIST-1D): probe accuracy of the sparser minus the denser ReLU arm for (L1 activity "
    f"{L1} vs plain) and (plain vs hidden biases shifted by +{SHIFT}), per layer; a pair counts "
    f"only if its near-zero fraction difference is above 0 ('not moved' otherwise); 'better' / "
    f"'worse' / 'tie' / 'unclear'. Statistic B: probe accuracy of plain ReLU minus each "
    f"activation without exact zeros ({', '.join(NON_SPARSE)}, those run), per main dataset "
    f"(MNIST-1D, real MNIST) and layer; a win or a loss between nets whose mean train "
    f"accuracies differ by more than {FIT_GAP:.0%} is 'fit differs' (whichever side is behind: "
    f"trainability, not features) and counts as neither. Supported: A has "
    f">= 1 'better' and no 'worse', and relu wins >= half of B with no loss. Refuted: A has no "
    f"'better' and relu wins no B comparison, while A has a 'worse', or relu loses >= half of "
    f"B, or every A and B comparison is decided (tie, worse or loss). Inconclusive: fewer than "
    f"{MIN_SEEDS} data seeds or {MIN_SEEDS} model seeds in a cell read, or no A comparison "
    f"decided and every B comparison unclear. Partly: anything else. Reported beside it: the "
    f"probe accuracy and near-zero fraction of every arm and layer, the raw-input probe, the "
    f"digits sanity check, and the matched-sparsity comparisons (each non-sparse activation vs "
    f"the ReLU arm nearest to it in near-zero fraction)."
)


def _sweep(ctx: Context) -> list[dict]:
    """The ReLU arms that move sparsity: ``{"dataset", "sparser", "denser"}`` change dicts."""
    out = [{"dataset": "mnist1d", "sparser": {"l1_activity": L1}, "denser": {}},
           {"dataset": "mnist1d", "sparser": {}, "denser": {"bias_shift": SHIFT}}]
    if ctx.full:
        out += [{"dataset": "mnist1d", "sparser": {"l1_activity": 1.0},
                 "denser": {"l1_activity": L1}},
                {"dataset": "mnist5k", "sparser": {"l1_activity": L1}, "denser": {}},
                {"dataset": "mnist5k", "sparser": {}, "denser": {"bias_shift": SHIFT}}]
    return out


def label(changes: dict) -> str:
    """An arm's recipe changes in words ("plain" for none)."""
    return ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in sorted(changes.items())) or "plain"


def _arm_rows(ctx: Context, a: _arms.Arm) -> list[dict]:
    """The family's rows of arm ``a`` with every layer's probe and near-zero fraction."""
    base = {member_key(r): r for r in _arms.rows(ctx, a)}
    out = []
    for data_seed, sel in zip(a.data_seeds, a.selections):
        res = sel.result
        ds = _arms.dataset(ctx, a.setting.dataset, data_seed)
        probes = layer_probes(res, ds)
        x = ds.x_test[:_arms.N_PROBE_POINTS].reshape(-1, ds.input_dim)
        near = near_zero_fraction(res.hidden(x, at="best_val"))
        for k, seed in enumerate(res.seeds):
            out.append({"part": "arm", "arm": label(a.changes), "role": a.setting.role,
                        **base[(int(data_seed), int(seed))],
                        **{name: v[k].tolist() for name, v in probes.items()},
                        "near_zero_layers": near[k].tolist()})
    return out


def _input_rows(ctx: Context, name: str) -> list[dict]:
    return [{"part": "input", "dataset": name, "data_seed": int(d), "seed": None,
             "probe_test": input_probe(_arms.dataset(ctx, name, d))}
            for d in _arms.data_seeds(ctx)]


@single_threaded
def measure(ctx: Context) -> dict:
    raw = []
    for s in _arms.settings(ctx.quick):
        raw += _input_rows(ctx, s.dataset)
        for act in _arms.activations(ctx, s.dataset):
            ctx.log(f"C08: {s.dataset} {act}")
            raw += _arm_rows(ctx, _arms.arm(ctx, s.dataset, act))
    sweep = _sweep(ctx)
    extra = {(p["dataset"], tuple(sorted(c.items()))) for p in sweep
             for c in (p["sparser"], p["denser"]) if c}
    for name, changes in sorted(extra):
        ctx.log(f"C08: {name} relu {dict(changes)}")
        raw += _arm_rows(ctx, _arms.arm(ctx, name, "relu", **dict(changes)))
    design = {**_arms.design(ctx), "bootstrap_seed": ctx.seeds("bootstrap", 1)[0],
              "main": [s.dataset for s in _arms.settings(ctx.quick) if s.role == "main"],
              "sweep": [{"dataset": p["dataset"], "sparser": label(p["sparser"]),
                         "denser": label(p["denser"])} for p in sweep],
              "probe_alphas": list(PROBE_ALPHAS), "near_zero_eps": NEAR_ZERO_EPS,
              "margin": MARGIN}
    return {"design": design, "raw": raw}


# --- decide -------------------------------------------------------------------------------------


def _arms_of(raw: list[dict]) -> tuple[dict[tuple[str, str, str], list[dict]], list[str]]:
    """(dataset, activation, arm label) -> usable rows, and the names of the diverged members."""
    out: dict = {}
    bad = []
    for r in select(raw, part="arm"):
        if r["diverged"]:
            bad.append(f"{r['dataset']}/{r['activation']}/{r['arm']} data seed "
                       f"{r['data_seed']} seed {r['seed']}")
            continue
        out.setdefault((r["dataset"], r["activation"], r["arm"]), []).append(r)
    return out, bad


def _too_few(arms: dict, keys) -> str | None:
    for key in keys:
        rows = arms.get(key, [])
        n_data, n_model = len({r["data_seed"] for r in rows}), len({r["seed"] for r in rows})
        if min(n_data, n_model) < MIN_SEEDS:
            return (f"{'/'.join(key)} has {n_data} data seed(s) × {n_model} model seed(s); "
                    f"the rule needs >= {MIN_SEEDS} of each")
    return None


def _probe(j: int):
    return lambda r: r["probe_test"][j]


def _near(j: int):
    return lambda r: r["near_zero_layers"][j]


def _n_layers(arms: dict) -> int:
    return len(next(iter(arms.values()))[0]["probe_test"])


def _statistic_a(arms: dict, sweep: list[dict], seed: int) -> list[dict]:
    """Sparser minus denser ReLU arm, per sweep pair and layer (Bonferroni over the family)."""
    jobs = [(p, j) for p in sweep for j in range(_n_layers(arms))
            if (p["dataset"], "relu", p["sparser"]) in arms
            and (p["dataset"], "relu", p["denser"]) in arms]

    def pair(p):
        return arms[(p["dataset"], "relu", p["sparser"])], arms[(p["dataset"], "relu",
                                                                  p["denser"])]
    if not jobs:
        return []
    probe = family_ci([lambda c, p=p, j=j: paired_est(*pair(p), _probe(j), seed, c)
                       for p, j in jobs])
    moved = family_ci([lambda c, p=p, j=j: paired_est(*pair(p), _near(j), seed, c)
                       for p, j in jobs])
    out = []
    for (p, j), d, s in zip(jobs, probe, moved):
        res = {"greater": "better", "less": "worse"}.get(compare(d, MARGIN), compare(d, MARGIN))
        if not (s.has_ci and s.low > 0):
            res = "not moved"
        out.append({"dataset": p["dataset"], "sparser": p["sparser"], "denser": p["denser"],
                    "layer": j + 1, "probe_diff": d.to_dict(), "near_zero_diff": s.to_dict(),
                    "result": res})
    return out


_FIT_DIFFERS = ("fit differs (other not fitted)", "fit differs (relu not fitted)")


def _statistic_b(arms: dict, main: list[str], seed: int) -> list[dict]:
    """Plain relu minus each non-sparse activation, per main dataset and layer."""
    jobs = [(name, act, j) for name in main for act in NON_SPARSE
            if (name, act, "plain") in arms and (name, "relu", "plain") in arms
            for j in range(_n_layers(arms))]
    if not jobs:
        return []
    diffs = family_ci([lambda c, n=n, a=a, j=j: paired_est(
        arms[(n, "relu", "plain")], arms[(n, a, "plain")], _probe(j), seed, c)
        for n, a, j in jobs])
    out = []
    for (name, act, j), d in zip(jobs, diffs):
        res = {"greater": "win", "less": "loss"}.get(compare(d, MARGIN), compare(d, MARGIN))
        train = [np.mean([r["train_acc"] for r in arms[(name, a, "plain")]])
                 for a in ("relu", act)]
        if res in ("win", "loss") and abs(train[1] - train[0]) > FIT_GAP:
            res = f"fit differs ({'other' if train[1] < train[0] else 'relu'} not fitted)"
        out.append({"dataset": name, "other": act, "layer": j + 1, "probe_diff": d.to_dict(),
                    "result": res})
    return out


def _matched(arms: dict, comps_b: list[dict], seed: int) -> list[dict]:
    """Each B comparison redone against the ReLU arm nearest in near-zero fraction."""
    out = []
    for c in comps_b:
        name, act, j = c["dataset"], c["other"], c["layer"] - 1
        relus = {k[2]: rows for k, rows in arms.items() if k[:2] == (name, "relu")}
        level = np.mean([_near(j)(r) for r in arms[(name, act, "plain")]])
        best = min(relus, key=lambda a: abs(np.mean([_near(j)(r) for r in relus[a]]) - level))
        out.append({"dataset": name, "other": act, "layer": j + 1, "relu_arm": best,
                    "near_zero_gap": paired_est(relus[best], arms[(name, act, "plain")],
                                                _near(j), seed).to_dict(),
                    "probe_diff": paired_est(relus[best], arms[(name, act, "plain")],
                                             _probe(j), seed).to_dict()})
    return out


def _table(arms: dict, seed: int) -> list[dict]:
    """Probe accuracy and near-zero fraction (with intervals) of every arm and layer; ReLU's
    exact zeros beside them; the network's own test accuracy (mean) for the last layer."""
    out = []
    for (name, act, arm), rows in arms.items():
        for j in range(len(rows[0]["probe_test"])):
            t = {"dataset": name, "activation": act, "arm": arm, "layer": j + 1,
                 "probe_acc": rows_est(rows, _probe(j), seed).to_dict(),
                 "near_zero_fraction": rows_est(rows, _near(j), seed).to_dict(),
                 "network_test_acc": float(np.mean([r["test_acc"] for r in rows]))}
            if act == "relu":
                t["zero_fraction"] = rows_est(rows, lambda r, j=j: r["zero_fraction_layers"][j],
                                              seed).to_dict()
            out.append(t)
    return out


def _verdict(a: list[dict], b: list[dict]) -> Verdict:
    ra, rb = [c["result"] for c in a], [c["result"] for c in b]
    better, worse = ra.count("better"), ra.count("worse")
    wins, losses = rb.count("win"), rb.count("loss")
    decided_a = [r for r in ra if r in ("better", "worse", "tie")]
    if not decided_a and all(r == "unclear" for r in rb):
        return Verdict.INCONCLUSIVE
    if better and not worse and wins >= len(rb) / 2 and not losses:
        return Verdict.SUPPORTED
    all_decided = (len(decided_a) == len(ra) and all(r in ("tie", "loss") for r in rb))
    if not better and not wins and (worse or losses >= len(rb) / 2 or all_decided):
        return Verdict.REFUTED
    return Verdict.PARTLY


def _count(comps: list[dict], *results: str) -> str:
    return ", ".join(f"{sum(c['result'] == r for c in comps)} {r}" for r in results)


def _detail(a, b, matched, table, inputs) -> str:
    def line(c):
        return (f"{c['dataset']} layer {c['layer']} ({c['sparser']} vs {c['denser']}): "
                f"near-zero {pp(c['near_zero_diff'])}, probe {pp(c['probe_diff'])}")
    relu = [t for t in table if t["activation"] == "relu" and t["arm"] == "plain"]
    probe_txt = "; ".join(f"{t['dataset']} layer {t['layer']} "
                          f"{fmt_est(t['probe_acc'], 100, 1)} % (near-zero "
                          f"{t['near_zero_fraction']['value']:.0%})" for t in relu)
    best_m = max(matched, key=lambda m: abs(m["probe_diff"]["value"]), default=None)
    return ("Sparsity moved with the activation fixed (A): " + "; ".join(map(line, a)) + ". "
            f"Plain ReLU vs the activations without exact zeros (B), per layer: "
            f"{_count(b, 'win', 'tie', 'loss', 'unclear', *_FIT_DIFFERS)}. "
            f"ReLU's probes: {probe_txt}; raw-input probe "
            + ", ".join(f"{k} {v:.1%}" for k, v in inputs.items()) + "."
            + (f" At matched sparsity the largest gap is {best_m['other']} vs ReLU "
               f"({best_m['relu_arm']}) on {best_m['dataset']} layer {best_m['layer']}: "
               f"{pp(best_m['probe_diff'])} at a near-zero gap of "
               f"{pp(best_m['near_zero_gap'])}." if best_m else ""))


def decide(measured: dict) -> Outcome:
    raw, design = measured["raw"], measured["design"]
    seed = design["bootstrap_seed"]
    arms, diverged = _arms_of(raw)
    a = _statistic_a(arms, design["sweep"], seed)
    b = _statistic_b(arms, design["main"], seed)
    if not a or not b:
        return Outcome(Verdict.INCONCLUSIVE, "inconclusive: the sweep or the activation "
                       "comparisons are missing", {"diverged": diverged},
                       "Statistic A needs both arms of a sweep pair and B plain relu and a "
                       "non-sparse activation on a main dataset.")
    matched, table = _matched(arms, b, seed), _table(arms, seed)
    inputs = {}
    for r in select(raw, part="input"):
        inputs.setdefault(r["dataset"], []).append(r["probe_test"])
    inputs = {k: float(np.mean(v)) for k, v in inputs.items()}
    evidence = {"sparsity_moved": a, "relu_vs_non_sparse": b, "matched_sparsity": matched,
                "arms": table, "input_probe_acc": inputs, "diverged": diverged}
    key = (f"A (sparser − denser ReLU, probe acc): {_count(a, 'better', 'tie', 'worse')}, "
           f"{_count(a, 'unclear', 'not moved')}; B (ReLU − non-sparse): "
           f"{_count(b, 'win', 'tie', 'loss')}, {_count(b, 'unclear')}")
    detail = _detail(a, b, matched, table, inputs)
    if diverged:
        detail += f" Excluded as diverged: {', '.join(diverged)}."
    read = {(c["dataset"], "relu", c[s]) for c in a for s in ("sparser", "denser")}
    read |= {(c["dataset"], x, "plain") for c in b for x in ("relu", c["other"])}
    few = _too_few(arms, sorted(read))
    if few is not None:
        return Outcome(Verdict.INCONCLUSIVE, "inconclusive: " + few.split(";")[0], evidence,
                       few + ". " + detail)
    verdict = _verdict(a, b)
    return Outcome(verdict, key, evidence, _lead(verdict, a, b) + detail)


def _lead(verdict: Verdict, a: list[dict], b: list[dict]) -> str:
    """The verdict's reason in words: which comparisons held and which did not."""
    if verdict == Verdict.INCONCLUSIVE:
        return ("No sparsity comparison is decided and every activation comparison is "
                "unclear; more data seeds would separate. ")
    if verdict == Verdict.SUPPORTED:
        return ""
    def where(comps, result, what):
        return sorted({f"{c[what]} ({c['dataset']} layer {c['layer']})" for c in comps
                       if c["result"] == result})
    wins, losses = where(b, "win", "other"), where(b, "loss", "other")
    ties = sum(c["result"] == "tie" for c in b)
    return (f"Sparser ReLU features: {_count(a, 'better', 'tie', 'worse', 'unclear')}, "
            f"{_count(a, 'not moved')} (margin {100 * MARGIN:g} pp, family-wise intervals). "
            f"ReLU's features beat {', '.join(wins) or 'no activation'}, lose to "
            f"{', '.join(losses) or 'none'} and tie in {ties} of {len(b)} comparisons: "
            + ("neither statistic favours sparse features. " if verdict == Verdict.REFUTED
               else "the claim holds in part only. "))


# --- plot ---------------------------------------------------------------------------------------


def _spread(rows: list[dict], field) -> Estimate:
    """Mean of ``field`` with the range of its per-cluster means as bars (for figures only)."""
    keys = [member_key(r) for r in rows]
    labels = np.asarray(clusters(keys))
    v = np.asarray([field(r) for r in rows], dtype=float)
    means = [v[labels == c].mean() for c in np.unique(labels)]
    return Estimate(float(v.mean()), float(min(means)), float(max(means)), len(means))


def plot(measured: dict, figures_dir: Path) -> list[str]:
    from matplotlib.figure import Figure

    arms, _ = _arms_of(measured["raw"])
    names = list(dict.fromkeys(k[0] for k in arms))
    n_layers = _n_layers(arms)
    colours = {k: f"C{i % 10}" for i, k in enumerate(dict.fromkeys(k[1:] for k in arms))}
    fig = Figure(figsize=(3.8 * len(names), 3.2 * n_layers))
    axes = fig.subplots(n_layers, len(names), squeeze=False)
    for i, name in enumerate(names):
        for j in range(n_layers):
            ax = axes[j][i]
            for (_, act, arm), rows in ((k, r) for k, r in arms.items() if k[0] == name):
                what = act.replace("_", " ") + ("" if arm == "plain" else f" ({arm})")
                errbar(ax, [np.mean([_near(j)(r) for r in rows])], [_spread(rows, _probe(j))],
                       fmt="o" if act == "relu" else "s", color=colours[(act, arm)], label=what)
            ax.set_xlabel(f"near-zero fraction (|h| < {NEAR_ZERO_EPS} × RMS)", fontsize=8)
            ax.set_ylabel("linear-probe test accuracy", fontsize=8)
            ax.set_title(f"{name}, hidden layer {j + 1}", fontsize=9)
    axes[0][0].legend(fontsize=6, title="bars: range of data-seed means", title_fontsize=6)
    return [save(fig, figures_dir, "c08_probe_vs_sparsity.png")]
