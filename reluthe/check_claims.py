"""``python -m reluthe.check_claims``: check the article's claims; write JSON, report and figures.

Every claim of CLAIMS.md is listed; each implemented one is measured (or its measurement is loaded
from the cache), its decision rule applied and its figures drawn. The run prints a verdict table and
writes the JSON record (``report.json``), the Markdown report (``report.md``) and the figures
(``figures/``) into one folder: ``--out DIR``; by default ``docs/`` when run in a reluthe
checkout (the current directory holds ``reluthe/check_claims.py`` and ``docs/``), else
``./reluthe-report/``, named on standard error. A ``--quick`` run labels every rule output
"quick: not evidence". ``main(argv)`` returns the exit code and never calls ``sys.exit``:
0 every selected check ran, 1 ``--strict`` and a claim is refuted, 2 usage error, 3 a check or the
run failed (``--traceback`` prints the full traceback), 4 ``--figures-only`` found nothing cached,
5 ``--redecide`` could not reproduce a verdict from the record, 130 interrupted (Ctrl-C).

Examples
--------
>>> from reluthe.check_claims import main
>>> main(["--list", "--only", "C01"])  # doctest: +ELLIPSIS
id   §      status ...
C01  2.1    ...
0
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import sys
import time
import traceback
from contextlib import ExitStack
from pathlib import Path

from reluthe import claims as claims_pkg
from reluthe._backends import CLUSTER_BACKENDS, backend_session, prepare_backend
from reluthe._cache import CACHE_ENV, MeasurementCache, code_version, default_cache_dir
from reluthe._files import atomic_write_text
from reluthe._progress import HEARTBEAT_S, RunProgress
from reluthe._redecide import redecide
from reluthe._runner import ClaimRun, run_claims, run_record
from reluthe.claims._base import Claim, Context, Settings, Verdict
from reluthe.claims._catalogue import CATALOGUE
from reluthe.claims._seeds import MAX_MASTER
from reluthe.report import render

__all__ = ["main", "build_parser"]

PROG = "python -m reluthe.check_claims"
EXIT_OK, EXIT_REFUTED, EXIT_USAGE, EXIT_ERROR, EXIT_NOT_CACHED, EXIT_MISMATCH = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
STDOUT = Path("-")
CHECKOUT_OUT = Path("docs")  # the default output folder inside a reluthe checkout
INSTALLED_OUT = Path("reluthe-report")  # ... and anywhere else
QUICK_LABEL = "quick: not evidence"

_DESCRIPTION = """\
Check every claim of the article (CLAIMS.md) that has a check: measure it (or load the measurement
from the cache), apply its decision rule, draw its figures. Prints a verdict table and writes the
JSON record, the Markdown report and the figures into one folder (--out). The claims, their
quotes and what each measures are listed in docs/claims.md (and by --list)."""

_EPILOG = f"""\
exit codes:
  0  every selected check ran (whatever the verdicts)
  1  --strict and at least one claim is refuted
  2  usage error (bad flag or value; the reason is printed)
  3  internal error: a check raised (the other claims still run and the report marks it
     "error") or the run itself failed; add --traceback for the full traceback
  4  --figures-only and no selected claim has a cached measurement (nothing is written;
     a claim without one, when others have one, is reported as "error" and exits 3)
  5  --redecide: a verdict, key number, evidence field or explanation of the record could
     not be re-derived from its raw data (each mismatch is printed with the claim and field)
  130 interrupted (Ctrl-C); outputs are written atomically, so each is old or new

outputs:
  --out DIR holds report.json, report.md and figures/ (--json, --report and --figures move one
  of them). Without --out: docs/ when the current directory is a reluthe checkout (it holds
  reluthe/check_claims.py and docs/), else ./reluthe-report/ (the run names it on stderr).

quick runs:
  --quick runs small versions of every experiment, for tests and trials: the table, the summary
  and the report label every rule output "quick: not evidence"; they are not verdicts.

progress (stderr):
  On a terminal, tqdm bars over the claims and over the running claim's cells (the units it
  hands to ctx.map). Otherwise a heartbeat line every --heartbeat seconds (default 30) while a
  claim runs: the claim, how long it has run, and its cells done / total.

records and replication:
  The JSON record holds, per claim, the design and the raw per-seed rows its rule read.
  --redecide PATH re-applies every rule to a record (no training; seconds) and checks that
  it gives the recorded verdicts. --replicate K measures every claim under the master seeds
  --seed, --seed+1, ..., --seed+K-1 (disjoint seed blocks); a claim whose verdict differs
  between them is labelled "unstable" with the outcomes seen.

