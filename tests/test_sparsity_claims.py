"""Sparsity / generalization claims: quick measure + decide + plot, and every rule's branches on
synthetic measurements."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from reluthe.claims import registry
from reluthe.claims._base import Context, Settings, Verdict
from reluthe.claims._sparsity_protocol import MIN_SEEDS
from reluthe.claims._sparsity_regularisers import _augment
from reluthe.claims._sparsity_runs import grid
from reluthe.claims.sparsity import CHECKS
from reluthe.train import batch_order

IDS = ("C02", "C03", "C04", "C08", "C11", "C13", "C23", "C24")
S, R, P, I = Verdict.SUPPORTED, Verdict.REFUTED, Verdict.PARTLY, Verdict.INCONCLUSIVE


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


@pytest.mark.parametrize("cid", IDS)
def test_quick_measure_decide_plot(quick, cid, tmp_path):
    m = quick[cid]
    json.loads(json.dumps(m))  # JSON-serialisable (NaN allowed)
    out = CHECKS[cid].decide(m)
    assert out.verdict in (S, R, P, I)
    assert out.key and out.explanation
    json.dumps(out.evidence)
    again = CHECKS[cid].decide(json.loads(json.dumps(m)))  # a JSON round trip decides the same
    assert again.verdict == out.verdict and again.key == out.key
    names = CHECKS[cid].plot(m, tmp_path)
    assert names and all(n.startswith(cid.lower() + "_") for n in names)
    for n in names:
        assert (tmp_path / n).stat().st_size < 300_000


def test_rules_state_their_thresholds():
    for cid in IDS:
        rule = CHECKS[cid].rule
        assert "Supported" in rule and "Inconclusive" in rule and f">= {MIN_SEEDS}" in rule


def test_cached_runs_are_read_only_and_stable(quick):
    res = grid(True, 0, "cpu", "mnist1d", "relu")
    with pytest.raises(ValueError):
        res.test_acc[0, 0] = 0.0
    assert CHECKS["C11"].measure(Context(Settings(quick=True, seed=0))) == quick["C11"]


def test_quick_c03_sparsity_at_init_is_about_half(quick):
    for c in quick["C03"]["cells"]:
        z = np.asarray(c["init"]["zero_test"])
        if c["activation"] == "relu":
            assert 0.3 < z.mean() < 0.7
        elif c["activation"] in ("tanh", "elu", "leaky_relu"):
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


def _c03(trained, n=5):
    """trained: {(dataset, recipe): per-layer zero fraction}."""
    cells = []
    for (ds, rc), z in trained.items():
        cells.append({"dataset": ds, "recipe": rc, "activation": "relu",
                      "init": {"zero_test": _seeds([0.5, 0.5], n), "dead_train":
                               _seeds([0.0, 0.0], n, 0)},
                      "trained": {"zero_test": _seeds(z, n), "dead_train":
                                  _seeds([0.0, 0.01], n, 0)}})
    return {"cells": cells, "anchors": {}}


def test_c03_branches():
    d = CHECKS["C03"].decide
    both = [("mnist1d", "adam"), ("digits", "adam")]
    assert d(_c03({k: [0.45, 0.3] for k in both})).verdict == S
    assert d(_c03({both[0]: [0.45, 0.3], both[1]: [0.99, 0.995]})).verdict == P
    assert d(_c03({k: [0.01, 0.02] for k in both})).verdict == R
    assert d(_c03({k: [0.45, 0.3] for k in both}, n=1)).verdict == I
    straddle = _c03({k: [0.45, 0.3] for k in both})
    straddle["cells"][0]["trained"]["zero_test"] = [[0.45, v] for v in
                                                    (0.01, 0.09, 0.05, 0.02, 0.08)]
    assert d(straddle).verdict == I


def _c11(acc, n=5, train=None):
    """acc: {activation: test accuracy} for two settings; train accuracy 0.95 unless given."""
    train = train or {}
    cells = [{"dataset": ds, "recipe": "adam", "activation": a, "test_acc": _seeds(v, n, 0.003),
              "train_acc": _seeds(train.get(a, 0.95), n, 0.003)}
             for ds in ("mnist1d", "digits") for a, v in acc.items()]
    return {"cells": cells}


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
    for c in unclear["cells"]:
        if c["activation"] == "identity":
            c["test_acc"] = [0.3, 0.9, 0.4, 0.95, 0.5]
    assert d(unclear).verdict == I


def _c08(slope, relu_probe, n=5, noise=0.002, train=None):
    """probe accuracy = 0.5 + slope * zero fraction; relu's grid probe vs others at 0.6."""
    train = train or {}
    ivs = []
    for i, z in enumerate((0.2, 0.35, 0.5, 0.65, 0.8)):
        zz = _seeds([z, z], n, 0.01, seed=i)
        pr = [[0.5 + slope * a + noise * j, 0.5 + slope * b + noise * j]
              for j, (a, b) in enumerate(zz)]
        ivs.append({"kind": "l1", "value": z, "zero_test": zz, "probe_test": pr})
    grid_rows = [{"dataset": "mnist1d", "recipe": "adam", "activation": a,
                  "probe_test": _seeds([v, v], n, 0.003, seed=7), "zero_test": _seeds([0, 0], n),
                  "net_train_acc": _seeds(train.get(a, 0.95), n, 0.003)}
                 for a, v in (("relu", relu_probe), ("tanh", 0.6), ("gelu", 0.6))]
    return {"interventions": ivs, "grid": grid_rows, "input_probe": {"mnist1d": 0.3}}


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
    for r in flat["interventions"]:
        r["probe_test"] = (0.6 + 0.05 * rng.standard_normal((5, 2))).tolist()
    for g in flat["grid"]:
        g["probe_test"] = (0.6 + 0.05 * rng.standard_normal((5, 2))).tolist()
    assert d(flat).verdict == I


