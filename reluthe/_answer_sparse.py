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
generalizes best.
"""

from __future__ import annotations

__all__ = ["answer_sparsity", "EVIDENCE_FIELDS"]

# The evidence fields of each claim that the answer reads; nothing else of the record is read.
EVIDENCE_FIELDS: dict[str, tuple[str, ...]] = {
    "C04": ("comparisons", "reported", "shuffled"),
    "C11": ("counts", "gap_counts", "ood_counts", "vs_identity"),
    "C13": ("D_train_trained", "D_test_trained", "margin"),
}


def _evidence(claim: dict | None, cid: str) -> dict | None:
    """The claim's evidence when it holds every declared field, else ``None``."""
    ev = (claim or {}).get("evidence")
    if not isinstance(ev, dict) or any(f not in ev for f in EVIDENCE_FIELDS[cid]):
        return None
    return ev


def _ci(e: dict | None, scale: float = 1.0, digits: int = 2) -> str:
    """``value [low, high]`` of an estimate dict (no interval: the value alone)."""
    if not isinstance(e, dict) or not isinstance(e.get("value"), (int, float)):
        return "n/a"
    text = f"{e['value'] * scale:.{digits}f}"
    if isinstance(e.get("low"), (int, float)) and isinstance(e.get("high"), (int, float)):
        text += f" [{e['low'] * scale:.{digits}f}, {e['high'] * scale:.{digits}f}]"
    return text


def _generalization(ev: dict, verdict: str) -> str:
    """C04: does sparsity go with generalization, beyond regularisation?"""
    comps = ev["comparisons"]
    rho = {k: v for k, v in comps.items() if k.startswith("rho(sparsity")}
    jac = ev["reported"].get("rho(Jacobian, gap)")
    sh = ev["shuffled"]
    parts = [f"{k} = {_ci(v.get('estimate'))} ({v.get('class')})" for k, v in rho.items()]
    text = ("Sparsity and generalization (C04): over ReLU nets made sparser or denser by L1 and "
            "L2 activity penalties and leaky slopes, " + "; ".join(parts)
            + f", while the input–output Jacobian norm gives rho(Jacobian, gap) = {_ci(jac)}")
    if sh.get("n"):
        text += (f"; nets that memorise shuffled labels ({sh.get('n_fitted')}/{sh.get('n')} "
                 f"fitted) have {100 * (sh.get('zero_fraction_mean') or 0):.0f}% zeros")
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
    decided = {cid: c for cid, c in by_id.items()
               if c.get("verdict") not in (None, "not implemented", "error")}
    ev = {cid: _evidence(decided.get(cid), cid) for cid in EVIDENCE_FIELDS}
    parts = [
        _generalization(ev["C04"], decided["C04"]["verdict"]) if ev["C04"] else None,
        _others(ev["C11"]) if ev["C11"] else None,
        _regions(ev["C13"], decided["C13"]["verdict"]) if ev["C13"] else None,
    ]
    parts = [p for p in parts if p]
    return " ".join(parts) if parts else None
