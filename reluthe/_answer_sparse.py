"""The report's answer to the article's first question, composed from this run's evidence.

"How does ReLU's sparse activation affect generalization?" The article's answer is that the
exact zeros of ReLU make networks sparse (C03), that sparsity improves generalization (C04), that
sparse features are the salient ones (C08), that ReLU networks therefore generalize better than
others (C11), and that the regions of a ReLU network are dense where the data is (C13).
:func:`answer_sparsity` turns the evidence of whichever of these claims ran into sentences with
their numbers, and says where the numbers contradict the article. The evidence fields it reads
are declared in :data:`EVIDENCE_FIELDS` (a test checks that each claim's ``decide`` produces
them); a claim that did not run, or whose record lacks a declared field, is left out rather than
guessed.

Examples
--------
>>> c11 = {"verdict": "partly supported", "evidence": {
...     "counts": {"win": 0, "tie": 3, "loss": 1, "unclear": 5, "fit differs": 1},
...     "gap_counts": {"win": 0, "loss": 0}, "ood_counts": {"win": 1, "loss": 0},
...     "vs_identity": [{"dataset": "mnist1d", "result": "win", "diff": {"value": 0.285}}]}}
>>> print(answer_sparsity({"C11": c11}))
Other activations (C11, each with its own learning rate): relu wins 0, ties 3 and loses 1 of
10 test-accuracy comparisons with other nonlinear activations (5 unclear, 1 with unequal fit);
the train − test gap at matched fit is smaller for relu in 0 and larger in 0 comparisons, and
out-of-distribution accuracy higher in 1 and lower in 0. Against a linear model relu gains
+28.5 points (mnist1d). The gain is that of nonlinearity; relu is not the activation that
generalizes best. Against the article: that ReLU networks are sparse is measured, but that the
sparsity is what makes them generalize is not shown by these numbers (C11 partly supported).
"""

from __future__ import annotations

from reluthe._answers import decided_claims, evidence_with

__all__ = ["answer_sparsity", "EVIDENCE_FIELDS"]

# The evidence fields of each claim that the answer reads; nothing else of the record is read.
EVIDENCE_FIELDS: dict[str, tuple[str, ...]] = {
    "C03": ("layers", "glorot"),
    "C04": ("comparisons", "reported", "shuffled"),
    "C08": ("sparsity_moved", "relu_vs_non_sparse"),
    "C11": ("counts", "gap_counts", "ood_counts", "vs_identity"),
    "C13": ("D_train_trained", "D_test_trained", "margin"),
}


def _evidence(claim: dict | None, cid: str) -> dict | None:
    """The claim's evidence when it holds every field of :data:`EVIDENCE_FIELDS`, else
    ``None``."""
    return evidence_with(claim, EVIDENCE_FIELDS[cid])


def _ci(e: dict | None, scale: float = 1.0, digits: int = 2) -> str:
    """``value [low, high]`` of an estimate dict (no interval: the value alone)."""
    if not isinstance(e, dict) or not isinstance(e.get("value"), (int, float)):
        return "n/a"
    text = f"{e['value'] * scale:.{digits}f}"
    if isinstance(e.get("low"), (int, float)) and isinstance(e.get("high"), (int, float)):
        text += f" [{e['low'] * scale:.{digits}f}, {e['high'] * scale:.{digits}f}]"
    return text


def _sparse(ev: dict) -> str:
    """C03: how sparse ReLU layers are, at init and after training."""
    layers = [f"{100 * r['trained']['value']:.0f}% ({r['dataset']} layer {r['layer']}, "
              f"{100 * r['init']['value']:.0f}% at init)" for r in ev["layers"]
              if isinstance(r.get("trained"), dict) and isinstance(r.get("init"), dict)]
    glorot = (ev["glorot"] or {}).get("zero_fraction")
    text = "Sparsity (C03): trained ReLU layers output exact zeros on " + "; ".join(layers)
    if isinstance(glorot, dict):
        text += (f"; a Glorot et al. (2011) style net with an L1 activity penalty reaches "
                 f"{100 * glorot['value']:.0f}% (they report 83%)")
    return text + "."


def _features(ev: dict) -> str:
    """C08: are sparser features easier to decode?"""
    def count(rows, result):
        return sum(r.get("result") == result for r in rows)
    moved, versus = ev["sparsity_moved"], ev["relu_vs_non_sparse"]
    return (f"Features (C08): making ReLU layers sparser with the activation fixed makes a linear "
            f"probe better in {count(moved, 'better')} and worse in {count(moved, 'worse')} of "
            f"{len(moved)} layer comparisons ({count(moved, 'unclear')} unclear); against "
            f"activations without exact zeros ReLU's features win {count(versus, 'win')}, tie "
            f"{count(versus, 'tie')} and lose {count(versus, 'loss')} of {len(versus)}.")