def _c04(sign, shuffled_sparsity=0.2, relu_acc=0.65, n=5):
    """test acc = 0.6 + sign * 0.2 * sparsity in the L1 and bias sweeps; leak: 0.6 - sign*alpha."""
    def row(kind, value, sp):
        return {"kind": kind, "value": value, "sparsity": _seeds(sp, n, 0.005, seed=int(sp * 99)),
                "zero_layers": _seeds([sp, sp], n, 0.0),
                "zero_layers_train": _seeds([sp, sp], n, 0),
                "test_acc": _seeds(0.6 + sign * 0.2 * sp, n, 0.002, seed=int(sp * 77)),
                "train_acc": _seeds(0.9, n, 0.002)}
    rows = [row("none", 0.0, 0.4)] + [row("l1", v, sp) for v, sp in ((0.1, 0.5), (1.0, 0.7))]
    rows += [row("bias_shift", v, sp) for v, sp in ((-0.5, 0.55), (0.5, 0.3))]
    leaky = [{"alpha": a, "sparsity": _seeds(0.4 if a == 0 else 0.0, n, 0.0),
              "negative_layers": _seeds([0.45, 0.4], n, 0.0),
              "test_acc": _seeds(0.6 - sign * 0.2 * a, n, 0.002, seed=int(a * 100)),
              "train_acc": _seeds(0.9, n, 0.0)} for a in (0.0, 0.01, 0.1, 0.3)]
    sh = {"sparsity": _seeds(shuffled_sparsity, n, 0.005), "zero_layers_train":
          _seeds([shuffled_sparsity] * 2, n, 0.0), "test_acc": _seeds(0.1, n, 0.005),
          "train_acc": _seeds(0.7, n, 0.005)}
    cells = [{"dataset": "mnist1d", "recipe": "adam", "activation": a,
              "test_acc": _seeds(v, n, 0.002, seed=3)}
             for a, v in (("relu", relu_acc), ("leaky_relu", 0.65), ("elu", 0.65))]
    return {"interventions": rows, "leaky": leaky, "shuffled": sh, "relu_vs_smooth": cells}


def test_c04_branches():
    d = CHECKS["C04"].decide
    assert d(_c04(+1)).verdict == S
    assert d(_c04(+1, shuffled_sparsity=0.6)).verdict == P
    assert d(_c04(+1, relu_acc=0.6)).verdict == P
    assert d(_c04(-1)).verdict == R
    assert d(_c04(+1, n=1)).verdict == I
    noisy = _c04(0)
    rng = np.random.default_rng(0)
    for r in noisy["interventions"] + noisy["leaky"]:
        r["test_acc"] = (0.6 + 0.05 * rng.standard_normal(5)).tolist()
    assert d(noisy).verdict == I


def _c13(final_train, init_train, random=2.0, n=5, spread=0.02):
    def stage(tr, acc=True):
        out = {"train": _seeds(tr, n, spread, 1), "test": _seeds(tr, n, spread, 2),
               "random": _seeds(random, n, spread, 3)}
        if acc:
            out.update(train_acc=_seeds(0.95, n, 0.01, 4), test_acc=_seeds(0.6, n, 0.01, 5))
        return out
    return {"stages": {"init": stage(init_train, False), "early": stage(init_train),
                       "final": stage(final_train), "final_adam_l2": stage(final_train)},
            "steps": {"init": 0, "early": 10, "final": 100, "final_adam_l2": 100},
            "mean_length": 9.0}


def test_c13_branches():
    d = CHECKS["C13"].decide
    assert d(_c13(4.0, 2.0)).verdict == S
    assert d(_c13(1.0, 2.0)).verdict == R
    assert d(_c13(4.0, 4.0)).verdict == P
    assert d(_c13(4.0, 2.0, n=1)).verdict == I
    assert d(_c13(2.0, 2.0, spread=0.5)).verdict == I


