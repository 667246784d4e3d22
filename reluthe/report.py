"""The Markdown report of a run, rendered from its JSON record alone.

:func:`render` takes the record that ``python -m reluthe.check_claims`` writes
(``docs/report.json``) and returns the report: a verdict table, the provenance of the run, one
section per claim (quote, statement, rule, evidence as tables, explanation, figures) and, last,
answers to the article's three questions composed from the verdicts and key numbers of the claims
behind them. Verdicts are badges, ``<span class="verdict verdict-partly-supported">``, which
``docs/stylesheets/extra.css`` colours on the site (elsewhere they read as bold text); figures
are ``<figure class="report-figure">`` blocks (Markdown inside, for ``md_in_html``) linking to the
full-size image. Because it reads only the record, the report can be rebuilt from a recorded
run: :func:`rebuild` writes ``docs/report.md`` from ``docs/report.json``.

Examples
--------
>>> run = {"reluthe_version": "0.1.0", "seed": 0, "quick": True, "claims": [
...     {"id": "C01", "section": "2.1", "quote": "f(x) = max(0, x)",
...      "statement": "ReLU is max(0, x).", "verdict": "supported", "key": "0 mismatches",
...      "rule": "all grid points agree", "evidence": {"mismatches": 0}, "explanation": "",
...      "figures": ["c01_relu.png"]}]}
>>> text = render(run)
>>> ("| [C01](#c01) | 2.1 | ReLU is max(0, x). | "
...  '<span class="verdict verdict-supported">**supported**</span> | 0 mismatches |') in text
True
>>> "| mismatches | 0 |" in text  # the evidence, as a table
True
>>> "[![c01_relu.png](figures/c01_relu.png)](figures/c01_relu.png)" in text
True
"""

from __future__ import annotations

import json
import math
import posixpath
from pathlib import Path

from reluthe._answer_hidden import answer_hidden_layers
from reluthe._answer_sparse import answer_sparsity
from reluthe._files import atomic_write_text

__all__ = ["rebuild", "render"]

_MAX_ROWS = 30
_MAX_COLS = 8
_MAX_ITEMS = 40
_MAX_LIST = 10
_MAX_TEXT = 300
_MAX_DEPTH = 4

_NOT_RUN = "not in this run"
_VERDICT_ORDER = ("supported", "partly supported", "refuted", "inconclusive", "not testable",
                  "not implemented", "error")

# The article's closing questions, with the claims whose evidence answers each and, where one
# exists, a function composing the answer from their evidence (by_id -> paragraph or None).
QUESTIONS = (
    ("How does ReLU's sparse activation affect generalization?",
     "你能详细解释ReLU函数的稀疏激活特性对模型泛化的影响吗？",
     ("C03", "C04", "C08", "C11", "C13"), answer_sparsity),
    ("Why use ReLU as the activation of hidden layers?",
     "在实际深度学习项目中，为什么要将ReLU函数应用于隐藏层的激活函数？",
     ("C05", "C15", "C09", "C06", "C10", "C17", "C24"), answer_hidden_layers),
    ("Which tools beyond PyTorch and TensorFlow help to study ReLU's effect?",
     "除了PyTorch和TensorFlow，还有哪些其他工具或资源可以帮助深入研究ReLU函数的影响？",
     (), None),
)

# Libraries that help to study ReLU: import name, display name, what each contributes.
TOOLS = (
    ("sympy", "SymPy",
     "exact activations, derivatives, one-sided limits at 0, bounds on region counts"),
    ("networkx", "NetworkX",
     "graphs of linear regions and their adjacency (which neuron flips between them)"),
    ("regioncam", "regioncam",
     "exact linear regions of a network on a 2-D slice of its input, drawn"),
    ("scipy", "SciPy", "confidence intervals and rank correlations over seeds"),
    ("sklearn", "scikit-learn",
     "the handwritten-digits dataset and linear probes of hidden features"),
    ("mnist1d", "MNIST-1D (mnist1d)",
     "a small offline benchmark on which activations differ measurably"),
    ("joblib", "joblib", "parallel sweeps over seeds and settings on one machine"),
    ("ray", "Ray", "the same sweeps on a Ray cluster (joblib backend)"),
    ("dask", "Dask", "the same sweeps on a Dask cluster (joblib backend)"),
)