cache:
  Finished measurements are stored in --cache-dir (default: ${CACHE_ENV}, else
  .reluthe-cache/ in the current directory), keyed by claim id, settings (--quick, --full, --seed,
  --device) and a hash of the reluthe source code; any code edit starts afresh. --no-cache
  measures everything again and overwrites the stored entries. --figures-only measures nothing:
  it redraws figures and rewrites the JSON and the report from the newest stored measurement of
  each claim with these settings, even one made by older code (the report then says so).

parallel backends:
  --jobs N runs a claim's independent units on N joblib workers (--backend loky by default).
  Ray:  pip install 'reluthe[ray]'; --backend ray --jobs N registers it and connects to
        $RAY_ADDRESS (or a Ray already initialised, or starts a local Ray).
  Dask: pip install 'reluthe[dask]'; --backend dask --jobs N connects to --scheduler ADDRESS
        (or $DASK_SCHEDULER_ADDRESS, or the client already open in the process); failing
        those it starts a local Dask cluster of N worker processes and stops it at the end.
  Ray and Dask need --jobs 2 or more (with --jobs 1 every unit runs in this process).
  Any backend registered with joblib.register_parallel_backend before calling
  reluthe.check_claims.main() is accepted. See docs/parallel.md.
"""


class UsageError(Exception):
    """A bad command line; the message says what is wrong and what is accepted."""


class _ParserExit(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of calling ``sys.exit``."""

    def error(self, message):
        raise UsageError(message)

    def exit(self, status=0, message=None):
        if message:
            sys.stderr.write(message)
        raise _ParserExit(status)


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (raises instead of exiting; ``main`` turns that into a code)."""
    p = _Parser(prog=PROG, description=_DESCRIPTION, epilog=_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--list", action="store_true", help="list the claims and exit")
    p.add_argument("--only", metavar="IDS",
                   help="comma-separated claim ids, e.g. C04,C05 (the JSON and the report then "
                        "cover only these)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="small version of every experiment (seconds; for tests and trials)")
    size.add_argument("--full", action="store_true",
                      help="full-size grids where the default run reduces one for time "
                           "(more activations, seeds, strengths, depths, lengths and steps; "
                           "hours on 2 CPU cores, mostly C09's depth grid; a GPU helps: "
                           "--device cuda); empirical/ lists each claim's full grid and "
                           "recorded result")
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help=f"master seed; experiments derive theirs from it in a block of their "
                        f"own (0 to {MAX_MASTER}; default 0)")
    p.add_argument("--replicate", type=int, default=1, metavar="K",
                   help="also measure under the next K-1 master seeds and label claims whose "
                        "verdict differs 'unstable' (default 1: no replication)")
    p.add_argument("--redecide", type=Path, default=None, metavar="RECORD",
                   help="measure nothing: re-apply every rule to the raw data of a JSON record "
                        "and check its verdicts (exit 5 on a mismatch)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="device for torch work (default cpu)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help=f"folder for report.json, report.md and figures/ (default {CHECKOUT_OUT}/ "
                        f"in a reluthe checkout, else ./{INSTALLED_OUT}/)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH",
                   help="JSON record of the run (default OUT/report.json; - for standard "
                        "output, the verdict table then goes to standard error)")
    p.add_argument("--report", type=Path, default=None, metavar="PATH",
                   help="Markdown report (default OUT/report.md; - for standard output)")
    p.add_argument("--figures", type=Path, default=None, metavar="DIR",
                   help="directory for figures (default OUT/figures)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="joblib workers for a claim's independent units (default 1)")
    p.add_argument("--backend", default="loky", metavar="NAME",
                   help="joblib backend: loky (default), threading, multiprocessing, ray, dask")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="with --backend dask: the scheduler to use, e.g. tcp://host:8786 "
                        "(default $DASK_SCHEDULER_ADDRESS, else a local cluster of --jobs "
                        "workers)")
    p.add_argument("--no-cache", action="store_true",
                   help="do not read stored measurements (fresh ones are still stored)")
    p.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                   help=f"measurement cache (default ${CACHE_ENV} or .reluthe-cache)")
    p.add_argument("--figures-only", action="store_true",
                   help="measure nothing: redraw figures, JSON and report from the cache")
    p.add_argument("--strict", action="store_true", help="exit 1 if any claim is refuted")
    p.add_argument("--traceback", action="store_true",
                   help="print the full traceback of every error")
    p.add_argument("--heartbeat", type=float, default=HEARTBEAT_S, metavar="S",
                   help=f"when stderr is not a terminal, a progress line every S seconds while a "
                        f"claim runs (default {HEARTBEAT_S:g}; 0: none)")
    p.add_argument("-v", "--verbose", action="store_true", help="progress messages of checks")
    return p


def _selected_ids(only: str | None) -> list[str] | None:
    if only is None:
        return None
    valid = [row[0] for row in CATALOGUE]
    ids = [part.strip().upper() for part in only.split(",") if part.strip()]
    unknown = [i for i in ids if i not in valid]
    if not ids or unknown:
        got = ", ".join(unknown) if unknown else repr(only)
        raise UsageError(f"argument --only: unknown claim id(s) {got}; valid ids are "
                         f"{', '.join(valid)}")
    return ids


def _validate(args: argparse.Namespace) -> None:
    args.only_ids = _selected_ids(args.only)
    if not 0 <= args.seed <= MAX_MASTER:
        raise UsageError(f"argument --seed: must be an integer in [0, {MAX_MASTER}]; got "
                         f"{args.seed}")
    if args.replicate < 1:
        raise UsageError(f"argument --replicate: must be an integer >= 1; got {args.replicate}")
    if args.seed + args.replicate - 1 > MAX_MASTER:
        raise UsageError(f"argument --replicate: master seeds {args.seed}..."
                         f"{args.seed + args.replicate - 1} go beyond {MAX_MASTER}")
    if args.redecide is not None:
        clash = [flag for flag, on in (("--replicate", args.replicate != 1),
                                       ("--figures-only", args.figures_only),
                                       ("--no-cache", args.no_cache), ("--list", args.list))
                 if on]
        if clash:
            raise UsageError(f"--redecide measures nothing; it cannot be combined with "
                             f"{', '.join(clash)}")
        if not args.redecide.is_file():
            raise UsageError(f"argument --redecide: no such file: {args.redecide}")
    if not args.list and args.redecide is None:
        _resolve_outputs(args)
        _check_outputs(args)
    if args.figures_only and args.replicate != 1:
        raise UsageError("--figures-only redraws one cached run; it cannot be combined with "
                         "--replicate")
    if args.jobs < 1:
        raise UsageError(f"argument --jobs: must be an integer >= 1; got {args.jobs}")
    if args.backend in CLUSTER_BACKENDS and args.jobs == 1:
        raise UsageError(f"--backend {args.backend} sends units to its workers only with --jobs 2 "
                         "or more (with --jobs 1 every unit runs in this process); give --jobs N")
    if args.scheduler is not None and args.backend != "dask":
        raise UsageError(f"--scheduler is the address of a Dask scheduler; it needs --backend "
                         f"dask, not --backend {args.backend}")
    if not (math.isfinite(args.heartbeat) and args.heartbeat >= 0):
        raise UsageError(f"argument --heartbeat: must be a number of seconds >= 0 (0: no "
                         f"heartbeat); got {args.heartbeat}")
    if args.figures_only and args.no_cache:
        raise UsageError("--figures-only reads the cache; it cannot be combined with --no-cache")
    if args.list:
        return
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError(f"argument --device: CUDA is not available here (torch "
                             f"{torch.__version__}, {torch.cuda.device_count()} GPU visible); "
                             "use --device cpu")
    try:
        prepare_backend(args.backend)
    except ValueError as exc:
        raise UsageError(f"argument --backend: {exc}") from None


def _writable_dir(path: Path) -> bool:
    """Whether ``path`` is, or could be created as, a directory this process can write into."""
    while not path.exists():
        if path.parent == path:
            return False
        path = path.parent
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def _in_checkout(directory: Path) -> bool:
    """Whether ``directory`` is a reluthe checkout (it holds reluthe/check_claims.py and docs/).

    Examples
    --------
    >>> _in_checkout(Path("/"))
    False
    """
    return (directory / "reluthe" / "check_claims.py").is_file() and (directory / "docs").is_dir()


def _resolve_outputs(args: argparse.Namespace) -> None:
    """Fill in --json, --report and --figures from --out or the default folder."""
    out = args.out
    args.announce_out = None
    if out is None:
        out = CHECKOUT_OUT if _in_checkout(Path.cwd()) else INSTALLED_OUT
        if out == INSTALLED_OUT and None in (args.json, args.report, args.figures):
            args.announce_out = out
    args.json = args.json or out / "report.json"
    args.report = args.report or out / "report.md"
    args.figures = args.figures or out / "figures"


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path is usable, checked before anything is measured."""
    if args.json == STDOUT and args.report == STDOUT:
        raise UsageError("--json - and --report - would both write to standard output; send "
                         "one of them to a file")
    for flag, path in (("--json", args.json), ("--report", args.report)):
        if path == STDOUT:
            continue
        if path.is_dir() or not _writable_dir(path.parent):
            raise UsageError(f"argument {flag}: cannot write the file {path} (a directory, or "
                             "its folder cannot be created or written)")
    cache = args.cache_dir or default_cache_dir()
    for flag, path in (("--figures", args.figures), ("--cache-dir", cache)):
        if not _writable_dir(path):
            raise UsageError(f"argument {flag}: {path} is not a directory this run can write "
                             "into")


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _list(claims: list[Claim]) -> None:
    print(f"{'id':<4} {'§':<6} {'status':<16} claim")
    for c in claims:
        status = "implemented" if c.implemented else "not implemented"
        print(f"{c.id:<4} {c.section:<6} {status:<16} {_short(c.statement, 70)}")


