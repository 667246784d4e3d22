"""The plateau diagnostic of C18 and C21: how many kept runs were still improving at the end.

A run whose best-validation step lies in the last ``1 - LATE`` of training had not reached a
plateau. The share is reported beside the verdict, never used by it.

Examples
--------
>>> late_share([{"best_step": 100}, {"best_step": 450}], steps=500)
0.5
"""

from __future__ import annotations

__all__ = ["LATE", "late_share", "notes"]

LATE = 0.8  # a best-validation step in the last 20 % of training: not yet at a plateau


def late_share(kept: list[dict], steps: int) -> float:
    """Share of ``kept`` runs whose best-validation step is at or after ``LATE * steps``."""
    if not kept:
        return float("nan")
    return sum(r["best_step"] >= LATE * steps for r in kept) / len(kept)


def notes(per: dict) -> str:
    """Diverged runs and the plateau diagnostic of every cell (``per``: cell name -> fields
    with ``diverged`` and ``late_share``), for the explanation.

    Examples
    --------
    >>> text = notes({"mnist1d": {"diverged": ["relu lr=0.01 unit seed 3"], "late_share": 0.25}})
    >>> text.startswith(" Diverged runs left out: mnist1d: relu"), text.endswith("mnist1d 25%.")
    (True, True)
    """
    diverged = [f"{c}: {', '.join(f['diverged'])}" for c, f in per.items() if f["diverged"]]
    late = ", ".join(f"{c} {f['late_share']:.0%}" for c, f in per.items())
    return ((f" Diverged runs left out: {'; '.join(diverged)}." if diverged else "")
            + f" Kept runs whose best validation came in the last {1 - LATE:.0%} of training "
            f"(not yet at a plateau): {late}.")
