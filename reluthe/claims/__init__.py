"""The claims registry: every claim of CLAIMS.md with its check, in id order.

Each claim is one file ``reluthe/claims/<family>/cNN_<topic>.py`` defining ``RULE``, ``measure``,
``decide`` and ``plot``; each family package lists its claim modules and exposes
``CHECKS: dict[str, Check]``. A claim whose check is not written yet is listed with ``check=None``
and reported as "not implemented", never given a verdict. Adding a claim: one file in its family
(and the family's ``CLAIMS`` tuple), one row of :data:`~reluthe.claims._catalogue.CATALOGUE`, and
its test.

Examples
--------
>>> from reluthe.claims import registry
>>> [c.id for c in registry()][:3]
['C01', 'C02', 'C03']
"""

from __future__ import annotations

from reluthe.claims import architectures, gradients, sparsity, symbolic  # noqa: E402  (families)
from reluthe.claims._base import (
    Check,
    Claim,
    ClaimResult,
    Context,
    Outcome,
    Settings,
    Verdict,
)
from reluthe.claims._catalogue import CATALOGUE

__all__ = ["registry", "claim_files", "Check", "Claim", "ClaimResult", "Context", "Outcome",
           "Settings", "Verdict"]

FAMILIES = (symbolic, sparsity, gradients, architectures)


def registry() -> list[Claim]:
    """All claims in id order, each with its check where one is implemented."""
    checks = {}
    for family in FAMILIES:
        for cid, check in family.CHECKS.items():
            if cid in checks:
                raise RuntimeError(f"claim {cid} is checked by two families")
            checks[cid] = check
    known = {row[0] for row in CATALOGUE}
    unknown = sorted(set(checks) - known)
    if unknown:
        raise RuntimeError(f"checks for unknown claim ids {unknown}; add them to the catalogue")
    return [Claim(*row, check=checks.get(row[0])) for row in CATALOGUE]


def claim_files() -> dict[str, str]:
    """Claim id -> the file that checks it, relative to the repository root.

    Examples
    --------
    >>> claim_files()["C01"]
    'reluthe/claims/symbolic/c01_definition.py'
    """
    return {c.id: c.check.measure.__module__.replace(".", "/") + ".py"
            for c in registry() if c.implemented}
