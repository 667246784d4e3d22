"""Accuracies and other proportions never get an interval outside [0, 1] (CLAIMS.md, evidence
standard 4: "bounded for proportions"), and every empirical rule shares one minimum of seeds.

The evidence of every empirical claim in the committed default run (``docs/report.json``, what
``decide`` wrote; test_committed_report re-decides it from its raw rows) is walked: an estimate
(a dict with ``value``, ``low``, ``high``, ``n`` and ``method``) is a proportion when a key on its
path names one ("acc", "share", "fraction", "quality", "zeros", "dead"; or a path listed in
``EXTRA`` for claims whose keys are labels) and no key marks a difference or another quantity
("minus", "diff", "effect", "rho", "log", "ratio", "loss", ...). Each such estimate must satisfy
``0 <= low <= value <= high <= 1`` and must not come from a plain t interval.
"""

from __future__ import annotations

import functools
import json
import math
import re
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from reluthe.claims import _protocol, architectures, gradients, sparsity
from reluthe.claims.sparsity import _protocol as sparsity_protocol

CHECKS = {**sparsity.CHECKS, **gradients.CHECKS, **architectures.CHECKS}
KEYWORDS = ("acc", "share", "fraction", "quality", "zeros", "dead")  # prefixes of a key's words
NOT_A_PROPORTION = {"minus", "diff", "change", "effect", "effects", "rho", "spearman", "log",
                    "log10", "ratio", "loss", "mse", "count", "counts", "density", "regions"}
# proportions under keys that are labels (layer, dataset, activation): path patterns, "*" = any
EXTRA = {"C03": [("layers", "*", "trained"), ("layers", "*", "init")],
         "C08": [("relu_probe_mnist1d",)],
         "C18": [("*", "relu")],
         "C19": [("cells", "mnist1d", "*", "relu"), ("cells", "mnist1d", "*", "tanh")],
         "C20": [("summary", "*", "*", "modes_covered")]}
# not proportions of counted items: C06's share of the training step spent in the activation is
# a ratio of two separately measured times (it can exceed 1)
EXCLUDE = {"C06": [("*", "*", "share_of_step"), ("relu_share_of_step",)]}
SCALE = {("C20", "modes_covered"): 8.0}  # modes covered: a share of the 8 modes, in modes
# claims whose evidence holds no proportion with an interval (differences, correlations, MSEs)
WITHOUT = {"C04", "C06", "C11", "C13", "C15", "C19", "C21", "C24"}


RECORD = Path(__file__).resolve().parents[1] / "docs" / "report.json"


@functools.cache
def _committed() -> dict[str, dict]:
    return {c["id"]: c for c in json.loads(RECORD.read_text(encoding="utf-8"))["claims"]}


def _estimates(obj, path=()):
    """(path, estimate) of every estimate dict in ``obj``; list indexes appear as "*"."""
    if isinstance(obj, dict):
        if {"value", "low", "high", "n", "method"} <= set(obj):
            yield path, obj
            return
        for k, v in obj.items():
            yield from _estimates(v, (*path, str(k)))
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _estimates(v, (*path, "*"))


def _matches(path, pattern) -> bool:
    return len(path) == len(pattern) and all(fnmatchcase(p, q) for p, q in zip(path, pattern))


def _words(key: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", key.lower()) if w]


def _is_proportion(cid: str, path) -> bool:
    words = [w for k in path for w in _words(k)]
    if NOT_A_PROPORTION & set(words) or any(_matches(path, p) for p in EXCLUDE.get(cid, ())):
        return False
    return (any(w.startswith(kw) for w in words for kw in KEYWORDS)
            or any(_matches(path, p) for p in EXTRA.get(cid, ())))


def _proportions(cid: str, evidence) -> list:
    return [(p, e) for p, e in _estimates(evidence) if _is_proportion(cid, p)]


@pytest.mark.parametrize("cid", sorted(CHECKS))
def test_proportion_intervals_stay_in_the_unit_interval(cid):
    found = _proportions(cid, _committed()[cid]["evidence"])
    if cid in WITHOUT:
        assert not found, [p for p, _ in found]
        return
    assert found, f"{cid}: no proportion found in the evidence"
    checked = 0
    for path, e in found:
        top = SCALE.get((cid, path[-1]), 1.0)
        where = f"{cid} {'/'.join(path)}: {e}"
        v = e["value"]
        if v is None or not math.isfinite(v):
            continue
        assert 0.0 <= v <= top, where
        if e["low"] is None:
            continue
        assert 0.0 <= e["low"] <= v <= e["high"] <= top, where
        assert e["method"] != "t", where
        checked += 1
    # the default runs have >= 3 seeds everywhere: some interval exists to check
    assert checked, f"{cid}: no proportion with an interval"


def test_the_walker_tells_proportions_from_differences():
    est = {"value": 0.5, "low": 0.4, "high": 0.6, "n": 3, "method": "m"}
    evidence = {"relu_test_acc": est, "relu_minus_linear": est, "accuracy": {
        "relu/he/depth2": {"test_acc": est, "train_loss": est}},
        "relu_vs": {"tanh": {"effects": {"high_quality": est}}}, "layers": [{"trained": est}]}
    evidence["all_zero_logits_share"] = evidence["log10_ratio"] = est
    assert [p for p, _ in _proportions("C03", evidence)] == [
        ("relu_test_acc",), ("accuracy", "relu/he/depth2", "test_acc"), ("layers", "*", "trained"),
        ("all_zero_logits_share",)]


def test_one_minimum_of_seeds():
    assert _protocol.MIN_SEEDS == 3 and sparsity_protocol.MIN_SEEDS is _protocol.MIN_SEEDS
    for cid, check in CHECKS.items():
        if cid == "C07":  # not testable: no rule on seeds
            continue
        rule = check.rule
        assert "fewer than 2" not in rule.lower() and "< 2 seeds" not in rule, cid
