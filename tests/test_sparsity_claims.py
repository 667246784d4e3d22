"""Sparsity / generalization claims: quick measure + decide + plot, re-deciding from the JSON
record, and every rule's branches on synthetic measurements."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from reluthe.claims import registry
from reluthe.claims._base import Context, Settings, Verdict
from reluthe.claims._records import check_measured, decode, encode
from reluthe.claims.sparsity import CHECKS, CLAIMS
from reluthe.claims.sparsity._protocol import MIN_SEEDS
from reluthe.claims.sparsity._runs import grid
from reluthe.claims.sparsity.c23_other_regularisers import _augment
from reluthe.train import batch_order

IDS = ("C02", "C03", "C04", "C08", "C11", "C13", "C23", "C24")
S, R, P, I = Verdict.SUPPORTED, Verdict.REFUTED, Verdict.PARTLY, Verdict.INCONCLUSIVE
# what every synthetic measurement's decide reads from design: the bootstrap seed, the test and
# training examples behind each per-seed accuracy, the hidden widths (C03's (input, unit) pairs)
DESIGN = {"bootstrap_seed": 0, "n_test": {"mnist1d": 1000, "digits": 450, "spirals": 500},
          "n_train": {"mnist1d": 4000, "digits": 1347}, "hidden": [100, 100]}


# ---------------------------------------------------------------------------------------------
# quick runs of the real measurements


@pytest.fixture(scope="module")
def quick():
    ctx = Context(Settings(quick=True, seed=0))
    torch_state, np_state = torch.random.get_rng_state(), np.random.get_state()
    threads = torch.get_num_threads()
    out = {cid: CHECKS[cid].measure(ctx) for cid in IDS}
    assert torch.equal(torch_state, torch.random.get_rng_state())
    assert np.array_equal(np_state[1], np.random.get_state()[1])
    assert torch.get_num_threads() == threads
    return out


def test_registry_has_the_family():
    checks = {c.id: c for c in registry()}
    assert all(checks[cid].implemented for cid in IDS)
    assert [m.__name__.rsplit(".", 1)[-1][:3] for m in CLAIMS] == [c.lower() for c in IDS]


def _same(a, b) -> bool:
    """Outcomes equal in verdict, key, evidence (NaN equal to NaN) and explanation."""
    return (a.verdict, a.key, json.dumps(encode(a.evidence), sort_keys=True), a.explanation) == (
        b.verdict, b.key, json.dumps(encode(b.evidence), sort_keys=True), b.explanation)


@pytest.mark.parametrize("cid", IDS)
def test_quick_measure_is_a_record_that_re_decides(quick, cid):
    m = check_measured(quick[cid], cid)
    text = json.dumps(encode(m), allow_nan=False)
    assert len(text) < 1_000_000
    out = CHECKS[cid].decide(m)
    assert _same(out, CHECKS[cid].decide(decode(json.loads(text))))
    assert m["design"]["device"] == "cpu"
    assert m["design"]["model_seeds"] == Context(Settings()).seeds("model", 3)
    model_stream = set(Context(Settings()).seeds("model", 64))
    assert all(row["seed"] is None or row["seed"] in model_stream for row in m["raw"])


@pytest.mark.parametrize("cid", IDS)
def test_quick_decide_plot(quick, cid, tmp_path):
    m = quick[cid]
    out = CHECKS[cid].decide(m)
    assert out.verdict in (S, R, P, I)
    assert out.key and out.explanation
    json.dumps(out.evidence)
    names = CHECKS[cid].plot(m, tmp_path)
    assert names and all(n.startswith(cid.lower() + "_") for n in names)
    for n in names:
        assert (tmp_path / n).stat().st_size < 300_000


def test_rules_state_their_thresholds():
    for cid in IDS:
        rule = CHECKS[cid].rule
        assert "Supported" in rule and "Inconclusive" in rule and f">= {MIN_SEEDS}" in rule


def test_cached_runs_are_read_only_and_stable(quick):
    res = grid(Context(Settings(quick=True, seed=0)), "mnist1d", "relu")
    with pytest.raises(ValueError):
        res.test_acc[0, 0] = 0.0
    assert CHECKS["C11"].measure(Context(Settings(quick=True, seed=0))) == quick["C11"]


def test_quick_c03_sparsity_at_init_is_about_half(quick):
    for row in quick["C03"]["raw"]:
        z = np.asarray(row["init_zero_test"])
        if row["activation"] == "relu":
            assert 0.2 < z.mean() < 0.8
        elif row["activation"] in ("tanh", "elu", "leaky_relu"):
            assert z.max() == 0.0


# ---------------------------------------------------------------------------------------------
# the helpers the claims rely on


def test_early_checkpoint_is_a_prefix_of_the_batch_order():
    assert torch.equal(batch_order(500, 128, 7, 3), batch_order(500, 128, 20, 3)[:7])


def test_augment_rolls_each_example():
    x = torch.arange(10.0).repeat(2, 3, 1)
    out = _augment(x, torch.Generator().manual_seed(0), shift=3, noise=0.0)
    for row in out.reshape(-1, 10):
        shifts = [s for s in range(-3, 4) if torch.equal(row, torch.roll(x[0, 0], s))]
        assert len(shifts) == 1


# ---------------------------------------------------------------------------------------------
# synthetic measurements: every branch of every rule


def _seeds(value, n, spread=0.002, seed=0):
    """n per-seed values around ``value`` (scalar or per-layer list)."""
    rng = np.random.default_rng(seed)
    v = np.asarray(value, dtype=float)
    return (v + spread * rng.standard_normal((n, *v.shape))).tolist()


def _rows(cell: dict, **per_seed) -> list[dict]:
    """One raw row per seed of ``cell``: ``per_seed`` maps each field to its list over seeds."""
    n = len(next(iter(per_seed.values())))
    return [{"seed": i, **cell, **{k: v[i] for k, v in per_seed.items()}} for i in range(n)]


def _m(raw, **design) -> dict:
    return {"design": {**DESIGN, **design}, "raw": raw}


def _c03(trained, n=5):
    """trained: {(dataset, recipe): per-layer zero fraction}."""
    raw = []
    for (ds, rc), z in trained.items():
        raw += _rows({"dataset": ds, "recipe": rc, "activation": "relu"},
                     init_zero_test=_seeds([0.5, 0.5], n), init_dead_train=_seeds([0.0, 0.0], n, 0),
                     zero_test=_seeds(z, n), dead_train=_seeds([0.0, 0.01], n, 0))
    return _m(raw, anchors={})


def test_c03_branches():
    d = CHECKS["C03"].decide
    both = [("mnist1d", "adam"), ("digits", "adam")]
    assert d(_c03({k: [0.45, 0.3] for k in both})).verdict == S
    assert d(_c03({both[0]: [0.45, 0.3], both[1]: [0.99, 0.995]})).verdict == P
    assert d(_c03({k: [0.01, 0.02] for k in both})).verdict == R
    assert d(_c03({k: [0.45, 0.3] for k in both}, n=1)).verdict == I
    straddle = _c03({k: [0.45, 0.3] for k in both})
    for row, v in zip(straddle["raw"], (0.01, 0.09, 0.05, 0.02, 0.08)):
        row["zero_test"] = [0.45, v]
    assert d(straddle).verdict == I


def _c11(acc, n=5, train=None):
    """acc: {activation: test accuracy} for two settings; train accuracy 0.95 unless given."""
    train = train or {}
    raw = [row for ds in ("mnist1d", "digits") for a, v in acc.items()
           for row in _rows({"dataset": ds, "recipe": "adam", "activation": a},
                            test_acc=_seeds(v, n, 0.003),
                            train_acc=_seeds(train.get(a, 0.95), n, 0.003))]
    return _m(raw)


def test_c11_branches():
    d = CHECKS["C11"].decide
    assert d(_c11({"relu": 0.7, "tanh": 0.6, "gelu": 0.6, "identity": 0.4})).verdict == S
    assert d(_c11({"relu": 0.7, "tanh": 0.7, "gelu": 0.65, "identity": 0.4})).verdict == P
    # wins over nets that are not fitted at the step budget do not count
    unfit = d(_c11({"relu": 0.7, "tanh": 0.6, "gelu": 0.6, "identity": 0.4},
                   train={"tanh": 0.7, "gelu": 0.7}))
    assert unfit.verdict == P and unfit.evidence["wins"] == 0
    assert unfit.evidence["not_fitted_wins"] == 4
    assert d(_c11({"relu": 0.7, "tanh": 0.6, "gelu": 0.6, "identity": 0.72})).verdict == R
    assert d(_c11({"relu": 0.6, "tanh": 0.7, "gelu": 0.7, "identity": 0.4})).verdict == R
    assert d(_c11({"relu": 0.7, "tanh": 0.6, "identity": 0.4}, n=1)).verdict == I
    unclear = _c11({"relu": 0.7, "tanh": 0.6, "gelu": 0.6, "identity": 0.4})
    for row in (r for r in unclear["raw"] if r["activation"] == "identity"):
        row["test_acc"] = (0.3, 0.9, 0.4, 0.95, 0.5)[row["seed"]]
    assert d(unclear).verdict == I


def _c08(slope, relu_probe, n=5, noise=0.002, train=None):
    """probe accuracy = 0.5 + slope * zero fraction; relu's grid probe vs others at 0.6."""
    train = train or {}
    raw = [{"seed": None, "part": "input_probe", "dataset": "mnist1d", "probe_test": 0.3}]
    for i, z in enumerate((0.2, 0.35, 0.5, 0.65, 0.8)):
        zz = _seeds([z, z], n, 0.01, seed=i)
        pr = [[0.5 + slope * a + noise * j, 0.5 + slope * b + noise * j]
              for j, (a, b) in enumerate(zz)]
        raw += _rows({"part": "intervention", "kind": "l1", "value": z}, zero_test=zz,
                     probe_test=pr)
    for a, v in (("relu", relu_probe), ("tanh", 0.6), ("gelu", 0.6)):
        raw += _rows({"part": "grid", "dataset": "mnist1d", "recipe": "adam", "activation": a},
                     probe_test=_seeds([v, v], n, 0.003, seed=7), zero_test=_seeds([0, 0], n),
                     net_train_acc=_seeds(train.get(a, 0.95), n, 0.003))
    return _m(raw)


