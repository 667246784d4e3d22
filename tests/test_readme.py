"""The README's install route and library quick start: the code runs, the commands agree with
pyproject.toml and the Makefile, and the package builds as a wheel with its extras."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
QUICK_START = README[README.index("## Quick start"):README.index("## Verdicts")]


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def test_quick_start_has_the_pip_route_and_ten_lines_of_code():
    commands = [line.split("#")[0].strip() for block in _blocks(QUICK_START, "bash")
                for line in block.splitlines()]
    pip = [c for c in commands if c.startswith("pip install")]
    assert pip[0].startswith("pip install torch==") and "whl/cpu" in pip[0]  # torch first
    assert pip[1] == "pip install ." and "make claims" in commands
    (code,) = _blocks(QUICK_START, "python")
    assert len(code.strip().splitlines()) <= 11


def test_install_commands_agree_with_pyproject_and_makefile():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = set(re.findall(r'pip install "\.\[(\w+)\]"', QUICK_START))
    extras |= set(re.findall(r'"\.\[(\w+)\]" for', QUICK_START))
    assert {"dask", "ray"} <= extras <= set(project["optional-dependencies"])
    pin = re.search(r"pip install (torch==[\d.]+)", QUICK_START).group(1)
    assert f"TORCH_SPEC ?= {pin}" in (ROOT / "Makefile").read_text()
    assert any(d.startswith("pandas>=") for d in project["dependencies"])
    for extra in ("dask", "ray"):  # lower bounds only, never caps
        assert all("<" not in d for d in project["optional-dependencies"][extra])


def test_quick_start_code_runs_from_an_empty_folder(tmp_path):
    (code,) = _blocks(QUICK_START, "python")
    (tmp_path / "quick_start.py").write_text(code)
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "quick_start.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    first, header, *rows = proc.stdout.splitlines()
    line, square = map(int, re.fullmatch(
        r"(\d+) activation regions on the diagonal, (\d+) in the square", first).groups())
    # every piece of the diagonal with positive length lies in a region of positive area
    assert 1 < line <= square
    assert header.split() == ["layer", "zero_fraction", "dead_units", "grad_norm_in"]
    assert len(rows) == 2  # the two ReLU calls
    for row in rows:
        zero, dead = float(row.split()[1]), int(row.split()[2])
        assert 0 < zero < 1 and 0 <= dead <= 16
    assert [p.name for p in tmp_path.iterdir()] == ["quick_start.py"]  # wrote nothing else


@pytest.mark.slow
def test_wheel_builds_with_the_cli_and_the_extras(tmp_path):
    """`pip install .` installs this wheel: the package, its console script and its extras."""
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = tmp_path.glob("reluthe-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry = z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert {"reluthe/check_claims.py", "reluthe/py.typed", "reluthe/_backends.py"} <= names
    assert "reluthe-check-claims = reluthe.check_claims:main" in entry
    for extra in ("dask", "ray"):
        assert f"Provides-Extra: {extra}" in meta
    assert "Requires-Dist: pandas>=1.5" in meta