def _ruled(run: ClaimRun) -> bool:
    """Whether a decision rule produced the run's outcome (not an error, not unimplemented)."""
    return run.verdict not in (Verdict.NOT_IMPLEMENTED, Verdict.ERROR)


def _row(run: ClaimRun, quick: bool) -> str:
    c, o = run.result.claim, run.result.outcome
    verdict, key = o.verdict.value, o.key
    if quick and _ruled(run):
        verdict, key = QUICK_LABEL, f"(rule on quick data: {verdict}) {key}"
    row = f"{c.id:<4} {_short(c.statement, 44):<45} {verdict:<19} {key}"
    if run.replication is not None and not run.replication["stable"]:
        row += f"  [{run.replication['label']}]"
    return row


def _summary(runs: list[ClaimRun], seconds: float, quick: bool) -> str:
    counts = {}
    for run in runs:
        counts[run.verdict.value] = counts.get(run.verdict.value, 0) + 1
    parts = [f"{counts[v.value]} {v.value}" for v in Verdict if v.value in counts]
    cached = sum(run.result.cached for run in runs)
    unstable = [run.result.claim.id for run in runs
                if run.replication is not None and not run.replication["stable"]]
    label = f" ({QUICK_LABEL}: small versions; rerun without --quick for verdicts)"
    text = (f"{len(runs)} claims in {seconds:.1f} s{label if quick else ''}: {', '.join(parts)}"
            f"{f'; {cached} from cache' if cached else ''}")
    if any(run.replication is not None for run in runs):
        text += f"; unstable across master seeds: {', '.join(unstable) or 'none'}"
    return text


