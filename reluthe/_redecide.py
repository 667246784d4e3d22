"""Re-decide every verdict of a run record from the record alone (``check_claims --redecide``).

Each claim entry of the JSON record holds the ``design`` and ``raw`` rows that its ``decide``
read. Re-deciding loads them, runs the claim's ``decide`` again (no training, no measurement) and
compares the verdict, the key line, the evidence and the explanation with what the record says.
A difference, or data that ``decide`` cannot use, is a :class:`Mismatch` naming the claim and
the field: a record edited by hand, or one written by another reluthe version whose rule has
changed, is found this way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reluthe._runner import check_outcome, to_json_ready
from reluthe.claims._base import Claim, Verdict
from reluthe.claims._records import MeasurementError, check_measured, decode

__all__ = ["Mismatch", "redecide"]

_COMPARED = ("verdict", "key", "evidence", "explanation")
_SKIPPED = (Verdict.NOT_IMPLEMENTED.value, Verdict.ERROR.value)


@dataclass(frozen=True)
class Mismatch:
    """One field of one claim that re-deciding did not reproduce."""

    claim: str
    field: str
    detail: str

    def __str__(self) -> str:
        return f"{self.claim}: {self.field}: {self.detail}"


def _first_difference(recorded, derived, path: str) -> str | None:
    """Path and values of the first place where two JSON values differ, else ``None``."""
    if isinstance(recorded, dict) and isinstance(derived, dict):
        for key in sorted(set(recorded) | set(derived)):
            if key not in recorded or key not in derived:
                side = "record" if key not in recorded else "re-decided result"
                return f"{path}[{key!r}] is missing from the {side}"
            found = _first_difference(recorded[key], derived[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(recorded, list) and isinstance(derived, list):
        if len(recorded) != len(derived):
            return f"{path} has {len(recorded)} items in the record, {len(derived)} re-decided"
        for i, (a, b) in enumerate(zip(recorded, derived)):
            found = _first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    same = (recorded == derived or (isinstance(recorded, float) and isinstance(derived, float)
                                    and math.isclose(recorded, derived, rel_tol=1e-12)))
    if same and type(recorded) is type(derived):
        return None
    return f"{path} is {recorded!r} in the record, {derived!r} re-decided"


def _redecide_entry(claim: Claim, entry: dict) -> list[Mismatch]:
    cid = claim.id
    missing = [name for name in ("design", "raw", *_COMPARED) if name not in entry]
    if missing:
        return [Mismatch(cid, name, "missing from the record") for name in missing]
    measured = decode({"design": entry["design"], "raw": entry["raw"]})
    try:
        check_measured(measured, cid)
        outcome = check_outcome(claim.check.decide(measured))
    except MeasurementError as exc:
        return [Mismatch(cid, "raw", str(exc))]
    except Exception as exc:  # the record does not hold what this decide reads
        return [Mismatch(cid, "raw", f"decide failed on the recorded data: "
                                     f"{type(exc).__name__}: {exc}".splitlines()[0])]
    derived = to_json_ready({"verdict": outcome.verdict.value, "key": outcome.key,
                             "evidence": outcome.evidence, "explanation": outcome.explanation},
                            "outcome", finite=True)
    problems = []
    for name in _COMPARED:
        found = _first_difference(entry[name], derived[name], name)
        if found:
            problems.append(Mismatch(cid, name, found))
    return problems


def redecide(record: dict, claims: Sequence[Claim]) -> tuple[list[str], list[Mismatch]]:
    """Re-decide every claim of ``record``; return (ids re-decided, mismatches).

    Parameters
    ----------
    record : dict
        A run record as written by ``check_claims --json``.
    claims : sequence of Claim
        The registry (``reluthe.claims.registry()``): the ``decide`` functions to apply.

    Examples
    --------
    >>> redecide({"claims": [{"id": "C99", "verdict": "supported"}]}, [])
    ([], [Mismatch(claim='C99', field='id', detail='no such claim in this reluthe version')])
    """
    if not isinstance(record, dict) or not isinstance(record.get("claims"), list):
        return [], [Mismatch("record", "claims", "not a run record: no list of claims")]
    by_id = {c.id: c for c in claims}
    done, problems = [], []
    for i, entry in enumerate(record["claims"]):
        cid = entry.get("id") if isinstance(entry, dict) else None
        if cid is None:
            problems.append(Mismatch(f"claims[{i}]", "id", "entry without a claim id"))
            continue
        if entry.get("verdict") in _SKIPPED:
            continue
        claim = by_id.get(cid)
        if claim is None or not claim.implemented:
            problems.append(Mismatch(cid, "id", "no such claim in this reluthe version"))
            continue
        found = _redecide_entry(claim, entry)
        problems += found
        done.append(cid)
    return done, problems
