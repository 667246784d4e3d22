"""Claims C07, C18–C21 (architectures): quick runs, records, rules and the probes behind them."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
import torch

from reluthe.claims._base import Context, Settings, Verdict
from reluthe.claims._protocol import MIN_SEEDS
from reluthe.claims._records import check_measured, decode, encode
from reluthe.claims.architectures import (
    CHECKS,
    CLAIMS,
    c18_cnn,
    c19_rnn,
    c20_gan,
    c21_autoencoder,
)
from reluthe.claims.architectures._paired import paired_diff
from reluthe.errors import InvalidInputError
from reluthe.probes.architectures import (
    adding_problem,
    mode_coverage,
    pca_reconstruction_error,
    ring_centers,
    rnn_divergence,
)
from reluthe.stats import diff_ci

IDS = ("C07", "C18", "C19", "C20", "C21")
QUICK = Context(Settings(quick=True, seed=0))


@pytest.fixture(scope="module")
def quick_runs():
    """Quick measurement of every claim of the family, measured once per test module."""
    return {cid: CHECKS[cid].measure(QUICK) for cid in IDS}


def _claim_id(module) -> str:
    return "C" + module.__name__.rsplit(".", 1)[-1][1:3]


# --------------------------------------------------------------------------- quick end to end

def test_the_family_lists_its_claims_in_id_order():
    assert [_claim_id(m) for m in CLAIMS] == list(IDS) == sorted(CHECKS)


@pytest.mark.parametrize("module", CLAIMS, ids=_claim_id)
def test_quick_record_redecides_to_the_same_outcome(module, quick_runs):
    cid = _claim_id(module)
    m = check_measured(quick_runs[cid], cid)
    text = json.dumps(encode(m), allow_nan=False)
    assert len(text) < 1_000_000
    copy = decode(json.loads(text))
    a, b = module.decide(m), module.decide(copy)
    assert (a.verdict, a.key, a.explanation) == (b.verdict, b.key, b.explanation)
    assert json.dumps(encode(a.evidence)) == json.dumps(encode(b.evidence))
    assert m["design"]["device"] == "cpu"


@pytest.mark.parametrize("cid", IDS)
def test_quick_measure_decide_plot(cid, quick_runs, tmp_path):
    m = quick_runs[cid]
    outcome = CHECKS[cid].decide(m)
    assert isinstance(outcome.verdict, Verdict)
    assert outcome.verdict not in (Verdict.NOT_IMPLEMENTED, Verdict.ERROR)
    assert outcome.key and outcome.explanation
    json.dumps(encode(outcome.evidence), allow_nan=False)
    names = CHECKS[cid].plot(m, tmp_path)
    assert names and all(n.startswith(cid.lower() + "_") and n.endswith(".png") for n in names)
    for n in names:
        size = (tmp_path / n).stat().st_size
        assert 1_000 < size < 300_000


def _data_seeds(design: dict) -> list[int]:
    """Every data seed a design names (one, a list, or one per use)."""
    seeds = design.get("data_seeds", design.get("data_seed"))
    if isinstance(seeds, dict):
        return list(seeds.values())
    return seeds if isinstance(seeds, list) else [seeds]


@pytest.mark.parametrize("cid", IDS)
def test_seeds_come_from_the_context_streams(cid, quick_runs):
    design = quick_runs[cid]["design"]
    n = len(design["seeds"])
    assert design["seeds"] == QUICK.seeds("model", n)
    assert set(_data_seeds(design)) <= set(QUICK.seeds("data", n))
    assert {row["seed"] for row in quick_runs[cid]["raw"]} == set(design["seeds"])


def test_quick_runs_are_seeded(quick_runs):
    again = CHECKS["C21"].measure(QUICK)
    assert again["raw"] == quick_runs["C21"]["raw"]


def test_c07_is_not_testable_and_computes_what_it_can(quick_runs):
    m = quick_runs["C07"]
    assert CHECKS["C07"].decide(m).verdict is Verdict.NOT_TESTABLE
    assert m["design"]["limits_at_infinity"] == {"relu": "oo", "tanh": "1", "sigmoid": "1"}
    init = [r["active_fraction"] for r in m["raw"] if r["stage"] == "init (default)"]
    assert len(init) == 4 and all(0.2 < v < 0.8 for v in init)  # 2 layers x 2 seeds


def test_c20_samples_and_coverage_agree(quick_runs):
    m = quick_runs["C20"]
    for row in m["raw"]:
        share = m["design"]["min_share"] * m["design"]["n_eval"]
        assert sum(c >= share for c in row["mode_counts"]) == row["modes_covered"]
        assert len(row["samples"]) == m["design"]["n_shown"]


# --------------------------------------------------------------------------- paired statistic

def _pattern(arm: int, n: int) -> np.ndarray:
    """Per-seed offsets of arm ``arm``: mean 0, a different order for every arm (n > arms)."""
    return np.roll(np.arange(n) - (n - 1) / 2, arm)


def test_paired_diff_pairs_by_seed_not_by_row_order():
    rows = [{"seed": s, "arm": arm, "v": s + (1.0 if arm == "a" else 0.0) + 0.1 * (s % 2)}
            for arm in ("a", "b") for s in range(6)]
    shuffled = rows[:]
    random.Random(0).shuffle(shuffled)
    e, again = paired_diff(rows, "v", "arm", "a", "b"), paired_diff(shuffled, "v", "arm", "a", "b")
    assert e == again and e.method == "paired-t" and e.value == pytest.approx(1.0)
    # the seed effect (s) is common to both arms: paired, the difference is certain; Welch
    # treats it as noise and its interval covers 0
    welch = diff_ci([r["v"] for r in rows if r["arm"] == "a"],
                    [r["v"] for r in rows if r["arm"] == "b"])
    assert e.low > 0.9 and welch.low < 0


# --------------------------------------------------------------------------- decision rules

def _cnn_measure(acc: dict[str, dict[str, float]], jitter=0.002, n=6) -> dict:
    acts = list(c18_cnn.ACTIVATIONS)
    raw = [{"seed": s, "dataset": d, "activation": a,
            "test_acc": means[a] + jitter * _pattern(i, n)[s]}
           for d, means in acc.items() for i, a in enumerate(acts) for s in range(n)]
    return {"design": {"seeds": list(range(n)), "activations": acts, "datasets": list(acc),
                       "runs": {d: {"steps": 1} for d in acc},
                       "n_test": {d: 1000 for d in acc}}, "raw": raw}


def _accs(relu, best=None, sat=0.70, sigmoid=None):
    return {"relu": relu, "gelu": best or relu, "elu": relu - 0.05, "leaky_relu": relu,
            "tanh": sat, "sigmoid": sat - 0.1 if sigmoid is None else sigmoid}


@pytest.mark.parametrize("mnist, digits, jitter, verdict", [
    (_accs(0.90), _accs(0.97, sat=0.90), 0.002, Verdict.SUPPORTED),
    (_accs(0.85, best=0.90), _accs(0.97, sat=0.90), 0.002, Verdict.PARTLY),
    (_accs(0.90), _accs(0.97, sat=0.97, sigmoid=0.97), 0.002, Verdict.PARTLY),
    (_accs(0.70, best=0.80, sat=0.70, sigmoid=0.70),
     _accs(0.90, best=0.95, sat=0.90, sigmoid=0.90), 0.002, Verdict.REFUTED),
    (_accs(0.70, sat=0.70, sigmoid=0.70), _accs(0.9, sat=0.9, sigmoid=0.9), 0.03,
     Verdict.INCONCLUSIVE),
])
def test_c18_rule_branches(mnist, digits, jitter, verdict):
    m = _cnn_measure({"mnist1d": mnist, "digits": digits}, jitter)
    out = c18_cnn.decide(m)
    assert out.verdict is verdict
    assert out.evidence["mnist1d"]["relu_minus"]["tanh"]["method"] == "paired-t"


def test_c18_too_few_seeds_is_inconclusive():
    one = {a: 0.9 for a in c18_cnn.ACTIVATIONS}
    out = c18_cnn.decide(_cnn_measure({"mnist1d": one, "digits": one}, n=1))
    assert out.verdict is Verdict.INCONCLUSIVE
    two = c18_cnn.decide(_cnn_measure({"mnist1d": _accs(0.9), "digits": _accs(0.97, sat=0.9)},
                                      n=MIN_SEEDS - 1))
    assert two.verdict is Verdict.INCONCLUSIVE and f"Fewer than {MIN_SEEDS}" in two.explanation
    assert two.evidence["mnist1d"]["relu"]["high"] <= 1.0  # reported all the same, bounded
    m = _cnn_measure({"mnist1d": _accs(0.9), "digits": _accs(0.9)})
    for row in m["raw"]:  # every relu run on mnist1d diverged: no interval, no crash
        if row["dataset"] == "mnist1d" and row["activation"] == "relu":
            row["test_acc"] = math.nan
    assert c18_cnn.decide(m).verdict is Verdict.INCONCLUSIVE


def _rnn_measure(relu_cell, tanh_cell, n=5, **override) -> dict:
    conds = c19_rnn.CONDITIONS
    tasks = {"adding": {"metric": "mse", "trivial_loss": 1 / 6, "failure_value": 1 / 6},
             "mnist1d": {"metric": "accuracy", "trivial_loss": math.log(10),
                         "failure_value": 0.1}}
    raw = []
    for t, task in tasks.items():
        for i, (a, make) in enumerate((("relu", relu_cell), ("tanh", tanh_cell))):
            for c in conds:
                values, diverged = make(task["metric"], i, n)
                if a == "relu" and c in override.get(task["metric"], {}):
                    values, diverged = override[task["metric"]][c]
                raw += [{"seed": s, "task": t, "activation": a, "condition": c,
                         "metric": values[s], "diverged": s < diverged} for s in range(n)]
    design = {"seeds": list(range(n)), "conditions": conds, "activations": ["relu", "tanh"],
              "tasks": {t: {**task, "length": 10, "steps": 1} for t, task in tasks.items()},
              "n_test": {"adding": 1000, "mnist1d": 1000}}
    return {"design": design, "raw": raw}


def _cell(good: bool, diverged: int = 0):
    def make(metric, arm, n):
        v = (0.02 if good else 0.165) if metric == "mse" else (0.6 if good else 0.1)
        return list(v + 0.001 * _pattern(arm, n)), diverged
    return make


def test_c19_rule_branches():
    assert c19_rnn.decide(_rnn_measure(_cell(True), _cell(True))).verdict is Verdict.SUPPORTED
    partly = _rnn_measure(_cell(True), _cell(True), mse={"gaussian": ([1 / 6] * 5, 3)})
    out = c19_rnn.decide(partly)
    assert out.verdict is Verdict.PARTLY and "adding/gaussian (3/5 seeds diverged" in \
        out.explanation
    assert c19_rnn.decide(_rnn_measure(_cell(False), _cell(True))).verdict is Verdict.REFUTED
    none = c19_rnn.decide(_rnn_measure(_cell(False), _cell(False)))
    assert none.verdict is Verdict.INCONCLUSIVE
    few = c19_rnn.decide(_rnn_measure(_cell(True), _cell(True), n=1))
    assert few.verdict is Verdict.INCONCLUSIVE
    two = c19_rnn.decide(_rnn_measure(_cell(True), _cell(True), n=MIN_SEEDS - 1))
    assert two.verdict is Verdict.INCONCLUSIVE
    acc = two.evidence["cells"]["mnist1d"]["gaussian"]["relu"]
    assert acc["method"] == "wilson, effective n" and 0 <= acc["low"] <= acc["high"] <= 1


def test_c19_relu_worse_than_tanh_does_not_work():
    worse = _rnn_measure(_cell(True), _cell(True),
                         accuracy={c: (list(0.4 + 0.001 * np.arange(5)), 0)
                                   for c in c19_rnn.CONDITIONS})
    cells = c19_rnn.decide(worse).evidence["cells"]["mnist1d"]
    assert all(not v["not_worse"] and not v["works"] for v in cells.values())
    assert all(v["relu_minus_tanh"]["method"] == "paired-t" for v in cells.values())


def _gan_measure(modes: dict, hq: dict, n=6) -> dict:
    acts = list(c20_gan.ACTIVATIONS)
    raw = [{"seed": s, "activation": a, "finite": True,
            "modes_covered": modes[a] + int(_pattern(i, n)[s] > 0),
            "high_quality": hq[a] + 0.01 * _pattern(i, n)[s]}
           for i, a in enumerate(acts) for s in range(n)]
    return {"design": {"seeds": list(range(n)), "activations": acts, "modes": 8, "n_eval": 2000},
            "raw": raw}


@pytest.mark.parametrize("modes, hq, verdict", [
    ({"relu": 7, "leaky_relu": 7, "tanh": 3}, {"relu": .8, "leaky_relu": .8, "tanh": .3},
     Verdict.SUPPORTED),
    ({"relu": 5, "leaky_relu": 7, "tanh": 3}, {"relu": .5, "leaky_relu": .8, "tanh": .3},
     Verdict.PARTLY),
    ({"relu": 5, "leaky_relu": 3, "tanh": 5}, {"relu": .5, "leaky_relu": .3, "tanh": .5},
     Verdict.PARTLY),
    ({"relu": 3, "leaky_relu": 7, "tanh": 7}, {"relu": .3, "leaky_relu": .8, "tanh": .8},
     Verdict.REFUTED),
    ({"relu": 5, "leaky_relu": 5, "tanh": 5}, {"relu": .5, "leaky_relu": .5, "tanh": .5},
     Verdict.INCONCLUSIVE),
])
def test_c20_rule_branches(modes, hq, verdict):
    assert c20_gan.decide(_gan_measure(modes, hq)).verdict is verdict


def test_c20_too_few_seeds_and_bounded_summaries():
    modes, hq = {"relu": 7, "leaky_relu": 7, "tanh": 3}, {"relu": .8, "leaky_relu": .8, "tanh": .3}
    assert c20_gan.decide(_gan_measure(modes, hq, n=MIN_SEEDS - 1)).verdict is \
        Verdict.INCONCLUSIVE
    summary = c20_gan.decide(_gan_measure(modes, hq)).evidence["summary"]
    for s in summary.values():
        assert 0 <= s["modes_covered"]["low"] <= s["modes_covered"]["high"] <= 8
        assert 0 <= s["high_quality"]["low"] <= s["high_quality"]["high"] <= 1


def _ae_measure(ratios: dict[str, dict[str, float]], n=5) -> dict:
    acts = list(c21_autoencoder.ACTIVATIONS)
    raw = [{"seed": s, "dataset": d, "activation": a,
            "test_mse": 2.0 * (r[a] + 0.005 * _pattern(i, n)[s])}
           for d, r in ratios.items() for i, a in enumerate(acts) for s in range(n)]
    design = {"seeds": list(range(n)), "activations": acts, "datasets": list(ratios),
              "hidden": 64, "code": 8,
              "runs": {d: {"pca_test_mse": 2.0, "input_dim": 4} for d in ratios}}
    return {"design": design, "raw": raw}


@pytest.mark.parametrize("mnist, digits, verdict", [
    ({"relu": .8, "tanh": .9, "identity": 1.0}, {"relu": .7, "tanh": .8, "identity": 1.01},
     Verdict.SUPPORTED),
    ({"relu": .8, "tanh": .9, "identity": 1.0}, {"relu": 1.0, "tanh": .8, "identity": 1.0},
     Verdict.PARTLY),
    ({"relu": 1.2, "tanh": .9, "identity": 1.0}, {"relu": 1.0, "tanh": .8, "identity": 1.0},
     Verdict.REFUTED),
    ({"relu": .5, "tanh": .9, "identity": 1.3}, {"relu": .7, "tanh": .8, "identity": 1.0},
     Verdict.INCONCLUSIVE),  # the linear AE is 30 % above PCA: harness fails
])
def test_c21_rule_branches(mnist, digits, verdict):
    out = c21_autoencoder.decide(_ae_measure({"mnist1d": mnist, "digits": digits}))
    assert out.verdict is verdict
    if verdict is Verdict.INCONCLUSIVE:
        assert "Harness" in out.explanation


def test_c21_diverged_runs_leave_no_interval():
    m = _ae_measure({"mnist1d": {"relu": .8, "tanh": .9, "identity": 1.0},
                     "digits": {"relu": .8, "tanh": .9, "identity": 1.0}})
    for row in m["raw"]:
        if row["dataset"] == "digits" and row["activation"] == "identity" and row["seed"] < 4:
            row["test_mse"] = math.nan
    assert c21_autoencoder.decide(m).verdict is Verdict.INCONCLUSIVE


def test_c21_uses_the_seed_pairing():
    """A seed effect shared by the arms hides relu's gain from Welch but not from pairing."""
    m = _ae_measure({"mnist1d": {"relu": .9, "tanh": .9, "identity": 1.0},
                     "digits": {"relu": .9, "tanh": .9, "identity": 1.0}})
    for row in m["raw"]:
        row["test_mse"] += 0.2 * (row["seed"] - 2)  # the same shift in every arm of a seed
    out = c21_autoencoder.decide(m)
    assert out.verdict is Verdict.SUPPORTED
    effect = out.evidence["digits"]["relu_minus_linear"]
    assert effect["method"] == "paired-t" and effect["high"] < -0.02


