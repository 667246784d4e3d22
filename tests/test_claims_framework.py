"""Every real claim under the framework: one file each, design/raw records, the run's device.

One quick measurement of every claim is made per test session, with each trainer the claims call
replaced by a recorder that passes through to the real one; the tests then read what was
recorded.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path

import pytest

import reluthe.claims
from reluthe._answer_hidden import EVIDENCE_FIELDS
from reluthe._answer_sparse import EVIDENCE_FIELDS as SPARSE_FIELDS
from reluthe.claims import claim_files, registry
from reluthe.claims._base import Context, Settings
from reluthe.claims._catalogue import CATALOGUE, claim_table
from reluthe.claims._records import check_measured, decode, encode

ROOT = Path(__file__).resolve().parents[1]
TRAINERS = ("train_mlps", "fit", "train_stacked")
# The CPU under another name: a claim that passes the context's device on is told apart from one
# that trains on a hard-coded "cpu".
DEVICE = "cpu:0"
CLAIMS = [c for c in registry() if c.implemented]


def _claim_modules():
    for info in pkgutil.walk_packages(reluthe.claims.__path__, "reluthe.claims."):
        yield importlib.import_module(info.name)


@pytest.fixture(scope="session")
def quick_runs(tmp_path_factory):
    """claim id -> (measurement, [device keyword of every trainer call])."""
    calls: list = []
    patched = []
    for module in _claim_modules():
        for name in TRAINERS:
            real = getattr(module, name, None)
            if callable(real):
                def recorder(*args, _real=real, _name=name, **kwargs):
                    calls.append((_name, kwargs.get("device", "<not passed>")))
                    return _real(*args, **kwargs)
                patched.append((module, name, real))
                setattr(module, name, recorder)
    try:
        ctx = Context(Settings(quick=True, seed=0, device=DEVICE))
        runs = {}
        for claim in CLAIMS:
            calls.clear()
            runs[claim.id] = (claim.check.measure(ctx), list(calls))
    finally:
        for module, name, real in patched:
            setattr(module, name, real)
    return runs


def test_each_claim_is_one_file_named_for_its_id():
    files = claim_files()
    assert sorted(files) == [row[0] for row in CATALOGUE]
    for cid, path in files.items():
        parts = Path(path).parts
        assert parts[:2] == ("reluthe", "claims") and len(parts) == 4, path
        assert parts[3].startswith(f"c{cid[1:]}_") and (ROOT / path).is_file(), path


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_measurement_holds_design_and_seeded_raw_rows(claim, quick_runs):
    measured, _ = quick_runs[claim.id]
    check_measured(measured, claim.id)
    assert json.dumps(encode(measured), allow_nan=False)  # JSON as the record stores it


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_decide_on_the_record_gives_the_same_outcome(claim, quick_runs):
    measured, _ = quick_runs[claim.id]
    copy = decode(json.loads(json.dumps(encode(measured), allow_nan=False)))
    a, b = claim.check.decide(measured), claim.check.decide(copy)
    assert (a.verdict, a.key, a.explanation) == (b.verdict, b.key, b.explanation)
    assert json.dumps(encode(a.evidence)) == json.dumps(encode(b.evidence))


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_training_receives_the_context_device(claim, quick_runs):
    measured, calls = quick_runs[claim.id]
    design = measured["design"]
    on_cpu_by_design = design.get("device") == "cpu" and bool(design.get("device_note"))
    assert design.get("device") == DEVICE or on_cpu_by_design, (
        f"{claim.id}: design['device'] is {design.get('device')!r}; it must be the run's device "
        "or 'cpu' with a device_note saying why")
    allowed = {DEVICE, "cpu"} if on_cpu_by_design else {DEVICE}
    wrong = [(name, device) for name, device in calls if device not in allowed]
    assert not wrong, f"{claim.id}: trainer calls without the run's device: {wrong}"


def test_claim_table_in_the_docs_is_generated_from_the_catalogue():
    page = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
    assert page == claim_table(claim_files()), (
        "docs/claims.md is out of date: run `python -m reluthe.claims > docs/claims.md`")


@pytest.mark.parametrize("cid", sorted({**EVIDENCE_FIELDS, **SPARSE_FIELDS}))
def test_the_report_reads_only_evidence_fields_that_decide_declares(cid):
    """The committed default record's evidence (what decide wrote, re-decided by
    test_committed_report) holds every field the report's answers read."""
    record = json.loads((ROOT / "docs" / "report.json").read_text(encoding="utf-8"))
    claim = next(c for c in record["claims"] if c["id"] == cid)
    fields = {**EVIDENCE_FIELDS, **SPARSE_FIELDS}[cid]
    missing = [f for f in fields if f not in claim["evidence"]]
    assert not missing, f"{cid}'s evidence lacks the fields the report reads: {missing}"
