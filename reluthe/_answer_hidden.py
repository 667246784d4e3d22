"""The report's answer to the article's second question, composed from this run's evidence.

"Why use ReLU as the activation of hidden layers?" The article's reasons are gradient flow
(C05, C15), trainability of deep networks (C09), cheap computation (C06, C10) and, implicitly,
that ReLU does not belong on the output (C24). :func:`answer_hidden_layers` turns the evidence
of whichever of these claims ran into sentences with their numbers. The evidence fields it reads
are declared in :data:`EVIDENCE_FIELDS` (a test checks that each claim's ``decide`` produces
them); a claim that did not run, or whose record lacks a declared field, is left out rather than
guessed.

Examples
--------
>>> c05 = {"verdict": "partly supported", "evidence": {"deepest_depth": 32,
...        "mechanism": {"state": "holds", "relu_counts": {"n_pos": 900, "n_neg": 800}},
...        "relu_states": {"he": "holds", "default": "fails"},
...        "at_deepest_depth": {"relu/he": {"log10_ratio": {"value": -0.1}},
...                             "relu/default": {"log10_ratio": {"value": -12.1}}}}}
>>> print(answer_hidden_layers({"C05": c05}))
Gradient flow (C05): on the active path relu passes the gradient unchanged and elsewhere
exactly 0 (the mechanism the article states holds on 900 active and 800 inactive entries); at
depth 32 at initialisation the first-to-last-layer gradient ratio is 10^-0.1 under he (holds)
and 10^-12.1 under default (fails), so "no vanishing gradients" holds under he only.
"""

from __future__ import annotations

from reluthe._answers import decided_claims, evidence_with

__all__ = ["answer_hidden_layers", "EVIDENCE_FIELDS"]

# The evidence fields of each claim that the answer reads; nothing else of the record is read.
EVIDENCE_FIELDS: dict[str, tuple[str, ...]] = {
    "C05": ("deepest_depth", "mechanism", "relu_states", "at_deepest_depth"),
    "C09": ("deepest_depth", "reach"),
    "C06": ("cpu",),
    "C10": ("per_activation",),
    "C24": (),
}


def _evidence(claim: dict | None, cid: str) -> dict | None:
    """The claim's evidence when it holds every field of :data:`EVIDENCE_FIELDS`, else
    ``None``."""
    return evidence_with(claim, EVIDENCE_FIELDS[cid])


def _value(d, *keys):
    """``d[k1][k2]...["value"]`` (or the plain number), ``None`` where any part is missing."""
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    if isinstance(d, dict):
        d = d.get("value")
    return d if isinstance(d, (int, float)) else None


def _gradients(ev: dict) -> str | None:
    states = ev["relu_states"] or {}
    parts = []
    for init, state in states.items():
        v = _value(ev, "at_deepest_depth", f"relu/{init}", "log10_ratio")
        if v is not None:
            parts.append(f"10^{v:.1f} under {init} ({state})")
    if not parts:
        return None
    mech = ev["mechanism"] or {}
    counts = mech.get("relu_counts") or {}
    holds = [i for i, st in states.items() if st == "holds"]
    text = ("Gradient flow (C05): on the active path relu passes the gradient unchanged and "
            "elsewhere exactly 0 (the mechanism the article states "
            f"{mech.get('state', 'is not decided')}"
            + (f" on {counts['n_pos']} active and {counts['n_neg']} inactive entries"
               if "n_pos" in counts and "n_neg" in counts else "")
            + f"); at depth {ev['deepest_depth']} at initialisation the first-to-last-layer "
            f"gradient ratio is {', '.join(parts[:-1])}" + (" and " if len(parts) > 1 else "")
            + parts[-1] + ", so \"no vanishing gradients\" "
            + (f"holds under {' and '.join(holds)} only" if holds and len(holds) < len(states)
               else "holds under every init" if holds else "holds under no init"))
    return text + "."


