"""The Markdown report, rendered from a run record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reluthe import check_claims
from reluthe import claims as claims_pkg
from reluthe.check_claims import main
from reluthe.claims import Check, Claim, Outcome, Verdict
from reluthe.claims._catalogue import CATALOGUE
from reluthe.report import rebuild, render

VERDICTS = ["supported", "partly supported", "refuted", "inconclusive", "not testable",
            "not implemented", "error"]


def claim(cid, verdict="supported", **extra):
    row = next(r for r in CATALOGUE if r[0] == cid)
    entry = {"id": cid, "section": row[1], "quote": row[2], "statement": row[3],
             "verdict": verdict, "key": f"key of {cid}", "rule": f"rule of {cid}",
             "evidence": {}, "explanation": f"Explanation of {cid}. More detail.",
             "figures": [], "runtime_s": 0.5, "needs": row[4]}
    if verdict == "not implemented":
        entry.update(key="—", rule=None, explanation="")
    entry.update(extra)
    return entry


def record(claims, **extra):
    run = {"reluthe_version": "9.9.9", "seed": 7, "quick": False, "device": "cpu", "jobs": 2,
           "backend": "loky", "code_version": "abcdef1234567890", "started": "2026-05-01T12:00:00",
           "runtime_s": 42.0, "figures_href": "figures",
           "environment": {"python": "3.11.7", "torch": "2.13.0", "numpy": "2.0",
                           "platform": "Linux-x86_64", "device": "cpu", "gpu": None,
                           "cpu_count": 2, "torch_threads": 2,
                           "packages": {"sympy": "1.14", "networkx": "3.6", "regioncam": None,
                                        "ray": None}},
           "tools_imported": ["sympy"], "claims": claims}
    run.update(extra)
    return run


def test_every_claim_verdict_and_figure_appears():
    claims = [claim(row[0], VERDICTS[i % len(VERDICTS)],
                    figures=[f"{row[0].lower()}_a.png", f"{row[0].lower()}_b.png"])
              for i, row in enumerate(CATALOGUE)]
    text = render(record(claims))
    table = text[text.index("## Verdicts"):text.index("## Provenance")]
    for c in claims:
        badge = (f'<span class="verdict verdict-{c["verdict"].replace(" ", "-")}">'
                 f'**{c["verdict"]}**</span>')
        assert f"| [{c['id']}](#{c['id'].lower()}) |" in table
        assert f"| {badge} |" in table
        assert f'<a id="{c["id"].lower()}"></a>' in text
        assert f"**Verdict:** {badge}" in text
        assert c["quote"] in text and c["statement"] in text
        for name in c["figures"]:  # a figure block linking to the full-size image
            assert (f'<figure class="report-figure" markdown>\n\n'
                    f"[![{name}](figures/{name})](figures/{name})\n\n</figure>") in text
    assert "rule of C01" in text and "Explanation of C01. More detail." in text
    # not implemented claims say what is to be measured instead of a rule
    not_impl = next(c for c in claims if c["verdict"] == "not implemented")
    assert f"**To be measured or derived.** {not_impl['needs']}" in text
    assert text.index("## Verdicts") < text.index("## Claims") < text.index("three questions")
    assert text.rstrip().endswith("|")  # the tools table of question 3 closes the report


def test_provenance_block():
    text = render(record([claim("C01", measurement={"cached": True, "measure_s": 3.0,
                                                    "measured_at": "2026-04-30T10:00:00",
                                                    "code_version": "x", "current_code": True})]))
    block = text[text.index("## Provenance"):text.index("## Claims")]
    for needle in ["reluthe 9.9.9", "`abcdef123456`", "seed 7", "full protocol", "jobs 2",
                   "Python 3.11.7", "torch 2.13.0", "numpy 2.0", "Linux-x86_64", "2 CPUs",
                   "started 2026-05-01T12:00:00", "run time 42 s", "1 loaded from the cache",
                   "measured 2026-04-30T10:00:00"]:
        assert needle in block, needle
    quick = render(record([], quick=True))
    assert "quick (small versions, not evidence)" in quick


def test_estimates_and_scalars():
    evidence = {"acc": {"value": 0.81234, "low": 0.8, "high": 0.825, "n": 5,
                        "confidence": 0.95, "method": "t"},
                "single": {"value": 0.5, "low": None, "high": None, "n": 1},
                "missing": None, "flag": True, "count": 12, "name": "relu"}
    text = render(record([claim("C01", evidence=evidence)]))
    assert "**Evidence.**\n\n| quantity | value |\n|---|---|\n" in text
    assert "| acc | 0.8123 [0.8, 0.825] (n=5) |" in text
    assert "| single | 0.5 (n=1, no CI) |" in text
    assert "| missing | n/a |" in text and "| flag | yes |" in text
    assert "| count | 12 |" in text and "| name | relu |" in text


def _evidence_block(text: str) -> str:
    start = text.index("**Evidence.**")
    return text[start:text.index("**Explanation.**", start)]


def test_nested_evidence_becomes_tables():
    est = {"value": 0.9, "low": 0.85, "high": 0.95, "n": 5}
    evidence = {
        "by_activation": {"relu": {"acc": est, "gap": 0.01}, "tanh": {"acc": est, "gap": 0.02}},
        "runs": [{"depth": d, "loss": 0.1 * d} for d in range(1, 40)],
        "long": list(range(100)),
        "lrs": {"relu": 0.03, "tanh": 0.01},
        "deep": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}},
        "pipe": "a|b",
        "diverged": [],
        "intervals": [est, est],
    }
    block = _evidence_block(render(record([claim("C05", evidence=evidence)])))
    assert "\n- " not in block  # no key dumps: tables only
    assert "| long | [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … (100 items)] |" in block
    assert "| lrs › relu | 0.03 |" in block and "| lrs › tanh | 0.01 |" in block  # flat dict
    assert "| pipe | a\\|b |" in block and "| diverged | none |" in block
    assert "| intervals | [0.9 [0.85, 0.95] (n=5), 0.9 [0.85, 0.95] (n=5)] |" in block
    assert "*by_activation*\n\n|  | acc | gap |\n|---|---|---|\n" in block  # records: a table
    assert "| relu | 0.9 [0.85, 0.95] (n=5) | 0.01 |" in block
    assert "*runs*\n\n| depth | loss |" in block and "| 30 | 3 |" in block
    assert "9 more rows (see the JSON record)" in block and "| 31 | 3.1 |" not in block
    assert "*deep › a › b › c*\n\n{d: {e: {f: 1}}}" in block  # nesting stops at a readable depth


def test_records_with_many_fields_are_transposed():
    fields = {f"f{i}": i for i in range(12)}
    block = _evidence_block(render(record([claim("C05", evidence={
        "cells": {"a": fields, "b": {**fields, "f11": -1}}})])))
    assert "*cells*\n\n|  | a | b |\n|---|---|---|\n| f0 | 0 | 0 |" in block
    assert "| f11 | 11 | -1 |" in block and "more columns" not in block
    wide = _evidence_block(render(record([claim("C05", evidence={
        "rows": [fields] * 9})])))  # many records and many fields: columns are cut, and said so
    assert "| f0 | f1 |" in wide and "| f8 |" not in wide
    assert "… 4 more columns (see the JSON record)" in wide


def test_every_verdict_has_a_badge_style():
    css = (Path(__file__).resolve().parents[1] / "docs" / "stylesheets"
           / "extra.css").read_text()
    for verdict in Verdict:
        slug = verdict.value.replace(" ", "-")
        assert f".verdict-{slug} {{" in css, f"docs/stylesheets/extra.css lacks .verdict-{slug}"
        assert f'class="verdict verdict-{slug}"' in render({"claims": [
            {"id": "C01", "verdict": verdict.value}]})


def test_rebuild_writes_the_rendering_of_a_record(tmp_path):
    run = record([claim("C01", evidence={"x": 1})])
    (tmp_path / "r.json").write_text(json.dumps(run))
    assert rebuild(tmp_path / "r.json") == tmp_path / "report.md"
    assert (tmp_path / "report.md").read_text() == render(run)
    assert rebuild(tmp_path / "r.json", tmp_path / "o" / "x.md").read_text() == render(run)


def test_table_cells_escape_pipes():
    evidence = {"rows": [{"name": "a|b", "x": 1}, {"name": "c", "x": 2}]}
    text = render(record([claim("C02", evidence=evidence, key="|x| = 1")]))
    assert "| a\\|b | 1 |" in text and "\\|x\\| = 1" in text


def _question(text, number):
    start = text.index(f"### {number}.")
    end = text.find("### ", start + 4)
    return text[start:] if end < 0 else text[start:end]


def test_questions_are_composed_from_verdicts():
    q1 = ["C03", "C04", "C08", "C11", "C13"]
    all_supported = render(record([claim(c) for c in q1]))
    q = _question(all_supported, 1)
    assert "this run supports the article's answer" in q
    assert all(f"**[{c}](#{c.lower()})**" in q and f"key of {c}" in q for c in q1)

    mixed = render(record([claim("C03"), claim("C04", "refuted"), claim("C08", "partly supported"),
                           claim("C11"), claim("C13", "not implemented")]))
    q = _question(mixed, 1)
    assert "The evidence contradicts the article on C04." in q
    assert "On C08 the article is right only under a condition" in q
    assert "The answer is incomplete: C13 has no verdict in this run." in q
    assert "*refuted*: key of C04. Explanation of C04." in q
    assert "supports the article's answer" not in q

    q2 = _question(render(record([claim("C05", "inconclusive")])), 2)
    assert "On C05 the measurements cannot separate the outcomes" in q2
    assert "**C09**: not in this run" in q2
    assert "C15, C09, C06, C10, C17, C24 have no verdict" in q2

    nothing = _question(render(record([claim(c, "not implemented") for c in q1])), 1)
    assert "cannot answer it yet" in nothing and "not implemented" in nothing


def test_question_two_is_answered_from_the_evidence():
    c05 = claim("C05", "partly supported")
    c05["evidence"] = {"deepest_depth": 32,
                       "mechanism": {"state": "holds", "relu_counts": {"n_pos": 7, "n_neg": 5}},
                       "relu_states": {"default": "fails", "he": "holds"},
                       "at_deepest_depth": {"relu/default": {"log10_ratio": {"value": -12.13}},
                                            "relu/he": {"log10_ratio": {"value": -0.07}}}}
    c09 = claim("C09", "partly supported")
    c09["evidence"] = {"deepest_depth": 32, "reach": {"relu/he": 16, "relu/default": 0,
                                                      "tanh/he": 8, "tanh/default": 4}}
    c10 = claim("C10", "partly supported")
    c10["evidence"] = {"per_activation": {
        "sigmoid": {"budgets": {"100": {"state": "ahead"}, "200": {"state": "unclear"}},
                    "time_to_target_ratio": {"value": 6.7}, "time_state": "relu faster",
                    "step_cheaper": False}}}
    c06 = claim("C06", "partly supported")
    c06["evidence"] = {"cpu": {n: {"alone_pooled": {"value": v}, "forward_only_pooled":
                                   {"value": 2 * v}, "step": {"value": 1.01},
                                   "step_state": "same"}
                               for n, v in (("tanh", 1.06), ("sigmoid", 1.23))}}
    q2 = _question(render(record([c05, c09, c10, claim("C24")])), 2)
    assert "10^-12.1 under default (fails) and 10^-0.1 under he (holds)" in q2
    assert "holds on 7 active and 5 inactive entries" in q2
    assert '"no vanishing gradients" holds under he only' in q2
    assert "(he/default init) is relu 16/-; tanh 8/4, of depths up to 32" in q2
    assert ("compared with tanh, relu reaches deeper under 1, as deep under 0 and less deep "
            "under 1 of 2 inits") in q2
    assert ("against sigmoid relu is ahead at 1 of 2 time budgets and reaches the target "
            "accuracy 6.7× sooner (relu faster), with a step that is not cheaper; the verdict "
            "is partly supported") in q2
    assert "Output layer (C24, supported): key of C24." in q2
    assert "Cost (C06)" not in q2  # C06 did not run: nothing is guessed
    with_cost = _question(render(record([c06])), 2)
    assert ("takes 1.06× (tanh) and 1.23× (sigmoid) of the time in training and 2.12× (tanh) "
            "and 2.46× (sigmoid) in inference") in with_cost
    bare = _question(render(record([claim("C05"), claim("C09")])), 2)  # no evidence fields
    assert "Gradient flow" not in bare and "Trainability" not in bare


def test_question_three_lists_tools_from_the_record():
    q = _question(render(record([claim("C01"), claim("C02", "not implemented")])), 3)
    assert "reluthe 9.9.9" in q and "gave 1 of the 2 claims in this run a verdict" in q
    assert "| SymPy | 1.14 | yes |" in q and "| NetworkX | 3.6 | no |" in q
    assert "| regioncam | no | no |" in q
    assert "Ray" not in q  # optional cluster engines only when installed or used


def test_report_rebuilds_from_the_json_record(monkeypatch, tmp_path):
    def measure(ctx):
        return {"design": {"table": {"relu": {"a": 1.0}, "tanh": {"a": 2.0}}},
                "raw": [{"seed": s, "value": v} for s, v in zip(ctx.seeds("model", 3),
                                                                (0.1, 0.2, 0.3))]}

    def decide(m):
        return Outcome(Verdict.PARTLY, "0.2", {"table": m["design"]["table"]},
                       "Holds with He init.")

    def draw(m, figures_dir):
        (figures_dir / "c04_fig.png").write_bytes(b"png")
        return ["c04_fig.png"]

    check = Check("rule", measure, decide, draw)
    monkeypatch.setattr(claims_pkg, "registry",
                        lambda: [Claim(*row, check=check if row[0] == "C04" else None)
                                 for row in CATALOGUE])
    monkeypatch.setattr(check_claims, "code_version", lambda: "v")
    report = tmp_path / "docs" / "report.md"
    assert main(["--json", str(tmp_path / "docs" / "report.json"), "--report", str(report),
                 "--figures", str(tmp_path / "docs" / "figures"),
                 "--cache-dir", str(tmp_path / "c")]) == 0
    run = json.loads((tmp_path / "docs" / "report.json").read_text())
    assert render(run) == report.read_text()
    assert "![c04_fig.png](figures/c04_fig.png)" in report.read_text()
    assert "On C04 the article is right only under a condition" in report.read_text()


@pytest.mark.parametrize("run", [{"claims": []}, {"claims": [{"id": "C07",
                                                              "verdict": "not testable"}]}])
def test_minimal_records_render(run):
    text = render(run)
    assert text.startswith("# ") and text.endswith("\n")


def test_question_one_is_answered_from_the_evidence():
    est = {"value": 0.03, "low": -0.29, "high": 0.38}
    c04 = claim("C04", "inconclusive")
    c04["evidence"] = {"comparisons": {"A: rho(sparsity, gap)": {"estimate": est,
                                                                  "class": "unclear"},
                                       "C: shuffled minus true sparsity": {
                                           "estimate": {"value": -0.067}, "class": "x"}},
                       "reported": {"rho(Jacobian, gap)": {"value": 0.33, "low": 0.1,
                                                           "high": 0.5}},
                       "shuffled": {"n": 9, "n_fitted": 9, "zero_fraction_mean": 0.56}}
    c13 = claim("C13", "inconclusive")
    c13["evidence"] = {"D_train_trained": {"value": 0.09, "low": 0.04, "high": 0.14},
                       "D_test_trained": {"value": 0.18}, "margin": 0.0953}
    q1 = _question(render(record([c04, c13])), 1)
    assert "rho(sparsity, gap) = 0.03 [-0.29, 0.38] (unclear)" in q1
    assert "rho(Jacobian, gap) = 0.33 [0.10, 0.50]" in q1
    assert "(9/9 fitted) have 56% zeros, -6.7 points against" in q1
    assert "exp(0.09 [0.04, 0.14]) times as many region boundaries" in q1
    assert "is not shown by these numbers (C04 inconclusive)" in q1
    assert "Features (C08)" not in q1  # C08 did not run: nothing is guessed