# --------------------------------------------------------------------------- probes

def test_adding_problem_targets():
    state = torch.get_rng_state()
    x, y = adding_problem(500, 21, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert torch.equal(markers.sum(1), torch.full((500,), 2.0))
    assert (markers[:, :10].sum(1) == 1).all() and (markers[:, 10:].sum(1) == 1).all()
    expected = torch.stack([values[i][markers[i] == 1].sum() for i in range(500)])
    assert torch.allclose(y.squeeze(1), expected)
    assert abs(float(y.var()) - 1 / 6) < 0.03  # two independent U(0,1): variance 2/12
    x2, y2 = adding_problem(500, 21, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(y, adding_problem(500, 21, seed=4)[1])


@pytest.mark.parametrize("kwargs", [{"n": 0, "length": 5}, {"n": 3, "length": 1},
                                    {"n": 3, "length": 5.0}, {"n": 3, "length": 5, "seed": -1}])
def test_adding_problem_rejects_bad_input(kwargs):
    kwargs.setdefault("seed", 0)
    with pytest.raises(InvalidInputError):
        adding_problem(**kwargs)


def test_rnn_divergence():
    flags = rnn_divergence([0.1, np.nan, 2.0, 0.1, 0.1], [1, 1, 1, 2e3, np.inf],
                           trivial_loss=0.1)
    assert flags.tolist() == [False, True, True, True, True]
    with pytest.raises(InvalidInputError):
        rnn_divergence([0.1], [1.0, 2.0], trivial_loss=0.1)
    with pytest.raises(InvalidInputError):
        rnn_divergence([0.1], [1.0], trivial_loss=0.0)


def test_mode_coverage_counts_hand_built_cases():
    c = ring_centers(8, 2.0)
    rng = np.random.default_rng(0)
    exact = mode_coverage(c[rng.integers(0, 8, 4000)] + 0.02 * rng.standard_normal((4000, 2)),
                          c, std=0.02)
    assert exact.modes_covered == 8 and exact.high_quality > 0.98  # P(chi2_2 <= 9) = 0.989
    far = mode_coverage(np.zeros((100, 2)), c, std=0.02)
    assert far.modes_covered == 0 and far.high_quality == 0.0
    # 90 samples on mode 0, 10 on mode 1: mode 1 holds 10 % >= 1/32, with min_share 0.2 it fails
    pts = np.vstack([np.repeat(c[:1], 90, 0), np.repeat(c[1:2], 10, 0)])
    assert mode_coverage(pts, c, std=0.02).modes_covered == 2
    assert mode_coverage(pts, c, std=0.02, min_share=0.2).modes_covered == 1
    nan = mode_coverage(np.vstack([c[:2], [[np.nan, 0.0]]]), c, std=0.02)
    assert not nan.finite and nan.high_quality == pytest.approx(2 / 3)
    json.dumps(nan.to_dict())
    with pytest.raises(InvalidInputError):
        mode_coverage(np.zeros((3, 3)), c, std=0.02)
    with pytest.raises(InvalidInputError):
        mode_coverage(c, c, std=0.0)


def test_pca_error_matches_eigenvalues_and_sklearn():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 6)) * np.array([3.0, 2.0, 1.5, 1.0, 0.5, 0.1])
    xtr, xte = x[:200], x[200:]
    eig = np.linalg.eigvalsh(np.cov(xtr.T, bias=True))[::-1]
    assert pca_reconstruction_error(xtr, xtr, 2) == pytest.approx(eig[2:].sum() / 6, rel=1e-10)
    p = PCA(3).fit(xtr)
    ref = ((p.inverse_transform(p.transform(xte)) - xte) ** 2).mean()
    assert pca_reconstruction_error(xtr, xte, 3) == pytest.approx(ref, rel=1e-10)
    assert pca_reconstruction_error(xtr, xte, 6) == pytest.approx(0.0, abs=1e-20)
    with pytest.raises(InvalidInputError):
        pca_reconstruction_error(xtr, xte[:, :5], 2)
    with pytest.raises(InvalidInputError):
        pca_reconstruction_error(xtr, xte, 7)


def test_linear_autoencoder_reaches_pca():
    """The C21 harness: a linear AE's test error approaches closed-form PCA with the same code."""
    r = c21_autoencoder.train_autoencoders("digits", [0], 700, None, QUICK.seeds("data", 1)[0])
    (row,) = [row for row in r["rows"] if row["activation"] == "identity"]
    ratio = row["test_mse"] / r["run"]["pca_test_mse"]
    train_ratio = row["train_mse"] / r["run"]["pca_train_mse"]
    assert train_ratio >= 1 - 1e-4  # Eckart-Young: no rank-8 map beats PCA on its own data
    assert abs(ratio - 1) < c21_autoencoder.HARNESS_TOL
