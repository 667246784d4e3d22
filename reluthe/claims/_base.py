"""Types of the claims framework: what a claim is, how it is checked, what a check returns.

A claim's check is split in three so that rules are fixed before data and figures can be redrawn
without retraining:

* ``measure(ctx) -> dict``: runs the experiment or derivation; returns ``{"design", "raw"}``
  (see :mod:`reluthe.claims._records`), JSON-ready and cached;
* ``decide(measured) -> Outcome``: applies the decision rule, written in code beside ``rule``,
  reading only the measurement (so ``--redecide`` can re-run it on the record);
* ``plot(measured, figures_dir) -> list[str]``: draws figures from the measurements (or ``None``).

A claim is one module ``reluthe/claims/<family>/cNN_<topic>.py`` that defines these as ``RULE``,
``measure``, ``decide`` and ``plot``; :func:`checks_of` turns a family's modules into checks.
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reluthe._progress import SILENT, Silent
from reluthe.claims._seeds import check_master, derive
from reluthe.errors import InvalidInputError

__all__ = ["Verdict", "Settings", "Context", "Outcome", "Check", "Claim", "ClaimResult",
           "checks_of", "CLAIM_NAMES"]


class Verdict(str, enum.Enum):
    """The verdicts a claim can receive (see CLAIMS.md)."""

    SUPPORTED = "supported"
    PARTLY = "partly supported"
    REFUTED = "refuted"
    INCONCLUSIVE = "inconclusive"
    NOT_TESTABLE = "not testable"
    NOT_IMPLEMENTED = "not implemented"
    ERROR = "error"  # the check raised; set by check_claims, never returned by a rule

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Settings:
    """Run settings that change measurements; all of them enter the cache key.

    ``quick`` runs small versions of every experiment (seconds, for tests); the default is the
    full protocol; ``full`` runs the full-size grids where the default reduces one for time (the
    claims whose rule says so; the others measure as by default). ``seed`` is the base seed from
    which every experiment derives its seeds.
    """

    quick: bool = False
    seed: int = 0
    device: str = "cpu"
    full: bool = False

    def __post_init__(self):
        if self.quick and self.full:
            raise InvalidInputError("Settings takes quick=True or full=True, not both: quick "
                                    "runs small versions, full the full-size grids.")
        check_master(self.seed)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Context:
    """What a ``measure`` function receives: the settings and the means to run work.

    ``map`` runs independent units through joblib with the selected backend (``loky`` by default;
    ``ray`` or ``dask`` after registering them with joblib), preserving order, and counts them
    as cells on ``progress`` (:mod:`reluthe._progress`; silent by default).
    """

    settings: Settings
    jobs: int = 1
    backend: str = "loky"
    verbose: bool = False
    progress: Silent = SILENT

    @property
    def quick(self) -> bool:
        return self.settings.quick

    @property
    def full(self) -> bool:
        return self.settings.full

    @property
    def mode(self) -> str:
        """``"quick"``, ``"full"`` or ``"default"``: the size of the run, e.g. to pick a
        claim's protocol.

        Examples
        --------
        >>> Context(Settings(full=True)).mode
        'full'
        """
        return "quick" if self.quick else "full" if self.full else "default"

    @property
    def seed(self) -> int:
        return self.settings.seed

    @property
    def device(self) -> str:
        return self.settings.device

    def seeds(self, stream: str, n: int, start: int = 0) -> list[int]:
        """``n`` seeds of ``stream`` ("model", "data", "bootstrap", ...) under the master seed.

        The one derivation rule of :mod:`reluthe.claims._seeds`: disjoint blocks per master
        seed, one sub-block per stream.

        Examples
        --------
        >>> Context(Settings(seed=0)).seeds("model", 3)
        [0, 1, 2]
        """
        return derive(self.settings.seed, stream, n, start)

    def map(self, func: Callable[[Any], Any], items: Iterable[Any]) -> list:
        """Apply ``func`` to each item, in parallel when ``jobs != 1``; results keep item order.

        Each item is one cell of the claim's progress (:func:`reluthe._backends.parallel_map`).
        """
        from reluthe._backends import parallel_map

        return parallel_map(func, items, jobs=self.jobs, backend=self.backend,
                            progress=self.progress)

    def log(self, message: str) -> None:
        """Progress message on stderr (only with ``verbose``)."""
        if self.verbose:
            self.progress.write(message, sys.stderr)


@dataclass(frozen=True)
class Outcome:
    """The result of applying a decision rule.

    Attributes
    ----------
    verdict : Verdict
    key : str
        The key number(s) in one short line, for the verdict table.
    evidence : dict
        JSON-ready numbers behind the verdict (estimates as ``Estimate.to_dict()``).
    explanation : str
        What the verdict means, the condition the article omits, or why it is inconclusive.
    """

    verdict: Verdict
    key: str
    evidence: dict = field(default_factory=dict)
    explanation: str = ""


@dataclass(frozen=True)
class Check:
    """How one claim is checked: the rule in words and the code that measures and decides."""

    rule: str
    measure: Callable[[Context], dict]
    decide: Callable[[dict], Outcome]
    plot: Callable[[dict, Path], list[str]] | None = None


@dataclass(frozen=True)
class Claim:
    """A claim of the article, as listed in CLAIMS.md, with its check when implemented."""

    id: str
    section: str
    quote: str
    statement: str
    needs: str
    check: Check | None = None

    @property
    def implemented(self) -> bool:
        return self.check is not None


@dataclass(frozen=True)
class ClaimResult:
    """A claim after a run: its outcome, figures, timing and whether it came from the cache."""

    claim: Claim
    outcome: Outcome
    figures: tuple[str, ...] = ()
    runtime_s: float = 0.0
    cached: bool = False
    measured: dict | None = None

    def to_dict(self) -> dict:
        c, o = self.claim, self.outcome
        return {
            "id": c.id,
            "section": c.section,
            "quote": c.quote,
            "statement": c.statement,
            "verdict": o.verdict.value,
            "key": o.key,
            "rule": c.check.rule if c.check else None,
            "evidence": o.evidence,
            "explanation": o.explanation,
            "figures": list(self.figures),
            "runtime_s": round(self.runtime_s, 3),
            "cached": self.cached,
        }


CLAIM_NAMES = ("RULE", "measure", "decide", "plot")
_CLAIM_FILE = re.compile(r"c(\d\d)_[a-z0-9_]+")


def checks_of(modules: Sequence) -> dict[str, Check]:
    """Claim id -> :class:`Check` for a family's claim modules ``cNN_<topic>``.

    Each module must define the four :data:`CLAIM_NAMES` (``plot`` may be ``None``); a module
    missing one, or named otherwise, raises ``ImportError`` naming it, so a broken claim file
    fails when its family is imported.

    Examples
    --------
    >>> import types
    >>> m = types.ModuleType("reluthe.claims.demo.c99_demo")
    >>> m.RULE, m.measure, m.decide = "rule", print, print
    >>> checks_of([m])
    Traceback (most recent call last):
    ...
    ImportError: claim module reluthe.claims.demo.c99_demo does not define plot; ...
    """
    checks = {}
    for module in modules:
        name = module.__name__.rsplit(".", 1)[-1]
        match = _CLAIM_FILE.fullmatch(name)
        if match is None:
            raise ImportError(f"claim module {module.__name__} is not named cNN_<topic>")
        missing = [n for n in CLAIM_NAMES if not hasattr(module, n)]
        if missing:
            raise ImportError(f"claim module {module.__name__} does not define "
                              f"{', '.join(missing)}; a claim file defines RULE, measure, decide "
                              "and plot (plot may be None)")
        cid = f"C{match.group(1)}"
        if cid in checks:
            raise ImportError(f"two claim modules of one family check {cid}")
        checks[cid] = Check(module.RULE, module.measure, module.decide, module.plot)
    return checks
