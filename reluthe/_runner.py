"""Run the checks of claims: measure (or load from the cache), decide, plot; record the run.

Claims run one after another in this process; a claim's ``measure`` may spread its independent
units over joblib workers with ``ctx.map``. A claim whose check raises is not dropped: it gets the
verdict "error" with the stage and the exception named, and the other claims still run.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from reluthe import __version__
from reluthe._cache import MeasurementCache
from reluthe._environment import environment, tools_imported
from reluthe._files import file_mode
from reluthe.claims._base import Claim, ClaimResult, Context, Outcome, Settings, Verdict
from reluthe.claims._records import check_measured, encode

__all__ = ["ClaimRun", "check_outcome", "replication_of", "run_claims", "run_record",
           "to_json_ready"]

_RULE_VERDICTS = tuple(v for v in Verdict if v not in (Verdict.NOT_IMPLEMENTED, Verdict.ERROR))


@dataclass
class ClaimRun:
    """One claim after a run: the result, where its measurement came from, and any error."""

    result: ClaimResult
    measurement: dict | None = None
    error: str | None = None
    traceback: str | None = None
    modules: list[str] = field(default_factory=list)
    replication: dict | None = None

    @property
    def verdict(self) -> Verdict:
        return self.result.outcome.verdict

    def to_dict(self) -> dict:
        """The claim's entry of the run record (JSON-ready except for non-finite floats)."""
        entry = self.result.to_dict()
        entry["needs"] = self.result.claim.needs
        entry["error"] = self.error
        entry["measurement"] = self.measurement
        measured = self.result.measured or {}
        # What decide read, non-finite floats encoded: check_claims --redecide re-decides from it.
        entry["design"] = encode(measured.get("design"))
        entry["raw"] = encode(measured.get("raw"))
        if self.replication is not None:
            entry["replication"] = self.replication
        return entry


