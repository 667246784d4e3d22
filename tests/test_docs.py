"""The documentation: examples run, README code runs, links resolve, the site builds strictly."""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import shutil
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
        assert f"<!-- gallery-output: examples/{name} -->" in gallery, \
            f"docs/gallery does not show the output of {name} (add its gallery-output marker)"


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
    # the gallery's examples run in test_example_runs; here they would double the time
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                          env=dict(_env(), RELUTHE_DOCS_GALLERY="skip"), timeout=300)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "api" / "regions" / "index.html").exists()
    assert "Output not generated" in (tmp_path / "site" / "gallery" / "train_seeds"
                                      / "index.html").read_text()


# --- the build-time helpers in docs/hooks/ and the browser check docs/check_site.py ------------


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def griffe_ext():
    pytest.importorskip("griffe")
    return _load(DOCS / "hooks" / "griffe_docstrings.py")


@pytest.fixture(scope="module")
def package(griffe_ext):
    """reluthe as mkdocstrings loads it, with the extension of mkdocs.yml."""
    import griffe

    ext = griffe.load_extensions(f"{DOCS / 'hooks' / 'griffe_docstrings.py'}:ReluTheDocstrings")
    return griffe.load("reluthe", search_paths=[str(ROOT)], docstring_parser="numpy",
                       extensions=ext, resolve_aliases=True)


def test_hook_doctests():
    pytest.importorskip("griffe")
    for path in (DOCS / "hooks" / "griffe_docstrings.py", DOCS / "hooks" / "gallery.py",
                 DOCS / "check_site.py"):
        result = doctest.testmod(_load(path))
        assert result.attempted and not result.failed, path.name


def test_mkdocs_registers_the_hooks_and_the_extension():
    config = _config()
    assert set(config["hooks"]) == {"docs/hooks/gallery.py", "docs/hooks/report_page.py"}
    plugin = next(p["mkdocstrings"] for p in config["plugins"] if isinstance(p, dict))
    options = plugin["handlers"]["python"]["options"]
    assert options["extensions"] == ["docs/hooks/griffe_docstrings.py:ReluTheDocstrings"]
    assert "stylesheets/extra.css" in config["extra_css"]


def test_roles_become_code_linked_by_full_path(griffe_ext, package):
    regions = package["regions"]
    html = griffe_ext.link_roles(
        "See :func:`count_on_line`, :class:`~reluthe.errors.RegionLimitError`, "
        ":mod:`networkx` and :func:`plot <reluthe.regions.PlaneRegions.plot>`.\n"
        ">>> ':func:`untouched`'", regions)
    assert ('<autoref identifier="reluthe.regions._line.count_on_line" optional>'
            "<code>count_on_line</code></autoref>") in html  # resolved where it is imported
    assert ('<autoref identifier="reluthe.errors.RegionLimitError" optional>'
            "<code>RegionLimitError</code></autoref>") in html
    assert '<autoref identifier="networkx" optional><code>networkx</code>' in html
    assert ('<autoref identifier="reluthe.regions.PlaneRegions.plot" optional>'
            "<code>plot</code>") in html
    assert html.endswith(">>> ':func:`untouched`'")  # doctest lines are code: left alone


def _docstrings(obj):
    if obj.docstring is not None:
        yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _docstrings(member)


def test_no_docstring_keeps_a_role_outside_code(griffe_ext, package):
    raw = [f"{obj.path}: {m.group(0)}" for obj in _docstrings(package)
           for line in obj.docstring.value.split("\n")
           if not line.lstrip().startswith((">>>", "... "))
           for m in griffe_ext.ROLE.finditer(line)]
    assert not raw, raw[:5]


def test_listing_section_is_a_table_of_names_then_prose(package):
    sections = package["regions"].docstring.parsed
    kinds = [s.kind.value for s in sections]
    functions = sections[kinds.index("functions")]
    names = [f.name for f in functions.value]
    assert {"count_on_line", "count_on_plane", "plane_through"} <= set(names)
    assert all(name in package["regions"].members for name in names), names  # no prose rows
    after = sections[kinds.index("functions") + 1]
    assert after.kind.value == "text" and after.value.startswith("All counts are exact")
    assert "ToleranceWarning" in after.value and kinds[-1] == "examples"


def test_grouped_parameters_get_their_own_types(package):
    for name in ("count_in_box", "count_on_plane"):
        params = {p.name: p for s in package[f"regions.{name}"].docstring.parsed
                  if s.kind.value == "parameters" for p in s.value}
        assert str(params["max_regions"].annotation) == "int"
        assert str(params["tol"].annotation) == "float"
        assert str(params["max_memory"].annotation) == "int | None"
        assert str(params["max_regions"].value).replace("_", "") in ("1000000", "10000000")
        assert str(params["tol"].value) == "DEFAULT_TOL"


@pytest.fixture(scope="module")
def gallery_hook():
    pytest.importorskip("mkdocs")
    return _load(DOCS / "hooks" / "gallery.py")


def _fake_tree(root: Path, body: str) -> None:
    (root / "reluthe").mkdir(parents=True, exist_ok=True)
    (root / "reluthe" / "x.py").write_text("X = 1\n")
    (root / "examples").mkdir(exist_ok=True)
    (root / "examples" / "ex.py").write_text(body)