def _cached_entries(claims: list[Claim], cache: MeasurementCache, settings: Settings,
                    code: str) -> dict:
    """Claim id -> its measurement for this code version, else the newest with these settings."""
    entries = {}
    for claim in claims:
        if claim.implemented:
            entry = cache.load(claim.id, settings, code) or cache.latest(claim.id, settings)
            if entry is not None:
                entries[claim.id] = entry
    return entries


def _write_outputs(args: argparse.Namespace, record: dict) -> None:
    text = json.dumps(record, indent=1, ensure_ascii=False, allow_nan=False)
    for path, content in ((args.json, text + "\n"), (args.report, render(record))):
        if path == STDOUT:
            sys.stdout.write(content)
            sys.stdout.flush()
        else:
            atomic_write_text(path, content)


def _redecide(path: Path, claims: list[Claim], only: list[str] | None) -> int:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"{PROG}: error: --redecide: cannot read {path} as JSON: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if only is not None and isinstance(record, dict) and isinstance(record.get("claims"), list):
        record = dict(record, claims=[c for c in record["claims"]
                                      if isinstance(c, dict) and c.get("id") in only])
    done, problems = redecide(record, claims)
    for problem in problems:
        print(f"{PROG}: mismatch: {problem}", file=sys.stderr)
    print(f"re-decided {len(done)} claims from {path}: "
          f"{'all verdicts reproduced' if not problems else f'{len(problems)} mismatches'}")
    return EXIT_MISMATCH if problems else EXIT_OK