def render(run: dict) -> str:
    """The Markdown report of a run record (the dict written as ``docs/report.json``).

    Parameters
    ----------
    run : dict
        The run record. Only ``claims`` is required; each claim needs ``id`` and ``verdict`` and
        may have ``section``, ``quote``, ``statement``, ``key``, ``rule``, ``evidence``,
        ``explanation``, ``figures``, ``runtime_s``, ``measurement`` and ``error``. Figures are
        linked relative to the report through ``figures_href`` (default ``"figures"``).

    Returns
    -------
    str
        The report, ending with a newline.
    """
    claims = list(run.get("claims", []))
    href = run.get("figures_href") or run.get("figures_dir") or "figures"
    out = ["# The article's claims about ReLU, checked", ""]
    out += _intro(run)
    out += ["## Verdicts", ""] + _verdict_table(claims) + [""]
    out += ["## Provenance", ""] + _provenance(run) + [""]
    out += ["## Claims", ""]
    for claim in claims:
        out += _claim_section(claim, href) + [""]
    out += _questions(run, claims)
    return "\n".join(out).rstrip("\n") + "\n"


def rebuild(record: str | Path = "docs/report.json", report: str | Path | None = None) -> Path:
    """Write the Markdown report of a JSON run record (atomically) and return its path.

    Parameters
    ----------
    record : str or Path
        The record written by ``python -m reluthe.check_claims`` (default ``docs/report.json``).
    report : str or Path, optional
        Where to write the report; by default ``report.md`` beside the record.

    Returns
    -------
    Path
        The report written: ``render`` of the record.

    Examples
    --------
    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "report.json").write_text(json.dumps({"claims": []}))
    >>> rebuild(folder / "report.json").read_text().startswith("# The article's claims")
    True
    """
    record = Path(record)
    path = Path(report) if report is not None else record.with_name("report.md")
    atomic_write_text(path, render(json.loads(record.read_text(encoding="utf-8"))))
    return path


# ---------------------------------------------------------------------------------------------
# formatting helpers


def _num(x) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return "n/a" if not math.isfinite(x) else f"{x:.4g}"
    return _text(str(x))


def _secs(x) -> str:
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return "? s"
    return "< 0.01 s" if x < 0.01 else f"{x:.3g} s"


