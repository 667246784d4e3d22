"""C08's rule reaches each of its verdicts on hand-built records."""

from __future__ import annotations

import numpy as np

from reluthe.claims._base import Verdict
from reluthe.claims.sparsity import c08_salient_features as c08

L1, SHIFT = c08.label({"l1_activity": c08.L1}), c08.label({"bias_shift": c08.SHIFT})
DESIGN = {"bootstrap_seed": 0, "main": ["mnist1d", "mnist5k"],
          "sweep": [{"dataset": "mnist1d", "sparser": L1, "denser": "plain"},
                    {"dataset": "mnist1d", "sparser": "plain", "denser": SHIFT}]}


def _arm(dataset, activation, arm, probe, near, n_data=3, n_model=3, noise=0.002, train=0.95):
    """One row per (data seed, model seed); probe accuracy and near-zero fraction per layer."""
    rng = np.random.default_rng(abs(hash((dataset, activation, arm))) % 2**32)
    out = []
    for d in range(n_data):
        for m in range(n_model):
            p = probe + noise * rng.standard_normal(2)
            out.append({"part": "arm", "dataset": dataset, "activation": activation, "arm": arm,
                        "data_seed": d, "seed": 10 + m, "diverged": False,
                        "probe_test": p.tolist(), "near_zero_layers": [near, near],
                        "zero_fraction_layers": [near if activation == "relu" else 0.0] * 2,
                        "test_acc": float(p[-1]), "train_acc": train})
    return out


def _measured(sweep_probe, other_probe, moved=True, others_train=0.95, relu_train=0.95,
              **kw) -> dict:
    """sweep_probe: probe accuracy of the (L1, plain, bias-shifted) ReLU arms on mnist1d."""
    near = (0.8, 0.5, 0.3) if moved else (0.5, 0.5, 0.5)
    raw = [{"part": "input", "dataset": "mnist1d", "data_seed": 0, "seed": None,
            "probe_test": 0.3}]
    for arm, p, z in zip((L1, "plain", SHIFT), sweep_probe, near):
        raw += _arm("mnist1d", "relu", arm, p, z, train=relu_train, **kw)
    raw += _arm("mnist5k", "relu", "plain", sweep_probe[1], 0.5, train=relu_train, **kw)
    for name in ("mnist1d", "mnist5k"):
        for act in ("tanh", "gelu"):
            raw += _arm(name, act, "plain", other_probe, 0.05, train=others_train, **kw)
    return {"design": DESIGN, "raw": raw}


def test_supported_when_sparser_features_decode_better():
    out = c08.decide(_measured((0.75, 0.70, 0.65), 0.60))
    assert out.verdict == Verdict.SUPPORTED
    assert {c["result"] for c in out.evidence["sparsity_moved"]} == {"better"}
    matched = out.evidence["matched_sparsity"][0]
    assert matched["relu_arm"] == SHIFT  # the ReLU arm nearest to tanh's near-zero fraction


def test_refuted_when_sparser_features_decode_worse():
    assert c08.decide(_measured((0.65, 0.70, 0.75), 0.75)).verdict == Verdict.REFUTED


def test_refuted_when_every_comparison_is_a_tie():
    assert c08.decide(_measured((0.70, 0.70, 0.70), 0.70)).verdict == Verdict.REFUTED


def test_partly_when_the_statistics_disagree():
    assert c08.decide(_measured((0.75, 0.70, 0.65), 0.80)).verdict == Verdict.PARTLY


def test_wins_over_unfitted_nets_do_not_count():
    out = c08.decide(_measured((0.75, 0.70, 0.65), 0.60, others_train=0.7))
    assert out.verdict == Verdict.PARTLY
    assert {c["result"] for c in out.evidence["relu_vs_non_sparse"]} == {
        "fit differs (other not fitted)"}


def test_the_fit_clause_is_symmetric():
    """A loss of relu to better-fitted nets does not count either."""
    out = c08.decide(_measured((0.75, 0.70, 0.65), 0.80, relu_train=0.8, others_train=0.95))
    assert {c["result"] for c in out.evidence["relu_vs_non_sparse"]} == {
        "fit differs (relu not fitted)"}


def test_sparsity_that_did_not_move_is_not_counted():
    out = c08.decide(_measured((0.75, 0.70, 0.65), 0.60, moved=False))
    assert {c["result"] for c in out.evidence["sparsity_moved"]} == {"not moved"}
    assert out.verdict == Verdict.PARTLY


def test_inconclusive_when_nothing_separates():
    m = _measured((0.70, 0.70, 0.70), 0.70, moved=False)
    for r in m["raw"]:  # relu minus the others: -10, 0, +10 pp by data seed
        if r["part"] == "arm" and r["activation"] != "relu":
            r["probe_test"] = [0.70 + (r["data_seed"] - 1) * 0.1] * 2
    out = c08.decide(m)
    assert {c["result"] for c in out.evidence["relu_vs_non_sparse"]} == {"unclear"}
    assert out.verdict == Verdict.INCONCLUSIVE


def test_inconclusive_with_too_few_data_seeds():
    out = c08.decide(_measured((0.75, 0.70, 0.65), 0.60, n_data=2))
    assert out.verdict == Verdict.INCONCLUSIVE and "2 data seed" in out.explanation


def test_diverged_members_are_named_and_excluded():
    m = _measured((0.75, 0.70, 0.65), 0.60)
    for r in m["raw"]:
        if r.get("activation") == "tanh" and r["dataset"] == "mnist5k" and r["seed"] == 10:
            r["diverged"], r["probe_test"] = True, [float("nan")] * 2
    out = c08.decide(m)
    assert len(out.evidence["diverged"]) == 3 and "mnist5k/tanh/plain" in out.explanation
    assert out.verdict == Verdict.INCONCLUSIVE  # 2 model seeds left for tanh on mnist5k


def test_intervals_resample_data_seeds_not_members():
    m = _measured((0.75, 0.70, 0.65), 0.60)
    m["raw"] += [dict(r, seed=99) for r in m["raw"] if r.get("seed") == 10]  # more members
    out = c08.decide(m)
    for c in out.evidence["sparsity_moved"] + out.evidence["relu_vs_non_sparse"]:
        assert c["probe_diff"]["n"] == 3 and "cluster bootstrap" in c["probe_diff"]["method"]


def record(n_data: int = 3) -> dict:
    """A C08 record with ``n_data`` data seeds (sparser ReLU features decode better)."""
    return _measured((0.75, 0.70, 0.65), 0.60, n_data=n_data)
