"""What the report's answers to the article's questions share: which claims of a run decided,
and the evidence of a claim when it holds the fields an answer reads."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["decided_claims", "evidence_with"]


def decided_claims(by_id: dict[str, dict]) -> dict[str, dict]:
    """The claims of a run (by id) that reached a verdict (not missing, not implemented, no
    error).

    Examples
    --------
    >>> sorted(decided_claims({"C01": {"verdict": "supported"}, "C02": {"verdict": "error"}}))
    ['C01']
    """
    return {cid: c for cid, c in by_id.items()
            if c.get("verdict") not in (None, "not implemented", "error")}


def evidence_with(claim: dict | None, fields: Iterable[str]) -> dict | None:
    """The claim's evidence when it holds every one of ``fields``, else ``None``.

    Examples
    --------
    >>> evidence_with({"evidence": {"a": 1}}, ["a"]), evidence_with({"evidence": {}}, ["a"])
    ({'a': 1}, None)
    """
    ev = (claim or {}).get("evidence")
    if not isinstance(ev, dict) or any(f not in ev for f in fields):
        return None
    return ev
