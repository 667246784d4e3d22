"""The claims registry: every claim of CLAIMS.md with its check, in id order.

Checks live in one module per claim family; each exposes ``CHECKS: dict[str, Check]``. A claim
whose check is not written yet is listed with ``check=None`` and reported as "not implemented",
never given a verdict.

Examples
--------
>>> from reluthe.claims import registry
>>> [c.id for c in registry()][:3]
['C01', 'C02', 'C03']
"""

from __future__ import annotations

import importlib

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

__all__ = ["registry", "Check", "Claim", "ClaimResult", "Context", "Outcome", "Settings", "Verdict"]

FAMILIES = (
    "reluthe.claims.symbolic_claims",
    "reluthe.claims.sparsity",
    "reluthe.claims.gradients",
    "reluthe.claims.architectures",
)


def registry() -> list[Claim]:
    """All claims in id order, each with its check where one is implemented."""
    checks = {}
    for family in FAMILIES:
        module = importlib.import_module(family)
        for cid, check in module.CHECKS.items():
            if cid in checks:
                raise RuntimeError(f"claim {cid} is checked by two families")
            checks[cid] = check
    known = {row[0] for row in CATALOGUE}
    unknown = sorted(set(checks) - known)
    if unknown:
        raise RuntimeError(f"checks for unknown claim ids {unknown}; add them to the catalogue")
    return [Claim(*row, check=checks.get(row[0])) for row in CATALOGUE]