def test_c08_branches():
    d = CHECKS["C08"].decide
    assert d(_c08(0.3, 0.7)).verdict == S
    assert d(_c08(-0.3, 0.5)).verdict == R
    assert d(_c08(0.3, 0.5)).verdict == P
    unfit = d(_c08(0.3, 0.7, train={"tanh": 0.7, "gelu": 0.7}))  # wins over unfitted nets
    assert unfit.verdict == P and unfit.evidence["not_fitted_wins"] == 2
    assert d(_c08(0.3, 0.7, n=1)).verdict == I
    flat = _c08(0.0, 0.6, noise=0.0)
    rng = np.random.default_rng(1)
    for r in flat["raw"]:
        if r["part"] in ("intervention", "grid"):
            r["probe_test"] = (0.6 + 0.05 * rng.standard_normal(2)).tolist()
    assert d(flat).verdict == I


def _c04(sign, shuffled_sparsity=0.2, relu_acc=0.65, n=5):
    """test acc = 0.6 + sign * 0.2 * sparsity in the L1 and bias sweeps; leak: 0.6 - sign*alpha."""
    def net(cell, sp, acc_seed, sparsity=None):
        return _rows(cell, sparsity=sparsity or _seeds(sp, n, 0.005, seed=int(sp * 99)),
                     zero_layers=_seeds([sp, sp], n, 0.0),
                     zero_layers_train=_seeds([sp, sp], n, 0),
                     negative_layers=_seeds([0.45, 0.4], n, 0.0),
                     test_acc=_seeds(0.6 + sign * 0.2 * sp, n, 0.002, seed=acc_seed),
                     train_acc=_seeds(0.9, n, 0.002))
    raw = []
    for kind, value, sp in (("none", 0.0, 0.4), ("l1", 0.1, 0.5), ("l1", 1.0, 0.7),
                            ("bias_shift", -0.5, 0.55), ("bias_shift", 0.5, 0.3)):
        raw += net({"part": "intervention", "kind": kind, "value": value}, sp, int(sp * 77))
    for a in (0.0, 0.01, 0.1, 0.3):
        rows = net({"part": "leaky", "alpha": a}, 0.4, 0,
                   sparsity=_seeds(0.4 if a == 0 else 0.0, n, 0.0))
        for row, acc in zip(rows, _seeds(0.6 - sign * 0.2 * a, n, 0.002, seed=int(a * 100))):
            row["test_acc"] = acc
        raw += rows
    raw += net({"part": "shuffled"}, shuffled_sparsity, 0)
    for row, acc in zip(raw[-n:], _seeds(0.1, n, 0.005)):
        row["test_acc"] = acc
    for a, v in (("relu", relu_acc), ("leaky_relu", 0.65), ("elu", 0.65)):
        raw += _rows({"part": "relu_vs_smooth", "dataset": "mnist1d", "recipe": "adam",
                      "activation": a}, test_acc=_seeds(v, n, 0.002, seed=3))
    return _m(raw)