def _generalization(ev: dict, verdict: str) -> str:
    """C04: does sparsity go with generalization, beyond regularisation?"""
    comps = ev["comparisons"]
    def name(key: str) -> str:  # "A: rho(sparsity, gap)" -> "rho(sparsity, gap)"
        return key.split(": ", 1)[-1]
    rho = {name(k): v for k, v in comps.items() if name(k).startswith("rho(sparsity")}
    split = {name(k): v for k, v in comps.items() if " L1 " in k}
    jac = ev["reported"].get("rho(Jacobian, gap)")
    sh = ev["shuffled"]
    text = ("Sparsity and generalization (C04): over ReLU nets made sparser or denser by L1 and "
            "L2 activity penalties and leaky slopes, "
            + "; ".join(f"{k} = {_ci(v.get('estimate'))} ({v.get('class')})"
                        for k, v in rho.items())
            + "".join(f"; {k}: {_ci(v.get('estimate'), 100, 1)} points ({v.get('class')})"
                      for k, v in split.items())
            + f"; the input–output Jacobian norm instead gives rho(Jacobian, gap) = {_ci(jac)}")
    if sh.get("n"):
        control = next((v.get("estimate") for k, v in comps.items() if "shuffled" in k), None)
        text += (f"; nets that memorise shuffled labels ({sh.get('n_fitted')}/{sh.get('n')} "
                 f"fitted) have {100 * (sh.get('zero_fraction_mean') or 0):.0f}% zeros"
                 + (f", {_ci(control, 100, 1)} points against the nets trained on the true "
                    f"labels" if isinstance(control, dict) else ""))
    return text + f"; the verdict is {verdict}."


def _others(ev: dict) -> str:
    """C11: relu against other activations at their own learning rates."""
    n = ev["counts"]
    total = sum(n.get(k, 0) for k in ("win", "tie", "loss", "unclear", "fit differs"))
    floor = [f"{100 * f['diff']['value']:+.1f} points ({f['dataset']})"
             for f in ev["vs_identity"] if isinstance(f.get("diff"), dict)]
    text = (f"Other activations (C11, each with its own learning rate): relu wins "
            f"{n.get('win', 0)}, ties {n.get('tie', 0)} and loses {n.get('loss', 0)} of {total} "
            f"test-accuracy comparisons with other nonlinear activations ({n.get('unclear', 0)} "
            f"unclear, {n.get('fit differs', 0)} with unequal fit); the train − test gap at "
            f"matched fit is smaller for relu in {ev['gap_counts'].get('win', 0)} and larger in "
            f"{ev['gap_counts'].get('loss', 0)} comparisons, and out-of-distribution accuracy "
            f"higher in {ev['ood_counts'].get('win', 0)} and lower in "
            f"{ev['ood_counts'].get('loss', 0)}.")
    if floor:
        text += " Against a linear model relu gains " + ", ".join(floor) + "."
    if n.get("win", 0) < total / 2:
        text += (" The gain is that of nonlinearity; relu is not the activation that generalizes "
                 "best.")
    return text


def _regions(ev: dict, verdict: str) -> str:
    """C13: are a trained ReLU net's regions denser along the data than off it?"""
    return (f"Regions near the data (C13): a trained ReLU net crosses exp("
            f"{_ci(ev['D_train_trained'])}) times as many region boundaries along chords between "
            f"training points as along the same chords turned about the origin (test chords: "
            f"exp({_ci(ev['D_test_trained'])})), against a margin of ±{ev['margin']:.2f}; the "
            f"verdict is {verdict}.")


def answer_sparsity(by_id: dict[str, dict]) -> str | None:
    """Sentences answering "how does sparse activation affect generalization?".

    Parameters
    ----------
    by_id : dict
        Claim records of a run (as in ``docs/report.json``) by claim id.

    Returns
    -------
    str or None
        One paragraph, or ``None`` when none of the claims behind the question has usable
        evidence.
    """
    decided = decided_claims(by_id)
    ev = {cid: _evidence(decided.get(cid), cid) for cid in EVIDENCE_FIELDS}
    parts = [
        _sparse(ev["C03"]) if ev["C03"] else None,
        _generalization(ev["C04"], decided["C04"]["verdict"]) if ev["C04"] else None,
        _features(ev["C08"]) if ev["C08"] else None,
        _others(ev["C11"]) if ev["C11"] else None,
        _regions(ev["C13"], decided["C13"]["verdict"]) if ev["C13"] else None,
    ]
    parts = [p for p in parts if p]
    if not parts:
        return None
    return " ".join(parts + [_against_the_article(decided)])


def _against_the_article(decided: dict) -> str:
    """Where the verdicts on the causal claims (C04, C11) leave the article's answer."""
    causal = {cid: decided[cid]["verdict"] for cid in ("C04", "C11") if cid in decided}
    if causal and all(v == "supported" for v in causal.values()):
        return "Taken together, the numbers bear out the article's answer."
    said = ", ".join(f"{cid} {v}" for cid, v in causal.items())
    return ("Against the article: that ReLU networks are sparse is measured, but that the "
            "sparsity is what makes them generalize is not shown by these numbers"
            + (f" ({said})" if said else "") + ".")