def _execute(args: argparse.Namespace, cluster: str | None = None) -> int:
    claims = claims_pkg.registry()
    if args.redecide is not None:
        return _redecide(args.redecide, claims, args.only_ids)
    if args.only_ids is not None:
        claims = [c for c in claims if c.id in args.only_ids]
    if args.list:
        _list(claims)
        return EXIT_OK

    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    settings = Settings(quick=args.quick, seed=args.seed, device=args.device, full=args.full)
    cache = MeasurementCache(args.cache_dir or default_cache_dir())
    code = code_version()
    entries = None
    if args.figures_only:
        entries = _cached_entries(claims, cache, settings, code)
        if not entries:
            print(f"{PROG}: error: --figures-only: no cached measurement in {cache.directory} "
                  f"with quick={settings.quick}, full={settings.full}, seed={settings.seed}, "
                  f"device={settings.device} for any selected claim; run without "
                  "--figures-only first. Nothing was written.", file=sys.stderr)
            return EXIT_NOT_CACHED
    if args.announce_out is not None:
        print(f"{PROG}: not in a reluthe checkout: writing the report into "
              f"{args.announce_out}/ (choose the folder with --out DIR)", file=sys.stderr)
    if cluster is not None:
        print(f"{PROG}: --backend {args.backend}: {cluster}", file=sys.stderr)

    out = sys.stderr if STDOUT in (args.json, args.report) else sys.stdout
    progress = RunProgress(len(claims) * args.replicate, terminal=sys.stderr.isatty(),
                           every_s=args.heartbeat, unit="claim" if args.replicate == 1 else "run")
    ctx = Context(settings, jobs=args.jobs, backend=args.backend, verbose=args.verbose,
                  progress=progress)

    def on_result(run: ClaimRun) -> None:
        progress.write(_row(run, args.quick), out)
        if run.error:
            progress.write(f"{PROG}: {run.result.claim.id}: {run.error}", sys.stderr)
            if args.traceback:
                progress.write(run.traceback, sys.stderr)

    with progress:
        progress.write(f"{'id':<4} {'claim':<45} {'verdict':<19} key", out)
        runs = run_claims(claims, ctx, cache, code, args.figures, read_cache=not args.no_cache,
                          entries=entries, on_result=on_result, replicate=args.replicate)
    elapsed = time.perf_counter() - t0
    href = Path(os.path.relpath(args.figures.resolve(), args.report.resolve().parent)).as_posix()
    record = run_record(runs, settings=settings, jobs=args.jobs, backend=args.backend,
                        figures_only=args.figures_only, code=code, started=started,
                        runtime_s=elapsed, figures_dir=args.figures.as_posix(), figures_href=href,
                        replicate=args.replicate)
    _write_outputs(args, record)
    print(_summary(runs, elapsed, args.quick), file=out, flush=True)
    print(f"wrote {args.json}, {args.report}, figures in {args.figures}", file=out, flush=True)

    failed = [run.result.claim.id for run in runs if run.error]
    if failed:
        hint = "" if args.traceback else " (run with --traceback for the full traceback)"
        print(f"{PROG}: error: the check of {', '.join(failed)} failed; marked \"error\" in "
              f"the report{hint}", file=sys.stderr)
        return EXIT_ERROR
    if args.strict and any(run.verdict is Verdict.REFUTED for run in runs):
        return EXIT_REFUTED
    return EXIT_OK


def _open_backend(args: argparse.Namespace, stack: ExitStack) -> str | None:
    """Open the backend's session (a Dask cluster) for a run that measures; describe it."""
    if args.list or args.redecide is not None or args.figures_only:
        return None
    try:
        return stack.enter_context(backend_session(args.backend, args.jobs, args.scheduler))
    except ValueError as exc:
        raise UsageError(f"argument --backend {args.backend}: {exc}") from None


def _usage_error(parser: argparse.ArgumentParser, exc: UsageError) -> int:
    parser.print_usage(sys.stderr)
    print(f"{PROG}: error: {exc}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _validate(args)
    except _ParserExit as exc:
        return exc.status
    except UsageError as exc:
        return _usage_error(parser, exc)
    with ExitStack() as stack:
        try:
            cluster = _open_backend(args, stack)
            return _execute(args, cluster)
        except UsageError as exc:  # the backend's cluster cannot be reached
            return _usage_error(parser, exc)
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted; every output file is the old one or the new one, never "
                  "half-written", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception as exc:
            print(f"{PROG}: internal error: {type(exc).__name__}: {exc}".splitlines()[0],
                  file=sys.stderr)
            if args.traceback:
                traceback.print_exc()
            else:
                print("run with --traceback for the full traceback", file=sys.stderr)
            return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
