"""Sparsity / generalization claims: quick measure + decide + plot, re-deciding from the JSON
record, and every rule's branches on synthetic measurements."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_rule_c02 import GOOD as GOOD_C02
from test_rule_c02 import record as c02_record
from test_rule_c03 import record as c03_record
from test_rule_c04 import record as c04_record
from test_rule_c08 import record as c08_record
from test_rule_c11 import record as c11_record
from test_rule_c23 import record as c23_record
from test_rule_c24 import record as c24_record

from reluthe.claims import registry
from reluthe.claims._base import Context, Settings, Verdict
from reluthe.claims._records import check_measured, decode, encode
from reluthe.claims.sparsity import CHECKS, CLAIMS, _arms
from reluthe.claims.sparsity._protocol import MIN_SEEDS
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
        assert "Supported" in rule and "Inconclusive" in rule
        assert f">= {MIN_SEEDS}" in rule or f"fewer than {MIN_SEEDS}" in rule, cid


def test_cached_runs_are_read_only_and_stable(quick):
    res = _arms.arm(Context(Settings(quick=True, seed=0)), "mnist1d", "relu").selections[0]
    with pytest.raises(ValueError):
        res.result.test_acc[0, 0] = 0.0
    with pytest.raises(ValueError):
        res.full.val_acc[0, 0] = 0.0
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


def _c03(n=5):
    """A C03 record with ``n`` data seeds (its rule's branches: tests/test_rule_c03.py)."""
    return c03_record(n_data=n)


def _c08(n=5):
    """A C08 record with ``n`` data seeds (its rule's branches: tests/test_rule_c08.py)."""
    return c08_record(n_data=n)


def _c04(n=5):
    """A C04 record with ``n`` data seeds (its rule's branches: tests/test_rule_c04.py)."""
    return c04_record(n_data=n)


def _c13(log_train, log_test, log_init=0.0, n=3, spread=0.02):
    """n data seeds × 3 model seeds; rotated densities 8, chords 8·exp(log ratio)."""
    def stage(name, log_tr, log_te, seed):
        k = 3 * n
        return _rows({"stage": name, "step": 0, "diverged": False},
                     data_seed=[d for d in range(n) for _ in range(3)],
                     density_train=(8 * np.exp(_seeds(log_tr, k, spread, seed))).tolist(),
                     density_test=(8 * np.exp(_seeds(log_te, k, spread, seed + 1))).tolist(),
                     density_train_rotated=[8.0] * k, density_test_rotated=[8.0] * k)
    raw = stage("init", log_init, log_init, 1) + stage("best_val", log_train, log_test, 3)
    return _m(raw, margin=np.log(1.1), widths=[40, 100, 100, 10])


def test_c13_branches():
    d = CHECKS["C13"].decide
    assert d(_c13(0.4, 0.4)).verdict == S
    assert d(_c13(-0.4, -0.4)).verdict == R
    assert d(_c13(0.4, 0.0)).verdict == P
    assert d(_c13(0.4, 0.4, n=1)).verdict == I
    assert d(_c13(0.1, 0.1, spread=0.5)).verdict == I


def _c23(n=3):
    """A C23 record with ``n`` data seeds (its rule's branches: tests/test_rule_c23.py)."""
    return c23_record(n_data=n)


@pytest.mark.parametrize("n", [1, MIN_SEEDS - 1])
@pytest.mark.parametrize("cid", IDS)
def test_too_few_seeds_is_inconclusive(cid, n):
    """Every rule answers 'inconclusive' when measurements have fewer than MIN_SEEDS seeds."""
    makers = {"C02": lambda: c02_record(GOOD_C02, n_data=n), "C03": lambda: _c03(n=n),
              "C04": lambda: _c04(n=n), "C08": lambda: _c08(n=n),
              "C11": lambda: c11_record({"relu": 0.85}, n_data=n),
              "C13": lambda: _c13(0.4, 0.4, n=n), "C23": lambda: _c23(n=n),
              "C24": lambda: c24_record({"mnist1d": 0.05, "mnist5k": 0.05}, n_data=n)}
    m = makers[cid]()
    check_measured(m, cid)
    out = CHECKS[cid].decide(m)
    assert out.verdict == I and "seed" in out.explanation
