"""The command line ``python -m reluthe.check_claims``, run on fake claims.

Fake checks replace the registry so that these tests are fast and do not depend on the real
claims; one test runs the real ``--list`` in a subprocess.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import reluthe
from reluthe import check_claims
from reluthe import claims as claims_pkg
from reluthe.check_claims import main
from reluthe.claims import Check, Claim, Outcome, Verdict
from reluthe.claims._catalogue import CATALOGUE
from reluthe.stats import mean_ci

ALL_IDS = [row[0] for row in CATALOGUE]
REPO = Path(__file__).resolve().parents[1]


class Fakes:
    """Fake checks by claim id, and how often each measure ran."""

    def __init__(self):
        self.checks: dict[str, Check] = {}
        self.calls: Counter = Counter()

    def add(self, cid, verdict=Verdict.SUPPORTED, *, measure=None, plot=True):
        def counted(ctx):
            self.calls[cid] += 1
            if measure is not None:
                return {"design": measure(ctx), "raw": [{"seed": ctx.seed}]}
            return {"design": {"gap": math.nan},
                    "raw": [{"seed": s, "acc": 0.5 + 0.01 * (i + ctx.seed)}
                            for i, s in enumerate(ctx.seeds("model", 5))]}

        def decide(measured):
            m = dict(measured["design"])
            if "acc" in measured["raw"][0]:
                m["acc"] = [row["acc"] for row in measured["raw"]]
            est = mean_ci(m["acc"]).to_dict() if "acc" in m else m
            return Outcome(verdict, f"acc {est['value']:.3f}" if "acc" in m else "see evidence",
                           {"acc": est, "gap": m.get("gap")}, f"Fake {cid} explanation.")

        def draw(m, figures_dir):
            name = f"{cid.lower()}_fake.png"
            (figures_dir / name).write_bytes(b"fake png")
            return [name]

        self.checks[cid] = Check(f"fake rule of {cid}", counted, decide, draw if plot else None)


@pytest.fixture
def fakes(monkeypatch):
    state = Fakes()
    monkeypatch.setattr(
        claims_pkg, "registry",
        lambda: [Claim(*row, check=state.checks.get(row[0])) for row in CATALOGUE])
    # Other engineers edit reluthe/ while tests run: pin the code version so cache keys are stable.
    monkeypatch.setattr(check_claims, "code_version", lambda: "test-code-version")
    return state


def run(tmp_path, *args):
    return main(["--json", str(tmp_path / "out" / "run.json"),
                 "--report", str(tmp_path / "out" / "report.md"),
                 "--figures", str(tmp_path / "out" / "figures"),
                 "--cache-dir", str(tmp_path / "cache"), *map(str, args)])


def record(tmp_path) -> dict:
    def no_nan(token):
        raise AssertionError(f"JSON contains {token}")

    return json.loads((tmp_path / "out" / "run.json").read_text(), parse_constant=no_nan)


def test_list_shows_every_claim(fakes, capsys):
    fakes.add("C05")
    assert main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == ALL_IDS
    assert " implemented " in rows["C05"] and "not implemented" in rows["C04"]


def test_list_real_registry_in_subprocess():
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "reluthe.check_claims", "--list"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    ids = [line.split()[0] for line in proc.stdout.splitlines()[1:]]
    assert ids == ALL_IDS
    print(f"--list took {elapsed:.2f} s")


def test_only_selects_claims_case_insensitively(fakes, tmp_path):
    fakes.add("C01")
    fakes.add("C04")
    assert run(tmp_path, "--only", "c04, C01") == 0
    assert [c["id"] for c in record(tmp_path)["claims"]] == ["C01", "C04"]
    assert fakes.calls == Counter({"C01": 1, "C04": 1})


def test_json_schema(fakes, tmp_path, capsys):
    fakes.add("C01")
    assert run(tmp_path, "--quick", "--seed", "3") == 0
    rec = record(tmp_path)
    types = {"reluthe_version": str, "seed": int, "quick": bool, "environment": dict,
             "runtime_s": float, "claims": list, "code_version": str, "started": str,
             "summary": dict, "device": str, "jobs": int, "backend": str}
    for key, kind in types.items():
        assert isinstance(rec[key], kind), key
    assert rec["reluthe_version"] == reluthe.__version__
    assert rec["seed"] == 3 and rec["quick"] is True and rec["full"] is False
    env = rec["environment"]
    for key, kind in {"python": str, "torch": str, "numpy": str, "platform": str, "device": str,
                      "cpu_count": int, "torch_threads": int}.items():
        assert isinstance(env[key], kind), key
    assert len(rec["claims"]) == 24
    assert rec["summary"] == {"supported": 1, "not implemented": 23}
    c01 = rec["claims"][0]
    for key, kind in {"id": str, "section": str, "quote": str, "statement": str, "verdict": str,
                      "rule": str, "evidence": dict, "figures": list, "runtime_s": float,
                      "key": str, "explanation": str, "measurement": dict}.items():
        assert isinstance(c01[key], kind), key
    assert c01["verdict"] == "supported" and c01["figures"] == ["c01_fake.png"]
    assert c01["evidence"]["gap"] is None  # NaN is written as null
    assert c01["evidence"]["acc"]["n"] == 5
    assert c01["evidence"]["acc"]["value"] == pytest.approx(0.5 + 0.01 * (2 + 3))
    not_impl = rec["claims"][1]
    assert not_impl["verdict"] == "not implemented" and not_impl["rule"] is None
    out = capsys.readouterr().out
    assert "1 supported, 23 not implemented" in out


@pytest.mark.parametrize("args, reason", [
    (["--seed", "x"], "invalid int value: 'x'"),
    (["--seed", "-1"], "--seed"),
    (["--jobs", "0"], "--jobs: must be an integer >= 1"),
    (["--only", "C04,C99"], "C99; valid ids are C01, C02"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--device", "tpu"], "invalid choice: 'tpu'"),
    (["--backend", "nope"], "unknown joblib backend 'nope'"),
    (["--figures-only", "--no-cache"], "cannot be combined"),
    (["--quick", "--full"], "argument --full: not allowed with argument --quick"),
    (["--backend", "dask"], "--backend dask sends units to its workers only with --jobs 2"),
    (["--backend", "ray", "--jobs", "1"], "--backend ray sends units to its workers only"),
    (["--scheduler", "tcp://h:8786", "--jobs", "2"], "it needs --backend dask, not --backend loky"),
    (["--heartbeat", "-1"], "--heartbeat: must be a number of seconds >= 0"),
    (["--heartbeat", "inf"], "--heartbeat: must be a number of seconds >= 0"),
])
def test_usage_errors_exit_2(fakes, tmp_path, capsys, args, reason):
    fakes.add("C01")
    assert run(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert reason in err and err.startswith("usage:")
    assert fakes.calls == Counter() and not (tmp_path / "out").exists()


def test_settings_refuse_quick_and_full_together():
    from reluthe.claims._base import Settings
    from reluthe.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="quick=True or full=True, not both"):
        Settings(quick=True, full=True)
    assert Settings(full=True).to_dict()["full"] is True


def test_full_reaches_the_measurements_and_the_report(fakes, tmp_path):
    seen = []
    fakes.add("C01", measure=lambda ctx: seen.append((ctx.quick, ctx.full)) or {"x": 1})
    assert run(tmp_path, "--full") == 0
    assert seen == [(False, True)] and record(tmp_path)["full"] is True
    assert "full-size grids (--full)" in (tmp_path / "out" / "report.md").read_text()


def test_cuda_unavailable_is_a_usage_error(fakes, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    fakes.add("C01")
    assert run(tmp_path, "--device", "cuda") == 2
    assert "CUDA is not available" in capsys.readouterr().err


@pytest.mark.parametrize("backend, module", [("ray", "ray.util.joblib"),
                                             ("dask", "dask.distributed")])
def test_missing_cluster_backend_is_a_usage_error(fakes, tmp_path, capsys, monkeypatch, backend,
                                                  module):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if it were not installed
    assert run(tmp_path, "--backend", backend, "--jobs", "2") == 2
    assert f"pip install 'reluthe[{backend}]'" in capsys.readouterr().err


def test_help_returns_0_without_exiting(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--figures-only" in out and "register" in out and "exit codes" in out


def test_strict_exits_1_on_a_refuted_claim(fakes, tmp_path):
    fakes.add("C01")
    fakes.add("C04", Verdict.REFUTED)
    assert run(tmp_path) == 0
    assert run(tmp_path, "--strict") == 1
    fakes.checks.pop("C04")
    assert run(tmp_path, "--strict") == 0


def test_a_raising_check_is_reported_and_exits_3(fakes, tmp_path, capsys):
    def boom(ctx):
        raise ValueError("the measurement broke")

    fakes.add("C01")
    fakes.add("C02", measure=boom)
    fakes.add("C03")
    assert run(tmp_path) == 3
    err = capsys.readouterr().err
    assert "C02: measure failed: ValueError: the measurement broke" in err
    assert "run with --traceback" in err and "Traceback" not in err
    rec = record(tmp_path)
    verdicts = {c["id"]: c["verdict"] for c in rec["claims"]}
    assert verdicts["C01"] == verdicts["C03"] == "supported"  # the others still ran
    assert verdicts["C02"] == "error"
    assert "ValueError: the measurement broke" in rec["claims"][1]["error"]
    assert "**error**" in (tmp_path / "out" / "report.md").read_text()

    assert run(tmp_path, "--traceback") == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in boom" in err


def test_non_json_measurement_is_an_error_naming_the_path(fakes, tmp_path, capsys):
    fakes.add("C01", measure=lambda ctx: {"acc": [0.5, np.float32(0.6)]})
    assert run(tmp_path) == 3
    err = capsys.readouterr().err
    assert "measured['design']['acc'][1] is a numpy.float32" in err


def test_internal_error_outside_checks_exits_3(fakes, tmp_path, capsys, monkeypatch):
    def broken():
        raise RuntimeError("checks for unknown claim ids ['C99']")

    monkeypatch.setattr(claims_pkg, "registry", broken)
    assert run(tmp_path) == 3
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: checks for unknown claim ids" in err
    assert "run with --traceback for the full traceback" in err


def test_figures_only_redraws_without_measuring(fakes, tmp_path, capsys):
    fakes.add("C01")
    fakes.add("C02")
    figure = tmp_path / "out" / "figures" / "c01_fake.png"
    assert run(tmp_path) == 0
    first = record(tmp_path)
    figure.unlink()
    (tmp_path / "out" / "report.md").unlink()
    assert run(tmp_path, "--figures-only") == 0
    assert fakes.calls == Counter({"C01": 1, "C02": 1})
    assert figure.is_file() and (tmp_path / "out" / "report.md").is_file()
    second = record(tmp_path)
    assert second["figures_only"] is True
    for a, b in zip(first["claims"], second["claims"]):
        assert (a["verdict"], a["evidence"], a["figures"]) == (b["verdict"], b["evidence"],
                                                               b["figures"])
    assert all(c["measurement"]["cached"] for c in second["claims"][:2])


def test_figures_only_uses_measurements_of_older_code(fakes, tmp_path, monkeypatch):
    fakes.add("C01")
    assert run(tmp_path) == 0
    monkeypatch.setattr(check_claims, "code_version", lambda: "edited-code")
    assert run(tmp_path, "--figures-only") == 0
    c01 = record(tmp_path)["claims"][0]
    assert c01["measurement"]["current_code"] is False and fakes.calls["C01"] == 1
    assert "older code version than this report's: C01" in (
        tmp_path / "out" / "report.md").read_text()


def test_figures_only_without_cache(fakes, tmp_path, capsys):
    fakes.add("C01")
    fakes.add("C02")
    assert run(tmp_path, "--figures-only") == 4
    assert "no cached measurement" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and fakes.calls == Counter()
    # Only C01 measured: redrawing both marks C02 as an error, without measuring it.
    assert run(tmp_path, "--only", "C01") == 0
    assert run(tmp_path, "--figures-only") == 3
    verdicts = [c["verdict"] for c in record(tmp_path)["claims"][:2]]
    assert verdicts == ["supported", "error"] and fakes.calls == Counter({"C01": 1})


def test_figure_links_are_relative_to_the_report(fakes, tmp_path):
    fakes.add("C01")
    assert main(["--json", str(tmp_path / "a.json"), "--report", str(tmp_path / "doc" / "r.md"),
                 "--figures", str(tmp_path / "figs"), "--cache-dir", str(tmp_path / "c")]) == 0
    assert "![c01_fake.png](../figs/c01_fake.png)" in (tmp_path / "doc" / "r.md").read_text()


def test_stale_figures_of_a_claim_are_removed(fakes, tmp_path):
    fakes.add("C01")
    figures = tmp_path / "out" / "figures"
    figures.mkdir(parents=True)
    (figures / "c01_old.png").write_bytes(b"old")
    (figures / "c02_keep.png").write_bytes(b"other claim")
    assert run(tmp_path) == 0
    assert sorted(p.name for p in figures.iterdir()) == ["c01_fake.png", "c02_keep.png"]


def _unit(seed: int) -> tuple[float, int]:
    """An independent unit of work: a seeded draw, and the process that made it."""
    return float(np.random.default_rng(seed).normal(size=100).mean()), os.getpid()


def test_parallel_jobs_give_identical_results(fakes, tmp_path):
    def measure(ctx):
        seeds = ctx.seeds("model", 6)
        out = ctx.map(_unit, seeds)
        return {"design": {}, "raw": [{"seed": s, "draw": v, "pid": p}
                                      for s, (v, p) in zip(seeds, out)]}

    def decide(m):
        return Outcome(Verdict.INCONCLUSIVE, "draws",
                       {"draws": [row["draw"] for row in m["raw"]]}, "")

    fakes.checks["C01"] = Check("map", measure, decide)
    assert run(tmp_path, "--no-cache", "--only", "C01") == 0
    serial = record(tmp_path)["claims"][0]
    assert run(tmp_path, "--no-cache", "--only", "C01", "--jobs", "2", "--backend", "loky") == 0
    parallel = record(tmp_path)["claims"][0]
    assert parallel["evidence"] == serial["evidence"]
    assert len(serial["evidence"]["draws"]) == 6
    cache = json.loads(next((tmp_path / "cache").glob("C01-*.json")).read_text())
    pids = [row["pid"] for row in cache["measured"]["raw"]]
    assert os.getpid() not in pids  # the units ran in loky workers


def _slow_cells(n: int, seconds: float):
    """A measure that maps ``n`` cells of ``seconds`` each through ``ctx.map``."""
    def measure(ctx):
        return {"cells": ctx.map(lambda i: time.sleep(seconds) or i, range(n))}
    return measure


def test_quick_run_labels_rule_outputs_not_evidence(fakes, tmp_path, capsys):
    fakes.add("C01")
    fakes.add("C04", Verdict.REFUTED)
    fakes.add("C02", measure=lambda ctx: 1 / 0)
    assert run(tmp_path, "--quick") == 3
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line[:1] == "C"}
    assert "quick: not evidence (rule on quick data: refuted)" in rows["C04"]
    assert "quick: not evidence (rule on quick data: supported)" in rows["C01"]
    assert " refuted " not in rows["C04"].split("(")[0]  # no bare verdict column
    assert "quick: not evidence" not in rows["C02"] + rows["C05"]  # an error, not implemented
    assert "(quick: not evidence: small versions; rerun without --quick for verdicts)" in out
    report = (tmp_path / "out" / "report.md").read_text()
    assert "**quick: not evidence.**" in report
    assert run(tmp_path) == 3
    assert "quick: not evidence" not in capsys.readouterr().out
    assert "quick: not evidence" not in (tmp_path / "out" / "report.md").read_text()


def test_heartbeat_lines_when_stderr_is_not_a_terminal(fakes, tmp_path, capsys):
    fakes.add("C01", measure=_slow_cells(4, 0.2))
    assert run(tmp_path, "--heartbeat", "0.05") == 0
    beats = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("check_claims: C01 (1/24 claims) running for ")]
    assert beats and all(re.search(r"running for \d+ s: [0-4]/4 cells done$", b) for b in beats)
    counts = [int(re.search(r"(\d)/4 cells", b).group(1)) for b in beats]
    assert counts == sorted(counts)  # cells only ever get done
    assert run(tmp_path, "--heartbeat", "0", "--no-cache") == 0
    assert capsys.readouterr().err == ""


def test_terminal_shows_cells_done_with_tqdm(fakes, tmp_path, capsys, monkeypatch):
    fakes.add("C01", measure=_slow_cells(3, 0.05))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert run(tmp_path, "--heartbeat", "0.01") == 0
    err = capsys.readouterr().err
    assert re.search(r"cells: +\d+%.*\| ?[0-3]/3 \[", err), err  # the cells bar, x/3 done
    assert "check_claims: C01" not in err  # bars, not heartbeat lines, on a terminal


def test_progress_bar_only_on_a_terminal(fakes, tmp_path, capsys, monkeypatch):
    fakes.add("C01")
    assert run(tmp_path) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and "C01 " in quiet.out
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert run(tmp_path) == 0
    shown = capsys.readouterr()
    assert "claim/s" in shown.err or "s/claim" in shown.err  # tqdm's rate unit
    assert "C01 " in shown.out and "1 supported" in shown.out  # the table stays on stdout


# --- records that re-decide, and replication ----------------------------------------------------


def test_redecide_reproduces_a_record_and_names_what_was_edited(fakes, tmp_path, capsys):
    fakes.add("C01")
    fakes.add("C04", Verdict.PARTLY)
    assert run(tmp_path) == 0
    path = tmp_path / "out" / "run.json"
    rec = record(tmp_path)
    c01 = next(c for c in rec["claims"] if c["id"] == "C01")
    assert [row["seed"] for row in c01["raw"]] == [0, 1, 2, 3, 4]
    assert c01["design"] == {"gap": "NaN"}  # non-finite floats kept, encoded
    capsys.readouterr()
    assert main(["--redecide", str(path)]) == 0
    assert "re-decided 2 claims" in capsys.readouterr().out

    c01["raw"][0]["acc"] = 0.9  # an edited measurement no longer gives the recorded key
    path.write_text(json.dumps(rec))
    assert main(["--redecide", str(path)]) == 5
    err = capsys.readouterr().err
    assert "mismatch: C01: key:" in err and "C04" not in err

    del c01["raw"]
    path.write_text(json.dumps(rec))
    assert main(["--redecide", str(path)]) == 5
    assert "C01: raw: missing from the record" in capsys.readouterr().err


def test_redecide_names_a_claim_this_version_does_not_know(fakes, tmp_path, capsys):
    fakes.add("C01")
    path = tmp_path / "rec.json"
    path.write_text(json.dumps({"claims": [{"id": "C01", "verdict": "supported", "design": {},
                                            "raw": [], "key": "k", "evidence": {},
                                            "explanation": ""},
                                           {"id": "C77", "verdict": "supported"}]}))
    assert main(["--redecide", str(path)]) == 5
    err = capsys.readouterr().err
    assert "C77: id: no such claim" in err
    assert "C01: raw: C01: raw must be a non-empty list of rows" in err


@pytest.mark.parametrize("argv, message", [
    (["--replicate", "0"], "--replicate: must be an integer >= 1"),
    (["--replicate", "-2"], "--replicate: must be an integer >= 1"),
    (["--redecide", "docs/report.json", "--replicate", "2"], "cannot be combined with --replicate"),
    (["--redecide", "no/such/file.json"], "no such file"),
    (["--figures-only", "--replicate", "3"], "cannot be combined with --replicate"),
    (["--seed", "4095", "--replicate", "2"], "go beyond 4095"),
    (["--seed", "4096"], "--seed: must be an integer in [0, 4095]"),
])
def test_replicate_and_redecide_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_replicate_labels_a_verdict_that_changes_with_the_master_seed(fakes, tmp_path, capsys):
    def decide(m):
        verdict = Verdict.SUPPORTED if m["raw"][0]["seed"] < 2**20 else Verdict.REFUTED
        return Outcome(verdict, "k", {}, "")

    def measure(ctx):
        return {"design": {}, "raw": [{"seed": s} for s in ctx.seeds("model", 2)]}

    fakes.checks["C01"] = Check("seed-dependent", measure, decide)
    fakes.add("C04")
    assert run(tmp_path, "--replicate", "3") == 0
    out = capsys.readouterr().out
    assert "unstable (refuted ×2, supported ×1)" in out
    assert "unstable across master seeds: C01" in out
    rec = record(tmp_path)
    assert rec["master_seeds"] == [0, 1, 2] and rec["unstable"] == ["C01"]
    c01, c04 = (next(c for c in rec["claims"] if c["id"] == i) for i in ("C01", "C04"))
    assert c01["verdict"] == "supported"  # the run under --seed is the one reported
    assert c01["replication"]["verdicts"] == ["supported", "refuted", "refuted"]
    assert c04["replication"]["stable"] is True
    assert fakes.calls["C04"] == 3
    report = (tmp_path / "out" / "report.md").read_text()
    assert "supported" in report and " — unstable (refuted ×2, supported ×1)" in report
    assert "replicated under master seeds [0, 1, 2]: 1 unstable verdict(s): C01" in report
    assert sorted(p.name for p in (tmp_path / "out" / "figures").iterdir()) == ["c04_fake.png"]


# --- outputs: standard output, paths checked first, modes kept, figures moved into place ------


def test_json_to_standard_output_holds_only_the_record(fakes, tmp_path, capsys):
    fakes.add("C01")
    assert main(["--json", "-", "--report", str(tmp_path / "r.md"), "--figures",
                 str(tmp_path / "f"), "--cache-dir", str(tmp_path / "c"), "--only", "C01"]) == 0
    out = capsys.readouterr()
    rec = json.loads(out.out)
    assert [c["id"] for c in rec["claims"]] == ["C01"]
    assert "C01" in out.err and (tmp_path / "r.md").is_file()
    assert not (Path.cwd() / "-").exists()


def test_unwritable_outputs_are_usage_errors_before_any_measurement(fakes, tmp_path, capsys):
    fakes.add("C01")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for flag, value in (("--json", blocker / "r.json"), ("--report", tmp_path),
                        ("--figures", blocker), ("--cache-dir", blocker / "cache")):
        assert run(tmp_path, flag, value) == 2
        assert f"argument {flag}" in capsys.readouterr().err
    assert main(["--json", "-", "--report", "-"]) == 2
    assert fakes.calls["C01"] == 0


def test_rewriting_the_report_keeps_its_file_mode(fakes, tmp_path):
    fakes.add("C01")
    assert run(tmp_path) == 0
    report = tmp_path / "out" / "report.md"
    report.chmod(0o644)
    assert run(tmp_path) == 0
    assert report.stat().st_mode & 0o777 == 0o644


def test_figures_are_drawn_aside_and_moved_into_place(fakes, tmp_path):
    seen = []

    def draw(m, figures_dir):
        seen.append(figures_dir)
        (figures_dir / "c01_fake.png").write_bytes(b"png")
        return ["c01_fake.png"]

    fakes.add("C01")
    fakes.checks["C01"] = Check("r", fakes.checks["C01"].measure, fakes.checks["C01"].decide,
                                draw)
    assert run(tmp_path) == 0
    figures = tmp_path / "out" / "figures"
    assert seen[0] != figures and not seen[0].exists()  # a private directory, removed after
    assert [p.name for p in figures.iterdir()] == ["c01_fake.png"]


def test_ctrl_c_prints_one_line_and_exits_130(fakes, tmp_path, capsys):
    def interrupted(ctx):
        raise KeyboardInterrupt

    fakes.add("C01", measure=interrupted)
    assert run(tmp_path) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0]
    assert not (tmp_path / "out" / "run.json").exists()


def test_cold_and_warm_cache_give_the_same_record_apart_from_timing(fakes, tmp_path):
    fakes.add("C01")
    fakes.add("C04", Verdict.PARTLY)
    assert run(tmp_path) == 0
    cold = record(tmp_path)
    assert run(tmp_path) == 0
    warm = record(tmp_path)
    timing = {"runtime_s", "measure_s", "started", "measured_at"}
    provenance = {"cached"}  # where the measurement came from: the one field that must differ

    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in timing | provenance}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    assert strip(cold) == strip(warm)
    c01 = next(c for c in warm["claims"] if c["id"] == "C01")
    assert c01["cached"] is True and round(c01["measurement"]["measure_s"], 3) == \
        c01["measurement"]["measure_s"]


# --- where the outputs go: docs/ in a checkout, a named folder elsewhere -------------------------


def test_outside_a_checkout_outputs_go_to_a_named_folder(fakes, tmp_path, capsys, monkeypatch):
    fakes.add("C01")
    monkeypatch.chdir(tmp_path)
    assert main(["--only", "C01", "--cache-dir", "cache"]) == 0
    cap = capsys.readouterr()
    assert "not in a reluthe checkout: writing the report into reluthe-report/" in cap.err
    assert "wrote reluthe-report/report.json, reluthe-report/report.md" in cap.out
    assert sorted(p.name for p in (tmp_path / "reluthe-report").iterdir()) == [
        "figures", "report.json", "report.md"]
    assert not (tmp_path / "docs").exists()

    assert main(["--only", "C01", "--cache-dir", "cache", "--out", "mine"]) == 0
    assert "not in a reluthe checkout" not in capsys.readouterr().err
    assert (tmp_path / "mine" / "report.md").is_file()
    assert (tmp_path / "mine" / "figures" / "c01_fake.png").is_file()


def test_in_a_checkout_outputs_go_to_docs(fakes, tmp_path, capsys, monkeypatch):
    fakes.add("C01")
    (tmp_path / "reluthe").mkdir()
    (tmp_path / "reluthe" / "check_claims.py").write_text("")
    (tmp_path / "docs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert check_claims._in_checkout(tmp_path) and check_claims._in_checkout(REPO)
    assert main(["--only", "C01", "--cache-dir", "cache", "--report", "r.md"]) == 0
    assert "not in a reluthe checkout" not in capsys.readouterr().err
    assert (tmp_path / "docs" / "report.json").is_file() and (tmp_path / "r.md").is_file()
    assert (tmp_path / "docs" / "figures" / "c01_fake.png").is_file()
    assert not (tmp_path / "reluthe-report").exists()


def test_real_cli_from_a_temporary_directory(tmp_path):
    """The installed command outside a checkout: a named folder, never ./docs."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO),
                                                                    os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "reluthe.check_claims", "--only", "C01",
                           "--quick", "--cache-dir", "cache"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "writing the report into reluthe-report/" in proc.stderr
    assert "quick: not evidence" in proc.stdout
    record = json.loads((tmp_path / "reluthe-report" / "report.json").read_text())
    assert record["quick"] is True and record["claims"][0]["verdict"] == "supported"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "reluthe-report"]
