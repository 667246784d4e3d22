"""Checks of the claims in this family (filled in by their issue)."""

from __future__ import annotations

from reluthe.claims._base import Check

CHECKS: dict[str, Check] = {}