def test_c04_branches():
    d = CHECKS["C04"].decide
    assert d(_c04(+1)).verdict == S
    assert d(_c04(+1, shuffled_sparsity=0.6)).verdict == P
    assert d(_c04(+1, relu_acc=0.6)).verdict == P
    assert d(_c04(-1)).verdict == R
    assert d(_c04(+1, n=1)).verdict == I
    noisy = _c04(0)
    rng = np.random.default_rng(0)
    for r in noisy["raw"]:
        if r["part"] in ("intervention", "leaky"):
            r["test_acc"] = float(0.6 + 0.05 * rng.standard_normal())
    assert d(noisy).verdict == I


def _dup_seed(m: dict, part: str, seed: int = 0) -> dict:
    """``m`` with every row of ``part`` measured on model seed ``seed`` given twice."""
    raw = []
    for r in m["raw"]:
        raw += [r, dict(r)] if r.get("part") == part and r["seed"] == seed else [r]
    return {**m, "raw": raw}


def test_c04_c08_rho_is_clustered_by_seed():
    """ρ's interval resamples model seeds, not nets: repeating one seed's nets adds cells but no
    cluster, so n stays the number of seeds (a pairs bootstrap counts every net)."""
    c08 = CHECKS["C08"].decide
    for m, n_nets in ((_c08(0.3, 0.7), 25), (_dup_seed(_c08(0.3, 0.7), "intervention"), 30)):
        out = c08(m)
        e = out.evidence["spearman_sparsity_probe"]
        assert (e["n"], e["method"]) == (5, "cluster bootstrap (BCa)")
        assert f"over {n_nets} ReLU nets" in out.key
    c04 = CHECKS["C04"].decide
    for m, add in ((_c04(+1), 0), (_dup_seed(_dup_seed(_c04(+1), "intervention"), "leaky"), 1)):
        sweeps = c04(m).evidence["sweeps"]
        for name, cells_per_seed in (("l1", 3), ("bias_shift", 3), ("leaky_slope", 4)):
            s = sweeps[name]
            assert s["n"] == (5 + add) * cells_per_seed
            for e in (s["rho_acc"], s["rho_gap"]):
                assert (e["n"], e["method"]) == (5, "cluster bootstrap (BCa)")


