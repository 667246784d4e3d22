"""An mkdocs hook that runs the gallery's examples at build time and shows what they produce.

A page asks for an example's output with a marker line::

    <!-- gallery-output: examples/regions_on_slice.py -->

At the start of a build (``on_files``) every example named by a marker runs from the source
tree with the interpreter running mkdocs, in an empty folder, with ``MPLBACKEND=Agg``; its
standard output and the images it writes there are kept. The marker is then replaced
(``on_page_markdown``) by the printed text and the figures, inside ``<div class="gallery-output">``
(what ``docs/check_site.py`` looks for). A failing example fails the build.

Runs are cached in ``.reluthe-cache/docs-gallery/`` under a key that hashes the example and every
source file of the ``reluthe`` package, so a rebuild reruns an example only when it or the library
changed. Nothing is fetched: the examples use the package's offline datasets. The examples run
in parallel, one torch thread each unless ``OMP_NUM_THREADS`` says otherwise.

``RELUTHE_DOCS_GALLERY=skip`` builds without running them (each marker then becomes a note that
the output was not generated); the test suite's quick strict build uses it, and
``docs/check_site.py`` fails on a site built so.

Examples
--------
>>> markers("Intro\\n<!-- gallery-output: examples/a.py -->\\nmore")
['examples/a.py']
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".reluthe-cache" / "docs-gallery"
MARKER = re.compile(r"^<!-- gallery-output: (?P<script>\S+\.py) -->$", flags=re.M)
IMAGES = (".png", ".svg", ".jpg", ".jpeg")
TIMEOUT_S = 600  # a hang guard; with their defaults the examples take seconds to a minute
OUTPUT_DIR = "gallery/output"  # where the figures appear in the site (docs-relative)
SKIP_ENV = "RELUTHE_DOCS_GALLERY"  # "skip": do not run the examples

_runs: dict[str, Path] = {}  # script (as written in the marker) -> its cached run folder


def markers(markdown: str) -> list[str]:
    """The example scripts (paths relative to the source root) named by markers in a page."""
    return MARKER.findall(markdown)


def run_key(script: Path, root: Path = ROOT) -> str:
    """A hash of the example and of every source file of the package it runs against."""
    digest = hashlib.sha256(script.read_bytes())
    for path in sorted((root / "reluthe").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def _skipped() -> bool:
    return os.environ.get(SKIP_ENV, "") == "skip"


def on_files(files, config, **kwargs):
    """Run (or find in the cache) every example a page names; add its figures to the site."""
    _runs.clear()
    if _skipped():
        return files
    scripts = sorted({s for page in files.documentation_pages()
                      for s in markers(Path(page.abs_src_path).read_text(encoding="utf-8"))})
    for script in scripts:
        if not (ROOT / script).is_file():
            raise PluginError(f"gallery: a page names {script}, which is not a file of the "
                              f"source tree {ROOT}")
    _runs.update(run_examples(scripts))
    for script, folder in _runs.items():
        for image in images(folder):
            files.append(File.generated(config, f"{OUTPUT_DIR}/{Path(script).stem}/{image.name}",
                                        abs_src_path=str(image)))
    return files


def run_examples(scripts: list[str], root: Path = ROOT, cache: Path = CACHE) -> dict[str, Path]:
    """The cached run folder of each script, running (in parallel) those not cached yet.

    ``scripts`` are paths relative to the source tree ``root``; each run folder in ``cache``
    holds ``stdout.txt`` and the images the script wrote into its working folder.
    """
    folders = {s: cache / f"{Path(s).stem}-{run_key(root / s, root)}" for s in scripts}
    missing = [s for s in scripts if not (folders[s] / "stdout.txt").is_file()]
    cache.mkdir(parents=True, exist_ok=True)
    work = {s: Path(tempfile.mkdtemp(prefix=f"{Path(s).stem}-", dir=cache)) for s in missing}
    env = dict(os.environ, MPLBACKEND="Agg",
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    procs = {s: subprocess.Popen([sys.executable, str(root / s)], cwd=work[s], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for s in missing}
    try:
        for script, proc in procs.items():
            _finish(script, proc, work[script], folders[script])
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        for folder in work.values():
            shutil.rmtree(folder, ignore_errors=True)
    return folders


def _finish(script: str, proc: subprocess.Popen, work: Path, folder: Path) -> None:
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise PluginError(f"gallery: {script} did not finish within {TIMEOUT_S} s") from exc
    if proc.returncode != 0:
        raise PluginError(f"gallery: {script} failed with status {proc.returncode}:\n"
                          f"{err[-3000:]}")
    (work / "stdout.txt").write_text(out, encoding="utf-8")
    try:
        work.rename(folder)  # atomic: a cached run is complete or absent
    except OSError:  # another build cached the same run meanwhile
        if not (folder / "stdout.txt").is_file():
            raise


def images(folder: Path) -> list[Path]:
    """The images an example wrote, by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGES)


def output_markdown(script: str, folder: Path) -> str:
    """The Markdown that replaces a marker: the printed text, then each figure."""
    text = (folder / "stdout.txt").read_text(encoding="utf-8").rstrip()
    fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", text)), default=0))
    lines = ['<div class="gallery-output" markdown>', "",
             f"**Output** of `python {script}`, run when this site was built:", "",
             f"{fence}text", text or "(no output)", fence, ""]
    for image in images(folder):
        lines += [f"![{image.name}](output/{Path(script).stem}/{image.name})", ""]
    return "\n".join([*lines, "</div>"])


def on_page_markdown(markdown, page, **kwargs):
    """Replace every marker of the page with its example's output."""
    def replace(match: re.Match) -> str:
        script = match["script"]
        if not page.file.src_uri.startswith("gallery/"):
            raise PluginError(f"gallery: {page.file.src_uri} has a gallery-output marker; "
                              "markers belong to pages under docs/gallery/")
        if _skipped():
            return (f'!!! note "Output not generated"\n    This site was built with '
                    f"`{SKIP_ENV}=skip`, so `{script}` did not run.")
        return output_markdown(script, _runs[script])
    return MARKER.sub(replace, markdown)
