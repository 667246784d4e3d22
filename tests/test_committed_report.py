"""The committed report (docs/report.json, docs/report.md, docs/figures) is a real, complete run.

The committed numbers come from a full default run; this test checks their structure against a
``--quick`` run made here (same keys, not the same numbers), that every claim has a verdict from
the vocabulary, that the Markdown report is the rendering of the JSON, and that every figure it
links exists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reluthe.check_claims import main
from reluthe.claims import Verdict
from reluthe.claims._catalogue import CATALOGUE
from reluthe.report import render

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
QUICK_IDS = ["C12", "C14", "C16"]  # cheap claims: a --quick run of them takes seconds


@pytest.fixture(scope="module")
def committed() -> dict:
    path = DOCS / "report.json"
    if not path.exists():
        pytest.fail("docs/report.json is missing: run `make claims` and commit docs/")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("quick")
    code = main(["--quick", "--only", ",".join(QUICK_IDS), "--json", str(out / "r.json"),
                 "--report", str(out / "r.md"), "--figures", str(out / "fig"),
                 "--cache-dir", str(out / "cache")])
    assert code == 0
    return json.loads((out / "r.json").read_text())


def test_committed_run_is_a_full_default_run_of_every_claim(committed):
    assert committed["quick"] is False
    assert [c["id"] for c in committed["claims"]] == [row[0] for row in CATALOGUE]
    allowed = {v.value for v in Verdict} - {"not implemented", "error"}
    assert {c["verdict"] for c in committed["claims"]} <= allowed
    assert all(c["rule"] and c["key"] for c in committed["claims"])


def test_committed_structure_matches_a_quick_run(committed, quick):
    assert set(committed) == set(quick)
    assert set(committed["environment"]) == set(quick["environment"])
    by_id = {c["id"]: c for c in committed["claims"]}
    for claim in quick["claims"]:
        ours = by_id[claim["id"]]
        assert set(ours) - {"replication"} == set(claim)  # a --replicate run adds replication
        assert set(ours["evidence"]) == set(claim["evidence"]), claim["id"]
        assert ours["rule"] == claim["rule"], f"{claim['id']}: rule changed since the report"


def test_markdown_report_is_the_rendering_of_the_json(committed):
    assert (DOCS / "report.md").read_text() == render(committed)


def test_every_linked_figure_exists(committed):
    text = (DOCS / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links, "the report links no figure"
    for link in links:
        assert (DOCS / link).is_file(), link
    for claim in committed["claims"]:
        for name in claim["figures"]:
            assert (DOCS / "figures" / name).is_file(), name


def test_readme_verdict_table_matches_the_committed_run(committed):
    rows = re.findall(r"^\| (C\d\d) \| .* \| \*\*(.+?)\*\* \|$", (REPO / "README.md").read_text(),
                      flags=re.M)
    assert rows == [(c["id"], c["verdict"]) for c in committed["claims"]]


def test_committed_record_redecides_from_its_raw_rows(capsys):
    assert main(["--redecide", str(DOCS / "report.json")]) == 0, capsys.readouterr().err
    assert "all verdicts reproduced" in capsys.readouterr().out


def test_a_replication_of_the_default_protocol_is_recorded():
    files = sorted((REPO / "empirical" / "results").glob("*replication*.json"))
    assert files, "no recorded --replicate run in empirical/results/"
    rec = json.loads(files[-1].read_text())
    assert rec["quick"] is False and rec["replicate"] >= 3
    assert len(rec["master_seeds"]) == rec["replicate"]
    assert [c["id"] for c in rec["claims"]] == [row[0] for row in CATALOGUE]
    for claim in rec["claims"]:
        rep = claim["replication"]
        assert rep["master_seeds"] == rec["master_seeds"], claim["id"]
        assert len(rep["verdicts"]) == rec["replicate"], claim["id"]
        assert rep["stable"] == (len(set(rep["verdicts"])) == 1), claim["id"]
    assert rec["unstable"] == [c["id"] for c in rec["claims"] if not c["replication"]["stable"]]
