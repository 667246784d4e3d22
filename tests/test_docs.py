"""The documentation: examples run, README code runs, links resolve, the site builds strictly."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
# Written by `make claims`; a link to them is checked only once they exist.
GENERATED = {DOCS / "report.md", DOCS / "report.json"}
TIMEOUT_S = 90  # a hang guard; with their defaults the examples take a few seconds each

# per example: what it must print (regexes, beyond exiting with status 0; several encode facts
# that hold whatever the seed) and the figure it must write
EXPECTED = {
    "regions_on_slice.py": (
        [r"activation regions on the slice after training: \d+ \(\d+ linear regions\)",
         r"connected: True"],  # regions tile the (convex) slice: their graph is connected
        "regions_on_slice.png"),
    "symbolic_properties.py": (
        [r"one-sided derivatives at 0: left 0, right 1; subdifferential Interval\(0, 1\)",
         r"relu\s+Interval\(0, oo\)\s+C\^0\s+left\s+1\s+1/2\s+sqrt\(2\)\s+1\s+1\s",
         r"sigmoid\s+Interval\.open\(0, 1\)\s+C\^inf\s+left/right\s+1/4\s.*1/1048576"],
        None),
    "probe_own_model.py": ([r"relu1\s+init\s+0\.\d+", r"relu2\s+trained\s+0\.\d+"], None),
    "train_seeds.py": ([r"trained 10 MLPs", r"L1 - plain, paired by seed: test acc"],
                       "train_seeds.png"),
}

def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
               MPLBACKEND="Agg", NO_MKDOCS_2_WARNING="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=TIMEOUT_S)


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python[^\n]*\n(.*?)^```", text, flags=re.S | re.M)


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """Start every example and the README's code at once (each in its own empty folder), so
    their start-up (imports, data) overlaps; each test then waits for its own process."""
    jobs = {}
    for script in EXAMPLES:
        cwd = tmp_path_factory.mktemp(script.stem)
        args = [sys.executable, str(script)]
        if EXPECTED.get(script.name, ([], None))[1]:
            args += ["--out", str(cwd / "out")]
        jobs[script.name] = (cwd, args)
    cwd = tmp_path_factory.mktemp("readme")
    code = "\n\n".join(_python_blocks((ROOT / "README.md").read_text()))
    (cwd / "readme_example.py").write_text(code)
    jobs["README.md"] = (cwd, [sys.executable, "readme_example.py"])
    procs = {name: (cwd, subprocess.Popen(args, cwd=cwd, env=_env(), stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
             for name, (cwd, args) in jobs.items()}
    yield procs
    for _, proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _finish(proc: subprocess.Popen, name: str) -> str:
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"{name} did not finish within {TIMEOUT_S} s")
    assert proc.returncode == 0, f"{name} failed:\n{out}\n{err}"
    return out


def test_every_example_is_expected_and_in_the_gallery():
    names = {p.name for p in EXAMPLES}
    assert names == set(EXPECTED), "update EXPECTED in tests/test_docs.py with the examples"
    gallery = "\n".join(p.read_text() for p in (DOCS / "gallery").glob("*.md"))
    for name in names:
        assert f'--8<-- "examples/{name}"' in gallery, f"{name} is not shown in docs/gallery"


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, launched):
    assert script.name in EXPECTED, "add the example to EXPECTED in tests/test_docs.py"
    cwd, proc = launched[script.name]
    out = _finish(proc, script.name)
    patterns, figure = EXPECTED[script.name]
    for pattern in patterns:
        assert re.search(pattern, out), f"{script.name} printed:\n{out}\nexpected {pattern!r}"
    if figure:
        png = cwd / "out" / figure
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size < 300_000
    assert list(cwd.iterdir()) == ([cwd / "out"] if figure else []), \
        "an example wrote files outside --out"


def test_readme_code_runs(launched):
    assert _python_blocks((ROOT / "README.md").read_text()), "README.md has no python example"
    cwd, proc = launched["README.md"]
    out = _finish(proc, "README.md's example")
    assert re.search(r"^\d+ activation regions; \d+ shared sides$", out, flags=re.M), out
    assert (cwd / "regions.png").read_bytes()[:4] == b"\x89PNG"


def test_readme_keeps_the_quick_start():
    text = (ROOT / "README.md").read_text()
    assert "make claims" in text and "make test" in text
    for target in ("make figures", "make bench", "make lint", "make docs", "make test-all",
                   "TORCH_SPEC"):
        assert target in text, target


_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _strip_code(text: str) -> str:
    text = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _relative_links(path: Path) -> list[str]:
    links = _LINK.findall(_strip_code(path.read_text()))
    return [t for t in links if not re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", t, flags=re.I)]


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def test_link_checker_finds_links(tmp_path):
    md = tmp_path / "x.md"
    md.write_text("[a](b.md#c) ![i](figures/x.png) [w](https://e.org) [t](#top)\n"
                  "`[no](code.md)`\n```\n[no](fenced.md)\n```\n")
    assert _relative_links(md) == ["b.md#c", "figures/x.png"]
    assert _relative_links(ROOT / "README.md"), "README.md has no relative link"


@pytest.mark.parametrize("md", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(md):
    missing = []
    for target in _relative_links(md):
        file = (md.parent / target.split("#", 1)[0]).resolve()
        if file in GENERATED and not (DOCS / "report.md").exists():
            continue  # written by `make claims`
        if not file.exists():
            missing.append(target)
    assert not missing, f"{md.relative_to(ROOT)} links to missing files: {missing}"


def _nav_pages(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [p for item in node for p in _nav_pages(item)]
    if isinstance(node, dict):
        return [p for value in node.values() for p in _nav_pages(value)]
    return []


def _config() -> dict:
    yaml = pytest.importorskip("yaml")  # installed with mkdocs (the docs extra)
    # mkdocs.yml is plain YAML (no !!python tags), so safe_load reads it
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text())


def test_nav_pages_exist():
    pages = _nav_pages(_config()["nav"])
    assert "report.md" in pages and "methods/statistics.md" in pages
    missing = [p for p in pages if not (DOCS / p).exists() and (DOCS / p) not in GENERATED]
    assert not missing, f"mkdocs.yml nav names missing pages: {missing}"


def test_api_pages_name_importable_modules():
    modules = []
    for page in sorted((DOCS / "api").glob("*.md")):
        modules += re.findall(r"^::: (\S+)", page.read_text(), flags=re.M)
    assert "reluthe.regions" in modules and "reluthe.symbolic" in modules
    for name in modules:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin not in (None, "namespace"), \
            f"docs/api documents {name}, which is not a module"


def test_docs_build_strict(tmp_path):
    """`mkdocs build --strict` succeeds (in the default run, so CI builds the docs)."""
    pytest.importorskip("mkdocstrings_handlers.python")
    if not (DOCS / "report.md").exists():
        pytest.fail("docs/report.md is missing: run `make claims` before building the docs")
    proc = _run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                 str(tmp_path / "site")], cwd=ROOT)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "api" / "regions" / "index.html").exists()
