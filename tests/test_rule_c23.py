"""C23's rule reaches every verdict it names, on hand-built records."""

from __future__ import annotations

import numpy as np
import torch

from reluthe.claims._base import Verdict
from reluthe.claims._records import check_measured
from reluthe.claims.sparsity import c23_other_regularisers as c23

ALL_UP = {t: 0.03 for t in c23.TECHNIQUES}


def record(effects: dict | None = None, n_data=3, n_model=3, noise=0.002, base=0.4) -> dict:
    """A C23 record: baseline accuracy ``base`` per unit, each technique ``base + effect``
    (ensembling: ensemble minus member mean), unit noise ``noise``; a non-chosen option per arm
    far off, to show decide reads only the chosen ones."""
    effects = effects or {}
    rng = np.random.default_rng(0)
    design = {"data_seeds": list(range(10, 10 + n_data)), "model_seeds": list(range(n_model)),
              "bootstrap_seed": 3, "n_train": 500, "n_test": {"mnist1d": 1000}}
    raw = []
    for d in design["data_seeds"]:
        for m in design["model_seeds"]:
            unit = {"data_seed": d, "seed": m, "lr": 0.01, "strength": None, "val_acc": 0.4,
                    "best_step": 100, "diverged": False}
            b = base + rng.normal(0, noise)
            raw.append(unit | {"part": "baseline", "arm": "baseline", "option": "lr=0.01",
                               "chosen": True, "test_acc": b})
            raw.append(unit | {"part": "baseline", "arm": "baseline", "option": "lr=0.03",
                               "chosen": False, "test_acc": 0.95})
            for t in c23.TECHNIQUES:
                v = b + effects.get(t, 0.0) + rng.normal(0, noise)
                if t == "ensembling":
                    raw.append(unit | {"part": "ensemble", "arm": t, "option": "3 members",
                                       "chosen": True, "member_seeds": [m, 100 + m],
                                       "ensemble_acc": v, "member_mean_acc": b})
                    continue
                for chosen, acc in ((True, v), (False, 0.05)):
                    raw.append(unit | {"part": "technique", "arm": t, "chosen": chosen,
                                       "option": f"{t} {chosen}", "test_acc": acc})
            for a, delta in (("tanh", 0.02), ("gelu", -0.01), ("identity", -0.1)):
                raw.append(unit | {"part": "activation", "arm": a, "option": "lr=0.01",
                                   "chosen": True, "test_acc": b + delta + rng.normal(0, noise)})
    return {"design": design, "raw": raw}


def test_every_verdict_is_reachable():
    assert c23.decide(record(ALL_UP)).verdict == Verdict.SUPPORTED
    partly = c23.decide(record({"transfer": 0.05, "l2": 0.03}))
    assert partly.verdict == Verdict.PARTLY
    assert partly.evidence["family_state"] == {"augmentation": "does not improve",
                                               "regularisation": "improves",
                                               "ensembling": "does not improve",
                                               "transfer": "improves"}
    hurts = c23.decide(record({t: -0.03 for t in c23.TECHNIQUES}))
    assert hurts.verdict == Verdict.REFUTED
    assert c23.decide(record()).verdict == Verdict.REFUTED  # ties within the margin
    unclear = c23.decide(record(noise=0.05))
    assert unclear.verdict == Verdict.INCONCLUSIVE and "cannot rule out" in unclear.explanation


def test_too_few_data_seeds_or_units_is_inconclusive():
    for n in (1, 2):
        out = c23.decide(record(ALL_UP, n_data=n))
        assert out.verdict == Verdict.INCONCLUSIVE and "seed" in out.explanation
    m = record(ALL_UP)
    for row in [r for r in m["raw"] if r["arm"] == "dropout" and r["chosen"]][2:]:
        row["diverged"] = True
    out = c23.decide(m)
    assert out.verdict == Verdict.INCONCLUSIVE and "2 usable seed unit" in out.explanation


def test_diverged_units_are_dropped_and_named():
    m = record(ALL_UP)
    row = next(r for r in m["raw"] if r["arm"] == "dropout" and r["chosen"])
    row["diverged"], row["test_acc"] = True, float("nan")
    out = c23.decide(check_measured(m, "C23"))
    assert out.verdict == Verdict.SUPPORTED
    assert out.evidence["dropped_units"] == {"dropout": [[row["data_seed"], row["seed"]]]}
    assert out.evidence["effects"]["dropout"]["n"] == 3


def test_only_chosen_options_are_read():
    m = record(ALL_UP)
    out = c23.decide(m)
    assert abs(out.evidence["effects"]["l2"]["value"] - 0.03) < 0.01
    assert out.evidence["chosen"]["l2"] == "l2 True"
    assert set(out.evidence["activation_effects"]) == {"tanh", "gelu", "identity"}


def test_augment_per_member_strength():
    x = torch.arange(10.0).repeat(3, 4, 1)
    out = c23._augment(x, torch.Generator().manual_seed(0), shift=[0, 2, 0], noise=[0.0, 0.0, 1.0])
    assert torch.equal(out[0], x[0])
    for row in out[1]:
        assert any(torch.equal(row, torch.roll(x[0, 0], s)) for s in range(-2, 3))
    assert not torch.equal(out[2], x[2])


def test_plot_labels_in_words(tmp_path):
    names = c23.plot(record(ALL_UP), tmp_path)
    assert names == ["c23_effect_sizes.png"] and (tmp_path / names[0]).exists()
