"""The one seed rule: disjoint blocks per master seed, one sub-block per stream."""

from __future__ import annotations

import itertools
import types

import pytest

from reluthe.claims._base import Context, Settings, checks_of
from reluthe.claims._seeds import BLOCK, MAX_MASTER, STREAM_SIZE, STREAMS, derive
from reluthe.errors import InvalidInputError


def test_master_seeds_own_disjoint_blocks():
    for a, b in itertools.combinations((0, 1, 2, 17, MAX_MASTER), 2):
        seeds_a = {s for stream in STREAMS for s in derive(a, stream, 50)}
        seeds_b = {s for stream in STREAMS for s in derive(b, stream, 50)}
        assert seeds_a.isdisjoint(seeds_b)
    assert max(derive(MAX_MASTER, STREAMS[-1], STREAM_SIZE)) < 2**32
    assert min(derive(3, "model", 1)) == 3 * BLOCK


def test_streams_do_not_overlap_and_model_seeds_start_at_the_master():
    blocks = [set(derive(0, s, STREAM_SIZE)) for s in STREAMS]
    assert all(a.isdisjoint(b) for a, b in itertools.combinations(blocks, 2))
    assert derive(0, "model", 5) == [0, 1, 2, 3, 4]  # what seed + i gave under --seed 0
    assert Context(Settings(seed=2)).seeds("data", 2) == derive(2, "data", 2)


@pytest.mark.parametrize("args, match", [
    ((0, "weights", 1), "stream"), ((0, "model", -1), "'n'"), ((0, "model", 1, -3), "'start'"),
    ((0, "model", STREAM_SIZE + 1), "beyond"), ((-1, "model", 1), "master"),
    ((MAX_MASTER + 1, "model", 1), "master"), ((1.0, "model", 1), "master"),
    ((True, "model", 1), "master"),
])
def test_bad_seed_requests_are_named_errors(args, match):
    with pytest.raises(InvalidInputError, match=match):
        derive(*args)
    with pytest.raises(InvalidInputError, match="seed"):
        Settings(seed=MAX_MASTER + 1)


def test_a_claim_file_missing_one_of_the_four_names_fails_at_import():
    ok = types.ModuleType("reluthe.claims.demo.c42_demo")
    ok.RULE, ok.measure, ok.decide, ok.plot = "r", print, print, None
    assert list(checks_of([ok])) == ["C42"]
    for name in ("RULE", "measure", "decide", "plot"):
        broken = types.ModuleType("reluthe.claims.demo.c43_broken")
        for other in {"RULE", "measure", "decide", "plot"} - {name}:
            setattr(broken, other, print)
        with pytest.raises(ImportError, match=f"c43_broken does not define {name}"):
            checks_of([broken])
    badly_named = types.ModuleType("reluthe.claims.demo.claim_five")
    with pytest.raises(ImportError, match="not named cNN_<topic>"):
        checks_of([badly_named])