def _c13(final_train, init_train, random=2.0, n=5, spread=0.02):
    def stage(name, tr, acc=True):
        fields = {"train": _seeds(tr, n, spread, 1), "test": _seeds(tr, n, spread, 2),
                  "random": _seeds(random, n, spread, 3)}
        if acc:
            fields.update(train_acc=_seeds(0.95, n, 0.01, 4), test_acc=_seeds(0.6, n, 0.01, 5))
        return _rows({"stage": name}, **fields)
    raw = (stage("init", init_train, False) + stage("early", init_train)
           + stage("final", final_train) + stage("final_adam_l2", final_train))
    return _m(raw, steps={"init": 0, "early": 10, "final": 100, "final_adam_l2": 100},
              mean_length=9.0)


def test_c13_branches():
    d = CHECKS["C13"].decide
    assert d(_c13(4.0, 2.0)).verdict == S
    assert d(_c13(1.0, 2.0)).verdict == R
    assert d(_c13(4.0, 4.0)).verdict == P
    assert d(_c13(4.0, 2.0, n=1)).verdict == I
    assert d(_c13(2.0, 2.0, spread=0.5)).verdict == I


def _c02(relu=0.98, linear=0.6, depth_counts=(20, 40, 80), over=False, n=5):
    bounds = {"serra_upper": 10_000}
    sweeps = [{"kind": "width", "value": w, "hidden": [w],
               "bounds": {**bounds, "zaslavsky": 1 + w + w * (w - 1) // 2}} for w in (4, 8, 16)]
    sweeps += [{"kind": "depth", "value": dd, "hidden": [8] * dd, "bounds": bounds}
               for dd in (1, 2, 3)]
    counts = [_seeds(2 * w, n, 0.5) for w in (4, 8, 16)]
    counts += [_seeds(c, n, 1.0, seed=dd) for dd, c in zip((1, 2, 3), depth_counts)]
    if over:
        counts[0] = [1000.0] * n
    raw = _rows({"part": "fit", "activation": "relu"}, test_acc=_seeds(relu, n, 0.005),
                train_acc=_seeds(1, n, 0))
    raw += _rows({"part": "fit", "activation": "identity"},
                 test_acc=_seeds(linear, n, 0.005, 1), train_acc=_seeds(linear, n, 0))
    for s, c in zip(sweeps, counts):
        raw += _rows({"part": "sweep", "kind": s["kind"], "value": s["value"]}, count=c)
    for stage, c in (("init", 50), ("trained", 60)):
        raw += _rows({"part": "trained_regions", "stage": stage}, count=[c] * n)
    return _m(raw, sweeps=sweeps, widths=[2, 8, 8, 2],
              trained_shape={"hidden": [8, 8], "bounds": {"serra_upper": 10_000}})


def test_c02_branches():
    d = CHECKS["C02"].decide
    assert d(_c02()).verdict == S
    assert d(_c02(depth_counts=(40, 40, 40))).verdict == P
    assert d(_c02(relu=0.6)).verdict == R
    assert d(_c02(over=True)).verdict == I
    assert d(_c02(n=1)).verdict == I


def test_c02_accuracy_interval_stays_below_one():
    """The audit's case: test accuracies near 1 (a t interval reaches above 100 %)."""
    m = _c02()
    for row, v in zip((r for r in m["raw"] if r.get("activation") == "relu"),
                      (1.0, 0.994, 1.0, 0.996, 1.0)):
        row["test_acc"] = v
    e = CHECKS["C02"].decide(m).evidence["relu_test_acc"]
    assert e["method"] == "wilson, effective n" and 0.98 < e["low"] < e["value"] < e["high"] <= 1


def _c23(effects, n=5, flat=False):
    rng = np.random.default_rng(0)
    base = np.asarray(_seeds(0.5, n, 0.005))
    step = 0.001 * (np.arange(n) - (n - 1) / 2)

    def arm(k, ref):
        if flat:
            return (0.5 + 0.03 * rng.standard_normal(n)).tolist()
        return (ref + effects.get(k, 0.0) + step).tolist()
    raw = _rows({"part": "technique", "technique": "baseline"}, test_acc=base.tolist())
    for k in ("l2", "l1_activity", "dropout", "augmentation", "transfer"):
        raw += _rows({"part": "technique", "technique": k}, test_acc=arm(k, base))
    members = np.asarray(_seeds(0.5, n, 0.005))
    raw += _rows({"part": "ensemble"}, member_mean_acc=members.tolist(),
                 ensemble_acc=arm("ensembling", members))
    for a, v in (("tanh", 0.02), ("gelu", -0.01), ("identity", -0.1)):
        raw += _rows({"part": "activation", "activation": a}, test_acc=(base + v).tolist())
    return _m(raw, n_train=500)


def test_c23_branches():
    d = CHECKS["C23"].decide
    all_up = {"l2": 0.02, "augmentation": 0.03, "transfer": 0.1, "ensembling": 0.02}
    assert d(_c23(all_up)).verdict == S
    assert d(_c23({"transfer": 0.1})).verdict == P
    assert d(_c23({k: -0.05 for k in ("l2", "l1_activity", "dropout", "augmentation",
                                      "transfer", "ensembling")})).verdict == R
    assert d(_c23(all_up, n=1)).verdict == I
    assert d(_c23({}, flat=True)).verdict == I


def _c24(cls_drop, mse_ratio, n=5, regression=None):
    def arm(task, name, v, spread):
        return _rows({"task": task, "arm": name}, test=_seeds(v, n, spread),
                     train=_seeds(v, n, spread), all_zero_test=_seeds(0.0, n, 0.0))
    raw = arm("classification", "none", 0.95, 0.003) + arm("classification", "relu",
                                                            0.95 - cls_drop, 0.003)
    if regression is None:
        raw += arm("regression", "none", 0.1, 0.002) + arm("regression", "relu",
                                                           0.1 * mse_ratio, 0.002)
    else:
        for name, test in regression.items():
            raw += _rows({"task": "regression", "arm": name}, test=test, train=[0.1] * len(test),
                         all_zero_test=[0.0] * len(test))
    return _m(raw, tasks={"regression": {"negative_target_share": 0.7,
                                         "nonnegative_floor_mse": 1.0}})


def test_c24_branches():
    d = CHECKS["C24"].decide
    assert d(_c24(0.1, 10.0)).verdict == S
    assert d(_c24(0.0, 10.0)).verdict == P
    assert d(_c24(0.1, 0.9)).verdict == R
    assert d(_c24(0.1, 10.0, n=1)).verdict == I
    assert d(_c24(0.1, 1.0, regression={"none": [0.1, 0.2, 0.1, 0.2, 0.1],
                                        "relu": [0.2, 0.1, 0.2, 0.1, 0.15]})).verdict == I


@pytest.mark.parametrize("n", [1, MIN_SEEDS - 1])
@pytest.mark.parametrize("cid", IDS)
def test_too_few_seeds_is_inconclusive(cid, n):
    """Every rule answers 'inconclusive' when measurements have fewer than MIN_SEEDS seeds."""
    makers = {"C02": lambda: _c02(n=n), "C03": lambda: _c03({("mnist1d", "a"): [0.4, 0.3]}, n=n),
              "C04": lambda: _c04(+1, n=n),
              "C08": lambda: _c08(0.3, 0.7, n=n), "C11": lambda: _c11({"relu": 0.7, "tanh": 0.6,
                                                                        "identity": 0.4}, n=n),
              "C13": lambda: _c13(4.0, 2.0, n=n), "C23": lambda: _c23({"l2": 0.1}, n=n),
              "C24": lambda: _c24(0.1, 10.0, n=n)}
    m = makers[cid]()
    check_measured(m, cid)
    out = CHECKS[cid].decide(m)
    assert out.verdict == I and "seed" in out.explanation