def _text(s: str, limit: int = _MAX_TEXT) -> str:
    s = " ".join(str(s).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _cell(s: str) -> str:
    return s.replace("|", "\\|")


def _is_estimate(d) -> bool:
    return isinstance(d, dict) and {"value", "low", "high", "n"} <= set(d)


def _estimate(d: dict) -> str:
    n = d.get("n")
    if d.get("low") is None or d.get("high") is None:
        return f"{_num(d['value'])} (n={n}, no CI)"
    return f"{_num(d['value'])} [{_num(d['low'])}, {_num(d['high'])}] (n={n})"


def _is_scalar(x) -> bool:
    return x is None or isinstance(x, (bool, int, float, str))


def _inline_able(x) -> bool:
    """Whether ``x`` reads on one line: a scalar, an estimate, or a list of such (or of lists)."""
    if _is_scalar(x) or _is_estimate(x):
        return True
    return isinstance(x, list) and all(
        _is_scalar(v) or _is_estimate(v) or (isinstance(v, list) and all(map(_is_scalar, v)))
        for v in x)


def _inline(x) -> str:
    """A one-line rendering of any value, shortened."""
    if _is_estimate(x):
        return _estimate(x)
    if _is_scalar(x):
        return _num(x)
    if isinstance(x, (list, dict)) and not x:
        return "none"
    if isinstance(x, list):
        shown = ", ".join(_inline(v) for v in x[:_MAX_LIST])
        more = f", … ({len(x)} items)" if len(x) > _MAX_LIST else ""
        return _text(f"[{shown}{more}]")
    if isinstance(x, dict):
        return _text("{" + ", ".join(f"{k}: {_inline(v)}" for k, v in x.items()) + "}")
    return _text(repr(x))


def _markdown_table(head: list[str], body: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(_cell(h) for h in head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(_cell(c) for c in row) + " |" for row in body)]


def _table(rows: list[tuple[str, dict]], label: str | None) -> list[str]:
    """A Markdown table of records; ``label`` names the first column of row names (or None).

    A table of a few records with many fields is transposed (one row per field), so that no
    field has to be left out.
    """
    columns: list[str] = []
    for _, record in rows:
        columns += [k for k in record if k not in columns]
    if len(columns) > _MAX_COLS and len(rows) <= _MAX_COLS and label is not None:
        head = [label] + [name for name, _ in rows]
        body = [[c] + [_inline(r[c]) if c in r else "" for _, r in rows] for c in columns]
        return _markdown_table(head, body[:_MAX_ROWS]) + _more(len(body), "rows")
    head = ([label] if label is not None else []) + columns[:_MAX_COLS]
    body = [([name] if label is not None else []) + [_inline(r[c]) if c in r else ""
                                                    for c in columns[:_MAX_COLS]]
            for name, r in rows[:_MAX_ROWS]]
    return (_markdown_table(head, body) + _more(len(rows), "rows")
            + _more(len(columns), "columns", _MAX_COLS))


def _more(n: int, what: str, shown: int = _MAX_ROWS) -> list[str]:
    return [f"\n… {n - shown} more {what} (see the JSON record)"] if n > shown else []


def _tabular(x) -> list[tuple[str, dict]] | None:
    """Rows if ``x`` is a dict or list of records (dicts of one-line values), else None."""
    if isinstance(x, dict) and x:
        items = [(str(k), v) for k, v in x.items()]
    elif isinstance(x, list) and x:
        items = [(str(i), v) for i, v in enumerate(x)]
    else:
        return None
    for _, v in items:
        if not isinstance(v, dict) or not v or _is_estimate(v):
            return None
        if not all(_inline_able(w) for w in v.values()):
            return None
    return items


def _flat(x) -> bool:
    """A dict of one-line values that is not a record table: its entries become rows."""
    return isinstance(x, dict) and bool(x) and not _is_estimate(x) and all(
        _inline_able(v) for v in x.values())


def _evidence(x, path: tuple[str, ...] = ()) -> list[str]:
    """Tables rendering the evidence ``x`` (a dict) under the caption ``path`` of its keys.

    One table lists the one-line values (and the entries of flat sub-dicts, as ``key › entry``);
    a dict or list of records becomes a table with one row per record; anything deeper gets its
    own captioned tables, down to ``_MAX_DEPTH`` levels, below which values are shown inline.
    """
    pairs: list[tuple[str, object]] = []
    nested: list[tuple[str, object]] = []
    for key, value in list(x.items())[:_MAX_ITEMS]:
        if _inline_able(value) or not value:
            pairs.append((str(key), value))
        elif _flat(value) and len(value) <= _MAX_LIST:
            pairs += [(f"{key} › {k}", v) for k, v in value.items()]
        else:
            nested.append((str(key), value))
    lines = _caption(path) if path and pairs else []
    if pairs:
        lines += _markdown_table(["quantity", "value"], [[k, _inline(v)] for k, v in pairs])
        lines += _more(len(x), "entries", _MAX_ITEMS) + [""]
    for key, value in nested:
        lines += _nested(value, (*path, key))
    return lines


def _nested(x, path: tuple[str, ...]) -> list[str]:
    rows = _tabular(x)
    if rows is not None:
        return _caption(path) + _table(rows, "" if isinstance(x, dict) else None) + [""]
    if len(path) >= _MAX_DEPTH:
        return _caption(path) + [_inline(x), ""]
    if isinstance(x, dict):
        return _evidence(x, path)
    lines = []
    for i, value in enumerate(x[:_MAX_ITEMS]):
        item = (*path, f"[{i}]")
        lines += (_evidence(value, item) if isinstance(value, dict) and not _is_estimate(value)
                  else _caption(item) + [_inline(value), ""])
    return lines + _more(len(x), "items", _MAX_ITEMS)


def _caption(path: tuple[str, ...]) -> list[str]:
    return [f"*{' › '.join(path)}*", ""]


def _badge(verdict: str) -> str:
    """A verdict as a badge: a span with a class per verdict (styled by docs/stylesheets/)."""
    return f'<span class="verdict verdict-{verdict.replace(" ", "-")}">**{verdict}**</span>'


def _figure(link: str, name: str) -> list[str]:
    """A figure that links to its full-size image (the blank lines keep it Markdown on GitHub)."""
    return ['<figure class="report-figure" markdown>', "", f"[![{name}]({link})]({link})", "",
            "</figure>", ""]


def _anchor(cid: str) -> str:
    return cid.lower()


def _first_sentence(text: str) -> str:
    text = _text(text or "")
    cut = text.find(". ")
    return text if cut < 0 else text[: cut + 1]


# ---------------------------------------------------------------------------------------------
# sections


def _intro(run: dict) -> list[str]:
    when = run.get("started", "an unrecorded date")
    source = ("figures and verdicts redrawn from cached measurements (--figures-only)"
              if run.get("figures_only")
              else "measurements made or loaded from the cache in this run")
    quick = (["**quick: not evidence.** This --quick run measured small versions of every "
              "experiment, for tests and trials: what the rules gave below are not verdicts; "
              "rerun without --quick for evidence.", ""] if run.get("quick") else [])
    return quick + [f"Generated by `python -m reluthe.check_claims` on {when}, from {source}. "
            "Do not edit by hand: rerun the command, or rebuild from the JSON record with "
            "`reluthe.report.rebuild`. Each verdict follows a decision rule written before the "
            "data; estimates are shown as value [95 % CI] (n = seeds).", ""]


def _verdict_table(claims: list[dict]) -> list[str]:
    lines = ["| id | § | claim | verdict | key number |", "|---|---|---|---|---|"]
    for c in claims:
        cid = c["id"]
        lines.append(f"| [{cid}](#{_anchor(cid)}) | {_cell(c.get('section', ''))} | "
                     f"{_cell(_text(c.get('statement', ''), 90))} | {_badge(c['verdict'])}"
                     f"{_stability(c)} | {_cell(_text(c.get('key') or '—', 120))} |")
    counts: dict[str, int] = {}
    for c in claims:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    order = [v for v in _VERDICT_ORDER if v in counts] + sorted(set(counts) - set(_VERDICT_ORDER))
    summary = ", ".join(f"{counts[v]} {v}" for v in order)
    lines += ["", f"**{len(claims)} claims:** {summary or 'none'}."]
    return lines


def _stability(c: dict) -> str:
    """" (unstable: ...)" for a claim whose verdict differed between master seeds, else ""."""
    rep = c.get("replication")
    if not isinstance(rep, dict) or rep.get("stable", True):
        return ""
    return f" — {_cell(rep.get('label', 'unstable'))}"


def _replication(c: dict) -> list[str]:
    rep = c.get("replication")
    if not isinstance(rep, dict):
        return []
    pairs = ", ".join(f"seed {s}: {v}" for s, v in zip(rep.get("master_seeds", []),
                                                       rep.get("verdicts", [])))
    return [f"**Replication.** {rep.get('label', '?')} across master seeds ({pairs}).", ""]


def _provenance(run: dict) -> list[str]:
    env = run.get("environment") or {}
    quick = run.get("quick")
    protocol = ("quick (small versions, not evidence)" if quick else
                "full protocol with the full-size grids (--full)" if run.get("full") else
                "full protocol")
    lines = [f"- reluthe {run.get('reluthe_version', '?')}, code version "
             f"`{str(run.get('code_version', '?'))[:12]}`",
             f"- settings: seed {run.get('seed', '?')}, {protocol}, device "
             f"{run.get('device', env.get('device', '?'))}, jobs {run.get('jobs', '?')} "
             f"({run.get('backend', '?')} backend)"]
    if run.get("replicate", 1) > 1:
        unstable = run.get("unstable") or []
        lines.append(f"- replicated under master seeds {run.get('master_seeds')}: "
                     f"{len(unstable)} unstable verdict(s)"
                     f"{': ' + ', '.join(unstable) if unstable else ''}")
    if env:
        gpu = f" ({env['gpu']})" if env.get("gpu") else ""
        lines.append(f"- environment: Python {env.get('python', '?')}, torch "
                     f"{env.get('torch', '?')}, numpy {env.get('numpy', '?')}, "
                     f"{env.get('platform', '?')}{gpu}, {env.get('cpu_count', '?')} CPUs, "
                     f"{env.get('torch_threads', '?')} torch threads")
    started = run.get("started", "?")
    runtime = run.get("runtime_s")
    lines.append(f"- started {started}; run time {_secs(runtime)}")
    measured = [c for c in run.get("claims", []) if isinstance(c.get("measurement"), dict)]
    fresh = [c["id"] for c in measured if not c["measurement"].get("cached")]
    cached = [c for c in measured if c["measurement"].get("cached")]
    if measured:
        text = f"- measurements: {len(fresh)} made in this run, {len(cached)} loaded from the cache"
        if cached:
            dates = sorted(c["measurement"].get("measured_at") or "?" for c in cached)
            span = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
            text += f" (measured {span})"
        lines.append(text)
        stale = [c["id"] for c in measured if not c["measurement"].get("current_code", True)]
        if stale:
            lines.append(f"- measured with an older code version than this report's: "
                         f"{', '.join(stale)} (rerun without --figures-only to refresh)")
    return lines


def _claim_section(c: dict, href: str) -> list[str]:
    cid = c["id"]
    lines = [f'<a id="{_anchor(cid)}"></a>', "",
             f"### {cid} — {_text(c.get('statement', ''), 120)}", "",
             f"**Verdict:** {_badge(c['verdict'])}"
             + (f" — {_text(c['key'])}" if c.get("key") and c["key"] != "—" else ""), ""]
    if c.get("quote"):
        lines += [f"> {_text(c['quote'])} (§{c.get('section', '?')})", ""]
    if c.get("statement"):
        lines += [f"**Claim.** {c['statement']}", ""]
    if c.get("rule"):
        lines += [f"**Rule.** {c['rule']}", ""]
    elif c.get("needs"):
        lines += [f"**To be measured or derived.** {c['needs']}", ""]
    if c.get("error"):
        lines += [f"**Error.** `{_text(c['error'])}`", ""]
    if c.get("evidence"):
        lines += ["**Evidence.**", ""] + _evidence(c["evidence"])
    if c.get("explanation"):
        lines += [f"**Explanation.** {c['explanation']}", ""]
    lines += _replication(c)
    figures = c.get("figures") or []
    if figures:
        lines += ["**Figures.**", ""]
        for name in figures:
            link = posixpath.join(href, name) if href not in ("", ".") else name
            lines += _figure(link, name)
    m = c.get("measurement")
    if isinstance(m, dict):
        origin = (f"Loaded from the cache: measured {m.get('measured_at', '?')}"
                  if m.get("cached") else "Measured in this run")
        lines.append(f"<sub>{origin} in {_secs(m.get('measure_s'))}; this run spent "
                     f"{_secs(c.get('runtime_s'))} on the claim.</sub>")
    return lines


# ---------------------------------------------------------------------------------------------
# the article's three questions


def _claim_line(c: dict | None, cid: str) -> str:
    if c is None:
        return f"- **{cid}**: {_NOT_RUN} (not selected with --only)."
    line = f"- **[{cid}](#{_anchor(cid)})** {_text(c.get('statement', ''), 120)} — *{c['verdict']}*"
    if c.get("key") and c["key"] != "—":
        line += f": {_text(c['key'], 160)}"
    if c["verdict"] == "not implemented":
        return line + "."
    reason = _first_sentence(c.get("explanation", ""))
    return line + (f". {reason}" if reason else ".")


def _ids(rows: list[dict]) -> str:
    names = [r["id"] for r in rows]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _synthesis(cids: tuple[str, ...], by_id: dict[str, dict]) -> str:
    rows = [by_id[c] for c in cids if c in by_id]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["verdict"], []).append(r)
    absent = [c for c in cids if c not in by_id]
    decided = [r for r in rows if r["verdict"] not in ("not implemented", "error")]
    if not decided:
        return ("No claim behind this question has a verdict in this run, so the report cannot "
                "answer it yet" + (f" ({_ids(groups['not implemented'])} not implemented)"
                                   if groups.get("not implemented") else "") + ".")
    parts = [f"Of the {len(cids)} claims behind this question, {len(decided)} received a verdict "
             "in this run."]
    if groups.get("supported"):
        parts.append(f"The evidence supports the article on {_ids(groups['supported'])}.")
    if groups.get("partly supported"):
        parts.append(f"On {_ids(groups['partly supported'])} the article is right only under a "
                     "condition it does not state (see the explanation).")
    if groups.get("refuted"):
        parts.append(f"The evidence contradicts the article on {_ids(groups['refuted'])}.")
    if groups.get("inconclusive"):
        parts.append(f"On {_ids(groups['inconclusive'])} the measurements cannot separate the "
                     "outcomes at this size.")
    if groups.get("not testable"):
        parts.append(f"{_ids(groups['not testable'])} cannot be tested here.")
    if groups.get("error"):
        parts.append(f"The check of {_ids(groups['error'])} failed; fix it before reading an "
                     "answer.")
    missing = groups.get("not implemented", [])
    if missing or absent:
        gaps = [r["id"] for r in missing] + absent
        parts.append(f"The answer is incomplete: {', '.join(gaps)} "
                     f"{'has' if len(gaps) == 1 else 'have'} no verdict in this run.")
    if len(decided) == len(cids) and set(groups) == {"supported"}:
        parts.append("Taken together, this run supports the article's answer.")
    elif groups.get("refuted") or groups.get("partly supported"):
        parts.append("Taken together, the article's answer needs the corrections above.")
    return " ".join(parts)