def _trainability(ev: dict, verdict: str) -> str | None:
    reach = ev["reach"]
    if not isinstance(reach, dict) or not reach:
        return None
    inits = list(dict.fromkeys(k.split("/")[1] for k in reach))
    acts = [a for a in ("relu", "tanh", "sigmoid")
            if any(k.startswith(a + "/") for k in reach)]
    per = "; ".join(f"{a} " + "/".join(str(reach.get(f"{a}/{i}") or "-") for i in inits)
                    for a in acts)
    versus = []
    for other in (a for a in acts if a != "relu"):
        pairs = [(reach.get(f"relu/{i}"), reach.get(f"{other}/{i}")) for i in inits]
        pairs = [(r or 0, o or 0) for r, o in pairs if r is not None and o is not None]
        if pairs:
            deeper = sum(r > o for r, o in pairs)
            same = sum(r == o for r, o in pairs)
            versus.append(f"compared with {other}, relu reaches deeper under {deeper}, as deep "
                          f"under {same} and less deep under {len(pairs) - deeper - same} of "
                          f"{len(pairs)} inits")
    return (f"Trainability (C09): the deepest depth up to which each learns within the budget "
            f"({'/'.join(inits)} init) is {per}, of depths up to {ev['deepest_depth']}"
            + "".join(f"; {v}" for v in versus)
            + f"; the verdict is {verdict}.")


def _c06_cost(c06: dict | None) -> str | None:
    cpu = (_evidence(c06, "C06") or {"cpu": {}})["cpu"] or {}
    names = [n for n in ("tanh", "sigmoid") if n in cpu]
    ratios = {(n, t): _value(cpu, n, t) for n in names
              for t in ("alone_pooled", "forward_only_pooled", "step")}
    if not names or any(v is None for v in ratios.values()):
        return None
    def each(t):
        return " and ".join(f"{ratios[(n, t)]:.2f}× ({n})" for n in names)
    dear = [n for n in names if cpu[n].get("step_state") == "slower"]
    return (f"Cost (C06): relative to relu, the activation alone takes {each('alone_pooled')} "
            f"of the time in training and {each('forward_only_pooled')} in inference, but a "
            f"whole training step {each('step')}, because matrix products dominate"
            + (f"; only the step with {', '.join(dear)} is measurably dearer" if dear else
               "; no activation's step is measurably dearer") + ".")


def _c10_budget(c10: dict | None) -> str | None:
    per = (_evidence(c10, "C10") or {"per_activation": {}})["per_activation"] or {}
    if not per:
        return None
    parts = []
    for a, p in per.items():
        states = [b.get("state") for b in (p.get("budgets") or {}).values()]
        ahead = sum(s == "ahead" for s in states)
        ratio = _value(p, "time_to_target_ratio")
        parts.append(f"against {a} relu is ahead at {ahead} of {len(states)} time budgets"
                     + (f" and reaches the target accuracy {ratio:.1f}× sooner "
                        f"({p.get('time_state')})" if ratio is not None else "")
                     + ("" if p.get("step_cheaper") else ", with a step that is not cheaper"))
    return ("Under matched time budgets (C10) " + "; ".join(parts)
            + f"; the verdict is {c10['verdict']}.")


def _cost(c06: dict | None, c10: dict | None) -> str | None:
    parts = [p for p in (_c06_cost(c06), _c10_budget(c10)) if p]
    return " ".join(parts) or None


def _output(c24: dict) -> str | None:
    key = c24.get("key")
    if not key:
        return None
    return f"Output layer (C24, {c24['verdict']}): {key}."


def answer_hidden_layers(by_id: dict[str, dict]) -> str | None:
    """Sentences answering "why ReLU in hidden layers?" from the claims of a run.

    Parameters
    ----------
    by_id : dict
        Claim records of a run (as in ``docs/report.json``) by claim id.

    Returns
    -------
    str or None
        One paragraph, or ``None`` when none of C05, C09, C06, C10, C24 has usable evidence.
    """
    decided = decided_claims(by_id)
    c05, c09 = _evidence(decided.get("C05"), "C05"), _evidence(decided.get("C09"), "C09")
    parts = [
        _gradients(c05) if c05 is not None else None,
        _trainability(c09, decided["C09"]["verdict"]) if c09 is not None else None,
        _cost(decided.get("C06"), decided.get("C10")) if {"C06", "C10"} & set(decided) else None,
        _output(decided["C24"]) if "C24" in decided else None,
    ]
    parts = [p for p in parts if p]
    return " ".join(parts) if parts else None
