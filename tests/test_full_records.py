"""The recorded --full runs in empirical/results re-decide under the current rules.

Each per-claim record (``2026-12-01-cNN-*.json``: claim, rule, design, raw, verdict) was written
from a ``--full`` (or longer) measurement that the 10-minute default run cannot afford; the
verdict it states must be what today's ``decide`` gives on its raw rows, under today's rule text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reluthe.claims import registry
from reluthe.claims._records import decode

RESULTS = Path(__file__).resolve().parents[1] / "empirical" / "results"
RECORDS = sorted(p for p in RESULTS.glob("*-c[0-9][0-9]*.json")
                 if "claim" in json.loads(p.read_text(encoding="utf-8")))
CHECKS = {c.id: c.check for c in registry()}


def test_there_are_recorded_full_runs():
    assert len(RECORDS) >= 5


@pytest.mark.parametrize("path", RECORDS, ids=[p.stem for p in RECORDS])
def test_a_recorded_full_run_re_decides_to_its_verdict(path):
    rec = json.loads(path.read_text(encoding="utf-8"))
    check = CHECKS[rec["claim"]]
    assert rec["rule"] == check.rule, f"{path.name}: the rule changed since it was recorded"
    out = check.decide({"design": decode(rec["design"]), "raw": decode(rec["raw"])})
    assert str(out.verdict) == rec["verdict"], f"{path.name}: {out.verdict} != {rec['verdict']}"