def _tools(run: dict, by_id: dict[str, dict]) -> list[str]:
    verdicts = [c["verdict"] for c in by_id.values()]
    decided = [v for v in verdicts if v not in ("not implemented", "error")]
    lines = [f"reluthe {run.get('reluthe_version', '?')}, the toolkit that wrote this report, "
             f"gave {len(decided)} of the {len(verdicts)} claims in this run a verdict from a "
             "measurement or derivation, with the rule, the evidence and the figures above; the "
             "JSON record lets anyone rebuild or compare them. The libraries below are what it "
             "builds on; \"used\" means a check had imported it by the end of its measurement.",
             "", "| library | installed | used in this run | what it offers |", "|---|---|---|---|"]
    packages = (run.get("environment") or {}).get("packages") or {}
    used = set(run.get("tools_imported") or [])
    for name, label, offer in TOOLS:
        version = packages.get(name)
        if version is None and name not in used and name in ("ray", "dask"):
            continue  # optional cluster engines: list them only where present
        lines.append(f"| {label} | {version or 'no'} | {'yes' if name in used else 'no'} | "
                     f"{offer} |")
    return lines


def _questions(run: dict, claims: list[dict]) -> list[str]:
    by_id = {c["id"]: c for c in claims}
    out = ["## The article's three questions", "",
           "The article closes with three questions. The answers below are composed from the "
           "verdicts and key numbers of this run, so they change when the evidence does.", ""]
    for i, (english, chinese, cids, compose) in enumerate(QUESTIONS, start=1):
        out += [f"### {i}. {english}", "", f"> {chinese}", ""]
        if cids:
            out += [_claim_line(by_id.get(cid), cid) for cid in cids]
            answer = compose({c: by_id[c] for c in cids if c in by_id}) if compose else None
            out += ["", *([answer, ""] if answer else []), _synthesis(cids, by_id), ""]
        else:
            out += _tools(run, by_id) + [""]
    return out
