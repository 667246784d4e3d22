"""Claims C07, C18–C21 (architectures): quick runs, records, rules and the probes behind them."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from reluthe import data
from reluthe.claims._base import Context, Settings, Verdict
from reluthe.claims._records import check_measured, decode, encode
from reluthe.claims.architectures import (
    CHECKS,
    CLAIMS,
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
        if row["diverged"]:  # scored 0 modes whatever its frozen generator draws
            assert row["modes_covered"] == 0
            continue
        share = m["design"]["min_share"] * m["design"]["n_eval"]
        assert sum(c >= share for c in row["mode_counts"]) == row["modes_covered"]
        assert len(row["samples"]) == m["design"]["n_shown"]


# --------------------------------------------------------------------------- paired statistic

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

# C18 and C21: tests/test_rule_c18.py and tests/test_rule_c21.py
# C19 and C20: tests/test_rule_c19.py and tests/test_rule_c20.py


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
    data_seed = QUICK.seeds("data", 1)[0]
    proto = {"lrs": (3e-3,), "steps": 700, "eval_every": 100, "batch": 128, "n_train": None}
    r = c21_autoencoder.train_autoencoders("digits", 8, [0], [data_seed], proto)
    (row,) = [row for row in r["rows"] if row["activation"] == "identity"]
    xtr = data.load("digits", seed=data_seed, val_size=c21_autoencoder.VAL_SIZE).x_train
    train_ratio = row["train_mse"] / pca_reconstruction_error(xtr.double(), xtr.double(), 8)
    assert train_ratio >= 1 - 1e-4  # Eckart-Young: no rank-8 map beats PCA on its own data
    assert abs(row["test_mse"] / row["pca_test_mse"] - 1) < c21_autoencoder.HARNESS_TOL
