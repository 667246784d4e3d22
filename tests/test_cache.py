"""The measurement cache: keys, atomic writes, corrupt files, and cache hits in the CLI."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from reluthe import _cache, check_claims
from reluthe import claims as claims_pkg
from reluthe._cache import MeasurementCache, cache_key, code_version, default_cache_dir
from reluthe._files import atomic_write_text
from reluthe.check_claims import main
from reluthe.claims import Check, Claim, Outcome, Settings, Verdict
from reluthe.claims._catalogue import CATALOGUE

QUICK = Settings(quick=True, seed=0)


def test_code_version_tracks_every_python_file(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    (pkg / "notes.txt").write_text("not code")
    v0 = code_version(pkg)
    assert v0 == code_version(pkg) and len(v0) == 64
    (pkg / "notes.txt").write_text("changed, still not code")
    assert code_version(pkg) == v0
    (pkg / "sub" / "b.py").write_text("y = 3\n")
    v1 = code_version(pkg)
    assert v1 != v0
    (pkg / "sub" / "b.py").rename(pkg / "sub" / "c.py")
    assert code_version(pkg) != v1
    (pkg / "sub" / "c.py").rename(pkg / "sub" / "b.py")
    assert code_version(pkg) == v1


def test_key_depends_on_claim_settings_and_code():
    base = cache_key("C05", QUICK, "v1")
    assert base == cache_key("C05", Settings(quick=True, seed=0, device="cpu"), "v1")
    others = [cache_key("C06", QUICK, "v1"), cache_key("C05", Settings(quick=False), "v1"),
              cache_key("C05", Settings(quick=True, seed=1), "v1"),
              cache_key("C05", Settings(quick=True, device="cuda"), "v1"),
              cache_key("C05", QUICK, "v2")]
    assert len({base, *others}) == 6


def test_store_and_load_round_trip_keeps_nan(tmp_path):
    cache = MeasurementCache(tmp_path)
    measured = {"a": [1.0, math.nan, math.inf], "b": {"c": "text", "d": True, "e": None}}
    cache.store("C03", QUICK, "v1", measured, runtime_s=1.25, modules=["sympy"])
    entry = cache.load("C03", QUICK, "v1")
    assert entry["runtime_s"] == 1.25 and entry["modules"] == ["sympy"]
    got = entry["measured"]
    assert got["b"] == measured["b"] and got["a"][0] == 1.0
    assert math.isnan(got["a"][1]) and got["a"][2] == math.inf
    assert cache.load("C03", QUICK, "v2") is None
    assert cache.load("C03", Settings(), "v1") is None
    assert cache.load("C04", QUICK, "v1") is None


def test_store_rejects_non_json_data(tmp_path):
    with pytest.raises(TypeError):
        MeasurementCache(tmp_path).store("C01", QUICK, "v1", {"x": object()}, runtime_s=0.0)
    assert list(tmp_path.iterdir()) == []


def test_crash_between_write_and_replace_keeps_the_old_entry(tmp_path, monkeypatch):
    cache = MeasurementCache(tmp_path)
    cache.store("C01", QUICK, "v1", {"x": 1}, runtime_s=0.1)

    def crash(src, dst):
        raise KeyboardInterrupt("simulated crash after the temporary file was written")

    monkeypatch.setattr(_cache.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        cache.store("C01", QUICK, "v1", {"x": 2}, runtime_s=0.1)
    with pytest.raises(KeyboardInterrupt):
        cache.store("C02", QUICK, "v1", {"x": 3}, runtime_s=0.1)
    monkeypatch.undo()
    assert cache.load("C01", QUICK, "v1")["measured"] == {"x": 1}
    assert cache.load("C02", QUICK, "v1") is None
    assert len(list(tmp_path.iterdir())) == 1  # the temporary files were removed


def test_leftover_temporary_file_is_ignored(tmp_path):
    # A process killed before os.replace leaves ".<name>.<random>.tmp" behind.
    cache = MeasurementCache(tmp_path)
    target = cache.path("C01", QUICK, "v1")
    (tmp_path / f".{target.name}.abc123.tmp").write_text('{"format": 1, "key": "')
    assert cache.load("C01", QUICK, "v1") is None
    assert cache.latest("C01", QUICK) is None


@pytest.mark.parametrize("damage", [
    lambda text: text[: len(text) // 2],  # truncated
    lambda text: "",  # empty
    lambda text: "\x00\udcff garbage",  # not UTF-8 (byte 0xff), not JSON
    lambda text: "[1, 2, 3]",  # JSON, not an entry
    lambda text: text.replace('"format": 2', '"format": 99'),  # another format
    lambda text: text.replace('"format": 2', '"format": 1'),  # the format before checksums
    lambda text: json.dumps({**json.loads(text), "measured": {"x": 2}}),  # edited: bad checksum
    lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "checksum"}),
    lambda text: json.dumps({**json.loads(text), "measured": [1]}),  # wrong type
    lambda text: json.dumps({**json.loads(text), "key": "0" * 64}),  # wrong key
])
def test_corrupt_file_is_a_miss(tmp_path, damage):
    cache = MeasurementCache(tmp_path)
    path = cache.store("C01", QUICK, "v1", {"x": 1}, runtime_s=0.1)
    path.write_bytes(damage(path.read_text()).encode("utf-8", "surrogateescape"))
    assert cache.load("C01", QUICK, "v1") is None
    assert cache.latest("C01", QUICK) is None


def test_latest_picks_newest_entry_with_these_settings(tmp_path, monkeypatch):
    cache = MeasurementCache(tmp_path)
    stamps = iter(["2026-01-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00",
                   "2026-02-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00"])

    class Clock:
        @staticmethod
        def now(tz):
            class Stamp:
                def isoformat(self, timespec):
                    return next(stamps)
            return Stamp()

    monkeypatch.setattr(_cache._dt, "datetime", Clock)
    cache.store("C01", QUICK, "old", {"v": "old"}, runtime_s=0)
    cache.store("C01", QUICK, "newest", {"v": "newest"}, runtime_s=0)
    cache.store("C01", QUICK, "middle", {"v": "middle"}, runtime_s=0)
    cache.store("C01", Settings(quick=False), "later-other-settings", {"v": "full"}, runtime_s=0)
    assert cache.latest("C01", QUICK)["measured"] == {"v": "newest"}
    assert cache.latest("C01", Settings(quick=False))["code_version"] == "later-other-settings"
    assert cache.latest("C02", QUICK) is None
    assert MeasurementCache(tmp_path / "absent").latest("C01", QUICK) is None


def test_atomic_write_text_creates_parents_and_replaces(tmp_path):
    path = tmp_path / "a" / "b" / "report.json"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two" and [p.name for p in path.parent.iterdir()] == [path.name]


def test_default_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(_cache.CACHE_ENV, raising=False)
    assert str(default_cache_dir()) == ".reluthe-cache"
    monkeypatch.setenv(_cache.CACHE_ENV, str(tmp_path))
    assert default_cache_dir() == tmp_path


# --- the cache as the command line uses it ------------------------------------------------------


@pytest.fixture
def counted(monkeypatch):
    calls = Counter()

    def measure(ctx):
        calls[ctx.seed] += 1
        return {"design": {}, "raw": [{"seed": None, "value": 0.25 + ctx.seed}]}

    def decide(m):
        value = m["raw"][0]["value"]
        return Outcome(Verdict.SUPPORTED, f"value {value}", {"value": value}, "")

    check = Check("fake", measure, decide)
    monkeypatch.setattr(claims_pkg, "registry",
                        lambda: [Claim(*row, check=check if row[0] == "C01" else None)
                                 for row in CATALOGUE])
    monkeypatch.setattr(check_claims, "code_version", lambda: "v1")
    return calls


def cli(tmp_path, *args):
    return main(["--json", str(tmp_path / "r.json"), "--report", str(tmp_path / "r.md"),
                 "--figures", str(tmp_path / "f"), "--cache-dir", str(tmp_path / "cache"),
                 "--only", "C01", *args])


def test_second_run_is_a_cache_hit(counted, tmp_path, monkeypatch):
    assert cli(tmp_path) == 0 and counted == Counter({0: 1})
    assert cli(tmp_path) == 0 and counted == Counter({0: 1})
    c01 = json.loads((tmp_path / "r.json").read_text())["claims"][0]
    assert c01["cached"] is True and c01["evidence"] == {"value": 0.25}
    assert cli(tmp_path, "--seed", "1") == 0 and counted == Counter({0: 1, 1: 1})
    assert cli(tmp_path, "--no-cache") == 0 and counted == Counter({0: 2, 1: 1})
    monkeypatch.setattr(check_claims, "code_version", lambda: "v2")
    assert cli(tmp_path) == 0 and counted == Counter({0: 3, 1: 1})


def test_corrupt_cache_file_is_remeasured_and_rewritten(counted, tmp_path):
    assert cli(tmp_path) == 0
    (entry,) = (tmp_path / "cache").glob("C01-*.json")
    entry.write_text(entry.read_text()[:20])
    assert cli(tmp_path) == 0 and counted == Counter({0: 2})
    assert json.loads(entry.read_text())["measured"]["raw"] == [{"seed": None, "value": 0.25}]
    assert cli(tmp_path) == 0 and counted == Counter({0: 2})


def test_cache_dir_from_the_environment(counted, tmp_path, monkeypatch):
    monkeypatch.setenv(_cache.CACHE_ENV, str(tmp_path / "env-cache"))
    args = ["--json", str(tmp_path / "r.json"), "--report", str(tmp_path / "r.md"),
            "--figures", str(tmp_path / "f"), "--only", "C01"]
    assert main(args) == 0 and main(args) == 0
    assert counted == Counter({0: 1}) and list((tmp_path / "env-cache").glob("C01-*.json"))