def _c02(relu=0.98, linear=0.6, depth_counts=(20, 40, 80), over=False, n=5):
    bounds = {"serra_upper": 10_000}
    sweeps = [{"kind": "width", "value": w, "hidden": [w], "counts": _seeds(2 * w, n, 0.5),
               "bounds": {**bounds, "zaslavsky": 1 + w + w * (w - 1) // 2}} for w in (4, 8, 16)]
    sweeps += [{"kind": "depth", "value": dd, "hidden": [8] * dd,
                "counts": _seeds(c, n, 1.0, seed=dd), "bounds": bounds}
               for dd, c in zip((1, 2, 3), depth_counts)]
    if over:
        sweeps[0]["counts"] = [1000.0] * n
    return {"fit": {"relu": {"test_acc": _seeds(relu, n, 0.005), "train_acc": _seeds(1, n, 0)},
                    "identity": {"test_acc": _seeds(linear, n, 0.005, 1),
                                 "train_acc": _seeds(linear, n, 0)}},
            "sweeps": sweeps, "widths": [2, 8, 8, 2],
            "trained_regions": {"init": [50] * n, "trained": [60] * n,
                                "bounds": {"serra_upper": 10_000}}}


def test_c02_branches():
    d = CHECKS["C02"].decide
    assert d(_c02()).verdict == S
    assert d(_c02(depth_counts=(40, 40, 40))).verdict == P
    assert d(_c02(relu=0.6)).verdict == R
    assert d(_c02(over=True)).verdict == I
    assert d(_c02(n=1)).verdict == I


def _c23(effects, n=5):
    eff = {"baseline": _seeds(0.5, n, 0.005)}
    for k in ("l2", "l1_activity", "dropout", "augmentation", "transfer"):
        eff[k] = (np.asarray(eff["baseline"]) + effects.get(k, 0.0)
                  + 0.001 * (np.arange(n) - (n - 1) / 2)).tolist()
    ens = {"member_mean_acc": _seeds(0.5, n, 0.005), "size": 5}
    ens["ensemble_acc"] = (np.asarray(ens["member_mean_acc"]) + effects.get("ensembling", 0.0)
                           + 0.001 * (np.arange(n) - (n - 1) / 2)).tolist()
    acts = {a: (np.asarray(eff["baseline"]) + v).tolist()
            for a, v in (("tanh", 0.02), ("gelu", -0.01), ("identity", -0.1))}
    return {"effects": eff, "ensemble": ens, "activations": acts, "n_train": 500}


def test_c23_branches():
    d = CHECKS["C23"].decide
    all_up = {"l2": 0.02, "augmentation": 0.03, "transfer": 0.1, "ensembling": 0.02}
    assert d(_c23(all_up)).verdict == S
    assert d(_c23({"transfer": 0.1})).verdict == P
    assert d(_c23({k: -0.05 for k in ("l2", "l1_activity", "dropout", "augmentation",
                                      "transfer", "ensembling")})).verdict == R
    assert d(_c23(all_up, n=1)).verdict == I
    flat = _c23({})
    rng = np.random.default_rng(0)
    for k in ("l2", "l1_activity", "dropout", "augmentation", "transfer"):
        flat["effects"][k] = (0.5 + 0.03 * rng.standard_normal(5)).tolist()
    flat["ensemble"]["ensemble_acc"] = (0.5 + 0.03 * rng.standard_normal(5)).tolist()
    assert d(flat).verdict == I


def _c24(cls_drop, mse_ratio, n=5):
    def arm(v, spread):
        return {"test": _seeds(v, n, spread), "train": _seeds(v, n, spread),
                "all_zero_test": _seeds(0.0, n, 0.0)}
    return {"classification": {"none": arm(0.95, 0.003), "relu": arm(0.95 - cls_drop, 0.003)},
            "regression": {"none": arm(0.1, 0.002), "relu": arm(0.1 * mse_ratio, 0.002),
                           "negative_target_share": 0.7, "nonnegative_floor_mse": 1.0}}


def test_c24_branches():
    d = CHECKS["C24"].decide
    assert d(_c24(0.1, 10.0)).verdict == S
    assert d(_c24(0.0, 10.0)).verdict == P
    assert d(_c24(0.1, 0.9)).verdict == R
    assert d(_c24(0.1, 10.0, n=1)).verdict == I
    assert d(_c24(0.1, 1.0, n=5) | {"regression": {
        "none": {"test": [0.1, 0.2, 0.1, 0.2, 0.1], "train": [0.1] * 5, "all_zero_test": [0] * 5},
        "relu": {"test": [0.2, 0.1, 0.2, 0.1, 0.15], "train": [0.1] * 5,
                 "all_zero_test": [0] * 5}}}).verdict == I


@pytest.mark.parametrize("cid", IDS)
def test_one_seed_is_inconclusive(cid):
    """Every rule answers 'inconclusive' when measurements have a single seed."""
    makers = {"C02": lambda: _c02(n=1), "C03": lambda: _c03({("m", "a"): [0.4, 0.3]}, n=1),
              "C04": lambda: _c04(+1, n=1),
              "C08": lambda: _c08(0.3, 0.7, n=1), "C11": lambda: _c11({"relu": 0.7, "tanh": 0.6,
                                                                        "identity": 0.4}, n=1),
              "C13": lambda: _c13(4.0, 2.0, n=1), "C23": lambda: _c23({"l2": 0.1}, n=1),
              "C24": lambda: _c24(0.1, 10.0, n=1)}
    out = CHECKS[cid].decide(makers[cid]())
    assert out.verdict == I and "seed" in out.explanation