def test_gallery_runs_an_example_once_and_shows_its_output(gallery_hook, tmp_path):
    root, cache = tmp_path / "src", tmp_path / "cache"
    _fake_tree(root, "import pathlib, sys\n"
                     "runs = pathlib.Path(__file__).with_name('runs.txt')\n"
                     "runs.write_text(runs.read_text() + 'x' if runs.exists() else 'x')\n"
                     "pathlib.Path('ex.png').write_bytes(b'\\x89PNG fake')\n"
                     "print('printed ```text``` here')\n")
    folder = gallery_hook.run_examples(["examples/ex.py"], root, cache)["examples/ex.py"]
    assert gallery_hook.run_examples(["examples/ex.py"], root, cache)["examples/ex.py"] == folder
    assert (root / "examples" / "runs.txt").read_text() == "x"  # the second call used the cache
    assert [p.name for p in gallery_hook.images(folder)] == ["ex.png"]
    assert sorted(p.name for p in cache.iterdir()) == [folder.name]  # no work folders left
    md = gallery_hook.output_markdown("examples/ex.py", folder)
    assert md.startswith('<div class="gallery-output" markdown>') and md.endswith("</div>")
    assert "````text\nprinted ```text``` here\n````" in md  # a fence longer than any inside
    assert "![ex.png](output/ex/ex.png)" in md
    (root / "reluthe" / "x.py").write_text("X = 2\n")  # the library changed: it runs again
    gallery_hook.run_examples(["examples/ex.py"], root, cache)
    assert (root / "examples" / "runs.txt").read_text() == "xx"


def test_gallery_fails_the_build_on_a_failing_example(gallery_hook, tmp_path):
    from mkdocs.exceptions import PluginError

    _fake_tree(tmp_path / "src", "raise SystemExit('the example broke')\n")
    with pytest.raises(PluginError, match="examples/ex.py failed with status 1:\n.*broke"):
        gallery_hook.run_examples(["examples/ex.py"], tmp_path / "src", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-cached


@pytest.fixture(scope="module")
def check_site():
    return _load(DOCS / "check_site.py")


def _page(url: str, **extra) -> dict:
    return {"url": url, "roles": [], "raw_tables": [], "bad_entries": [], "broken_images": [],
            "external": [], **extra}


def _badge(text: str, background: str = "rgb(46, 125, 50)") -> dict:
    return {"cls": f"verdict verdict-{text.replace(' ', '-')}", "text": text,
            "background": background}


def test_site_check_judges_the_probe(check_site):
    assert check_site.problems_of(_page("api/")) == []
    report = {"rows": [[_badge("supported")], [_badge("refuted", "rgba(0, 0, 0, 0)")], []],
              "sections": [[_badge("supported")]] * 3,
              "evidence": [{"tables": 2, "lists": 0}, {"tables": 1, "lists": 1}],
              "figures": [{"src": "a.png", "natural": 2000, "shown": 1000},
                          {"src": "b.png", "natural": 500, "shown": 500}]}
    problems = check_site.problems_of(_page("report/", report=report))
    assert problems == [
        "report/: verdict table row 2: badge 'refuted' has no background colour (CSS not loaded?)",
        "report/: verdict table row 3: 0 verdict badges, expected 1",
        "report/: evidence 2: 1 tables and 1 lists (expected tables only)",
        "report/: figure a.png shown at 0.50 of its width (1000 of 2000 px), below 0.6"]
    gallery = {"example": "examples/a.py", "draws": True, "output": " ", "figures": 0}
    assert check_site.problems_of(_page("gallery/a/", gallery=gallery)) == [
        "gallery/a/: no printed output of examples/a.py",
        "gallery/a/: examples/a.py saves a figure, but the page shows none"]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_site_check_finds_problems_in_a_real_browser(check_site, tmp_path):
    """A two-page site with known faults, checked in headless chromium."""
    site = tmp_path / "site"
    (site / "api").mkdir(parents=True)
    (site / "index.html").write_text(
        "<html><body><article class='md-content__inner'><p>ok <code>:func:`in code`</code></p>"
        "<pre>:class:`in a block`</pre></article></body></html>")
    (site / "api" / "index.html").write_text(
        "<html><body><article class='md-content__inner'><p>See :func:<code>x</code> here.</p>"
        "<p>| a | b |\n|---|---|</p><p><span class='doc-section-title'>Functions:</span></p>"
        "<table><tr class='doc-section-item'><td>All counts are exact</td><td>d</td></tr>"
        "<tr class='doc-section-item'><td>count_on_line</td><td>d</td></tr></table>"
        "<img src='missing.png'></article></body></html>")
    assert check_site.main([str(site)]) == 1  # no report page either
    urls = check_site.pages(site)
    server = check_site.serve(site, check_site.harness(urls))
    try:
        results = check_site.browse(shutil.which("chromium"),
                                    f"http://127.0.0.1:{server.server_address[1]}", urls)
    finally:
        server.shutdown()
    problems = [p for page in results for p in check_site.problems_of(page)]
    assert problems == [
        "api/: Sphinx role in the text: :func:x",
        "api/: Markdown table not rendered: | a | b |",
        "api/: docstring table entry is not a name: functions: All counts are exact",
        "api/: image did not load: missing.png"]