def to_json_ready(obj, where: str, *, finite: bool):
    """Copy ``obj`` as plain JSON types; raise ``TypeError`` naming the path of a bad value.

    Dicts need string keys (JSON would turn other keys into strings and change the data on reload);
    tuples become lists. With ``finite``, NaN and infinities become ``None`` (JSON has no NaN).

    Examples
    --------
    >>> to_json_ready({"a": (1, float("nan"))}, "x", finite=True)
    {'a': [1, None]}
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        value = float(obj)
        return None if finite and not math.isfinite(value) else value
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has a key {key!r} of type {type(key).__name__}; "
                                "JSON keys must be str")
            out[key] = to_json_ready(value, f"{where}[{key!r}]", finite=finite)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_json_ready(v, f"{where}[{i}]", finite=finite) for i, v in enumerate(obj)]
    raise TypeError(f"{where} is a {type(obj).__module__}.{type(obj).__name__}, which is not "
                    "JSON-serialisable; convert it (float(x), int(x), x.tolist())")


def _not_implemented(claim: Claim) -> ClaimRun:
    outcome = Outcome(Verdict.NOT_IMPLEMENTED, "—", {},
                      "The measurement for this claim is not written yet, so it gets no verdict.")
    return ClaimRun(ClaimResult(claim, outcome))


def _error(claim: Claim, stage: str, exc: BaseException, elapsed: float,
           measurement: dict | None, measured: dict | None) -> ClaimRun:
    brief = f"{type(exc).__name__}: {exc}".splitlines()[0]
    outcome = Outcome(Verdict.ERROR, f"{stage} failed ({type(exc).__name__})", {},
                      f"The check's {stage} failed with {brief}; no verdict. Run with "
                      "--traceback for the full traceback.")
    result = ClaimResult(claim, outcome, runtime_s=elapsed,
                         cached=bool(measurement and measurement["cached"]), measured=measured)
    return ClaimRun(result, measurement, error=f"{stage} failed: {brief}",
                    traceback="".join(traceback.format_exception(exc)))


def check_outcome(outcome) -> Outcome:
    if not isinstance(outcome, Outcome):
        raise TypeError(f"decide must return an Outcome; got {type(outcome).__name__}")
    if outcome.verdict not in _RULE_VERDICTS:
        raise TypeError(f"decide must return one of {[str(v) for v in _RULE_VERDICTS]}; "
                        f"got {outcome.verdict!r}")
    if not isinstance(outcome.key, str) or not isinstance(outcome.explanation, str):
        raise TypeError("decide must return an Outcome whose key and explanation are str")
    evidence = to_json_ready(outcome.evidence, "evidence", finite=True)
    return Outcome(outcome.verdict, outcome.key, evidence, outcome.explanation)


def _plot(claim: Claim, measured: dict, figures_dir: Path) -> tuple[str, ...]:
    """Draw the claim's figures into a private directory, then move each into ``figures_dir``.

    A run killed while drawing leaves the old figures (and a hidden temporary directory), never
    a truncated PNG: each file is moved into place with :func:`os.replace`.
    """
    figures_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=figures_dir, prefix=".drawing-") as tmp:
        names = claim.check.plot(measured, Path(tmp))
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise TypeError(f"plot must return a list of file names; got {names!r}")
        missing = [n for n in names if not (Path(tmp) / n).is_file()]
        if missing:
            raise FileNotFoundError(f"plot returned {missing} but wrote no such file")
        for name in names:
            os.chmod(Path(tmp) / name, file_mode(figures_dir / name))
            os.replace(Path(tmp) / name, figures_dir / name)
    # Figures of this claim from earlier runs that it no longer draws would be stale: remove them.
    for old in figures_dir.glob(f"{claim.id.lower()}_*.png"):
        if old.name not in names:
            old.unlink()
    return tuple(names)


def run_one(claim: Claim, ctx: Context, cache: MeasurementCache, code: str,
            figures_dir: Path | None, *, read_cache: bool = True, figures_only: bool = False,
            entry: dict | None = None) -> ClaimRun:
    """Check one claim: use ``entry`` or a cache hit, or measure; then decide and plot.

    With ``figures_only`` nothing is measured or stored: ``entry`` must hold the measurement,
    and a claim without one is an error ("no cached measurement"). ``figures_dir=None`` draws
    nothing (the replicates of ``--replicate``).
    """
    if claim.check is None:
        return _not_implemented(claim)
    start = time.perf_counter()
    settings = ctx.settings
    measurement = measured = None
    stage = "cache lookup" if figures_only else "measure"
    try:
        if entry is None and read_cache and not figures_only:
            entry = cache.load(claim.id, settings, code)
        if entry is None and figures_only:
            raise LookupError(f"no cached measurement in {cache.directory} for these settings; "
                              "run without --figures-only to measure it")
        if entry is not None:
            measured = check_measured(entry["measured"], claim.id)
            modules = entry["modules"]
            measurement = {"cached": True, "measured_at": entry["created"],
                           "measure_s": round(entry["runtime_s"], 3),
                           "code_version": entry["code_version"],
                           "current_code": entry["code_version"] == code}
        else:
            measured = check_measured(claim.check.measure(ctx), claim.id)
            measured = to_json_ready(measured, "measured", finite=False)
            measure_s = time.perf_counter() - start
            modules = tools_imported()
            measurement = {"cached": False,
                           "measured_at": _dt.datetime.now(_dt.timezone.utc).isoformat(
                               timespec="seconds"),
                           "measure_s": round(measure_s, 3), "code_version": code,
                           "current_code": True}
            try:
                cache.store(claim.id, settings, code, measured, runtime_s=measure_s,
                            modules=modules)
            except OSError as exc:
                print(f"check_claims: warning: could not cache {claim.id}: {exc}",
                      file=sys.stderr)
        stage = "decide"
        outcome = check_outcome(claim.check.decide(measured))
        stage = "plot"
        draw = claim.check.plot and figures_dir is not None
        figures = _plot(claim, measured, figures_dir) if draw else ()
    except Exception as exc:  # a failing check must be reported, not crash the other claims
        return _error(claim, stage, exc, time.perf_counter() - start, measurement, measured)
    result = ClaimResult(claim, outcome, figures, time.perf_counter() - start,
                         cached=measurement["cached"], measured=measured)
    return ClaimRun(result, measurement, modules=list(modules))


def replication_of(runs: Sequence[ClaimRun], master_seeds: Sequence[int]) -> dict:
    """The agreement of one claim's runs under several master seeds (``--replicate``).

    "stable" when every run gave the same verdict, else "unstable" with the outcomes seen.

    Examples
    --------
    >>> from reluthe.claims import Claim
    >>> c = Claim("C99", "1", "q", "s", "n")
    >>> runs = [ClaimRun(ClaimResult(c, Outcome(v, "k"))) for v in
    ...         (Verdict.SUPPORTED, Verdict.PARTLY, Verdict.SUPPORTED)]
    >>> replication_of(runs, [0, 1, 2])["label"]
    'unstable (supported ×2, partly supported ×1)'
    """
    verdicts = [run.verdict.value for run in runs]
    seen = Counter(verdicts)
    stable = len(seen) == 1
    label = "stable" if stable else "unstable (" + ", ".join(
        f"{v} ×{n}" for v, n in seen.most_common()) + ")"
    return {"master_seeds": list(master_seeds), "verdicts": verdicts,
            "keys": [run.result.outcome.key for run in runs], "stable": stable, "label": label}


def run_claims(claims: Sequence[Claim], ctx: Context, cache: MeasurementCache, code: str,
               figures_dir: Path, *, read_cache: bool = True, entries: dict | None = None,
               on_result: Callable[[ClaimRun], None] | None = None,
               replicate: int = 1) -> list[ClaimRun]:
    """Check ``claims`` in order.

    ``entries`` (claim id -> cache entry) selects figures-only mode: nothing is measured or stored,
    and a claim missing from ``entries`` is an error. ``read_cache=False`` measures every claim
    afresh (the new measurements are still stored). ``replicate=K`` also measures each claim
    under the next ``K - 1`` master seeds and attaches :func:`replication_of` to its run; the
    run under ``ctx``'s seed is the one reported and drawn. ``on_result`` is called after each
    claim; each claim (and replicate) is started and finished on ``ctx.progress``.
    """
    masters = [ctx.seed + k for k in range(replicate)]
    contexts = [ctx] + [replace(ctx, settings=replace(ctx.settings, seed=m)) for m in masters[1:]]
    runs = []
    for claim in claims:
        replicates = []
        for k, c in enumerate(contexts):
            ctx.progress.start(claim.id if replicate == 1 else f"{claim.id} seed {masters[k]}")
            replicates.append(run_one(
                claim, c, cache, code, figures_dir if k == 0 else None,
                read_cache=read_cache, figures_only=entries is not None,
                entry=entries.get(claim.id) if entries is not None else None))
            ctx.progress.finish()
        run = replicates[0]
        if replicate > 1 and claim.implemented:
            run.replication = replication_of(replicates, masters)
        runs.append(run)
        if on_result is not None:
            on_result(run)
    return runs


def run_record(runs: Sequence[ClaimRun], *, settings: Settings, jobs: int, backend: str,
               figures_only: bool, code: str, started: str, runtime_s: float,
               figures_dir: str, figures_href: str, replicate: int = 1) -> dict:
    """The JSON record of a run (the input of :func:`reluthe.report.render`)."""
    counts = Counter(run.verdict.value for run in runs)
    unstable = [run.result.claim.id for run in runs
                if run.replication is not None and not run.replication["stable"]]
    return to_json_ready({
        "reluthe_version": __version__,
        "seed": settings.seed,
        "master_seeds": [settings.seed + k for k in range(replicate)],
        "replicate": replicate,
        "unstable": unstable,
        "quick": settings.quick,
        "full": settings.full,
        "device": settings.device,
        "jobs": jobs,
        "backend": backend,
        "figures_only": figures_only,
        "code_version": code,
        "started": started,
        "runtime_s": round(runtime_s, 3),
        "environment": environment(settings.device),
        "tools_imported": sorted({m for run in runs for m in run.modules}),
        "figures_dir": figures_dir,
        "figures_href": figures_href,
        "summary": {v.value: counts[v.value] for v in Verdict if counts[v.value]},
        "claims": [run.to_dict() for run in runs],
    }, "run record", finite=True)
