"""Check the built documentation site in a real browser: headless chromium (``make docs-check``).

Usage::

    python docs/check_site.py SITE_DIR [--chromium PATH] [--screenshots DIR]

The site is served on 127.0.0.1 (a free port). One harness page holds every page of the site in
an iframe 1600 px wide, so that the browser loads them all, with their scripts, styles and
images, before its ``load`` event; the harness then reads each page's rendered DOM and writes
what it found as JSON into its own DOM, which ``chromium --dump-dom`` prints. This script checks
that JSON; ``--screenshots DIR`` also saves ``report.png`` (the top of the report page) and
``report-figure.png`` (claim C02 with its figure) to look at.

Checked on every page:

* no Sphinx role (``:func:``, ``:class:``, ``:mod:``, ...) in the text outside code blocks;
* no unrendered Markdown table (a paragraph or list item of ``| a | b |`` lines);
* docstring tables (Parameters, Attributes, Functions, Classes, Modules) name an identifier in
  their first column (prose read as entries gives a broken table);
* every image loaded (``complete`` and ``naturalWidth > 0``), and nothing was loaded from
  another origin (the site works offline).

On the report page: a coloured badge (``span.verdict``, a background colour set by the site's
CSS) for the verdict in each verdict-table row and each claim section; evidence as tables, with
no bullet list between a claim's "Evidence." and its explanation; every figure shown at 0.6 or
more of its natural width at this window width (legible), or at its full size.

On each gallery page that lists an example: the example's printed output (a non-empty code block
in ``div.gallery-output``), and a figure there when the example's source calls ``savefig``.

Exit status: 0 all checks pass, 1 a check failed (each failure is printed), 2 usage error (no
site, no chromium).

Examples
--------
>>> problems_of({"url": "api/x/", "roles": [":func:foo"], "raw_tables": [], "bad_entries": [],
...              "broken_images": [], "external": []})
['api/x/: Sphinx role in the text: :func:foo']
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HARNESS = "/__check__.html"  # served from memory, beside the site's files
SHOT = "/__shot__.html"  # one page in an iframe, to screenshot (?page=URL&height=PX)
FRAME_WIDTH, FRAME_HEIGHT = 1600, 1000
MIN_FIGURE_SCALE = 0.6  # shown width / natural width below which a report figure is illegible
TIMEOUT_S = 300
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars"]

# Runs in the harness after every iframe (page) has loaded; collects facts, judges nothing.
PROBE_JS = r"""
const ROLE = /:(func|class|mod|data|meth|attr|exc|obj|const):/;
const IDENT = /^\*{0,2}[A-Za-z_][\w.]*(, \*{0,2}[A-Za-z_][\w.]*)*$/;  // names, maybe grouped
const NAMED = ["parameters", "other parameters", "attributes", "functions", "methods",
               "classes", "modules"];
function textOutsideCode(root) {  // without code blocks, and inline code that quotes a role
  const copy = root.cloneNode(true);
  copy.querySelectorAll("pre, script, style").forEach(e => e.remove());
  copy.querySelectorAll("code").forEach(e => { if (ROLE.test(e.textContent)) e.remove(); });
  return copy.textContent;
}
function probe(frame) {
  const doc = frame.contentDocument, win = frame.contentWindow;
  const main = doc.querySelector("article.md-content__inner") || doc.body;
  const text = textOutsideCode(main);
  const out = {url: frame.dataset.page, roles: [], raw_tables: [], bad_entries: [],
               broken_images: [], external: []};
  for (const m of text.matchAll(new RegExp(ROLE.source + "\\S{0,40}", "g"))) out.roles.push(m[0]);
  main.querySelectorAll("p, li").forEach(e => {
    const rows = textOutsideCode(e).split("\n").filter(l => /^\s*\|.*\|\s*$/.test(l));
    if (rows.length) out.raw_tables.push(rows[0].trim().slice(0, 80));
  });
  main.querySelectorAll("span.doc-section-title").forEach(span => {
    const title = span.textContent.replace(":", "").trim().toLowerCase();
    const next = span.closest("p") && span.closest("p").nextElementSibling;
    const table = next && (next.matches("table") ? next : next.querySelector("table"));
    if (!NAMED.includes(title) || !table) return;
    table.querySelectorAll("tr.doc-section-item > td:first-child").forEach(td => {
      const name = td.textContent.trim();
      if (!IDENT.test(name)) out.bad_entries.push(title + ": " + name.slice(0, 80));
    });
  });
  for (const img of doc.images)
    if (!img.complete || img.naturalWidth === 0) out.broken_images.push(img.getAttribute("src"));
  for (const r of win.performance.getEntriesByType("resource"))
    if (new URL(r.name).origin !== win.location.origin) out.external.push(r.name);
  if (out.url === "report/") out.report = probeReport(doc, main, win);
  if (out.url.startsWith("gallery/")) out.gallery = probeGallery(main);
  return out;
}
function badge(e, win) {
  return {cls: e.className, text: e.textContent.trim(),
          background: win.getComputedStyle(e).backgroundColor};
}
function probeReport(doc, main, win) {
  const rows = [...main.querySelectorAll("table tr")].filter(
      tr => tr.querySelector('td:first-child a[href^="#c"]'));
  const sections = [...main.querySelectorAll("p")].filter(
      p => p.textContent.startsWith("Verdict:"));
  const evidence = [...main.querySelectorAll("p")].filter(p => p.textContent === "Evidence.");
  return {
    rows: rows.map(tr => [...tr.querySelectorAll("span.verdict")].map(e => badge(e, win))),
    sections: sections.map(p => [...p.querySelectorAll("span.verdict")].map(e => badge(e, win))),
    evidence: evidence.map(p => {
      let tables = 0, lists = 0;
      const end = e => /^H\d$/.test(e.tagName)
          || /^(Explanation|Replication|Figures)\./.test(e.textContent);
      for (let e = p.nextElementSibling; e && !end(e); e = e.nextElementSibling) {
        tables += e.matches("table") ? 1 : e.querySelectorAll("table").length;
        lists += e.matches("ul, ol") ? 1 : 0;
      }
      return {tables, lists};
    }),
    figures: [...main.querySelectorAll("figure.report-figure img")].map(img => ({
      src: img.getAttribute("src"), natural: img.naturalWidth,
      shown: img.getBoundingClientRect().width})),
  };
}
function probeGallery(main) {
  const listing = main.querySelector(".highlight .filename");
  const output = main.querySelector(".gallery-output");
  return {
    example: listing ? listing.textContent.trim() : null,
    draws: [...main.querySelectorAll(".highlight pre")].some(p => /savefig/.test(p.textContent)),
    output: output && output.querySelector("pre") ? output.querySelector("pre").textContent : "",
    figures: output ? output.querySelectorAll("img").length : 0,
  };
}
window.addEventListener("load", () => {
  const results = [...document.querySelectorAll("iframe")].map(probe);
  const pre = document.createElement("pre");
  pre.id = "results";
  pre.textContent = JSON.stringify(results);
  document.body.appendChild(pre);
});
"""


def pages(site: Path) -> list[str]:
    """Site-relative URLs of the site's pages (folders holding an ``index.html``)."""
    found = []
    for index in sorted(site.rglob("index.html")):
        rel = index.parent.relative_to(site).as_posix()
        found.append("" if rel == "." else rel + "/")
    return found


def harness(urls: list[str]) -> str:
    """The harness page: every page in an iframe, and the probe."""
    frames = "\n".join(f'<iframe data-page="{html.escape(u)}" src="/{html.escape(u)}" '
                       f'style="width:{FRAME_WIDTH}px;height:{FRAME_HEIGHT}px"></iframe>'
                       for u in urls)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>site check</title>"
            f"<script>{PROBE_JS}</script></head><body>{frames}</body></html>")


def shot_page(url: str, height: int) -> str:
    """A page showing ``url`` in an iframe (headless chromium screenshots a scrolled page blank,
    but paints an iframe scrolled to an anchor)."""
    return (f"<!doctype html><html><body style='margin:0'><iframe src='{html.escape(url)}' "
            f"style='width:{FRAME_WIDTH}px;height:{height}px;border:0'></iframe></body></html>")


def serve(site: Path, page: str) -> ThreadingHTTPServer:
    """Serve ``site`` on a free localhost port (in a thread), with ``page`` at ``HARNESS``."""
    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            path, _, query = self.path.partition("?")
            if path == HARNESS:
                body = page.encode()
            elif path == SHOT:
                args = urllib.parse.parse_qs(query)
                body = shot_page(args["page"][0], int(args["height"][0])).encode()
            else:
                return super().do_GET()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def chromium(binary: str, *args: str) -> subprocess.CompletedProcess:
    """Run headless chromium with a fresh profile."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=TIMEOUT_S)


def browse(binary: str, base: str, urls: list[str]) -> list[dict]:
    """What the probe found on each page, read from the harness's dumped DOM."""
    proc = chromium(binary, f"--window-size={FRAME_WIDTH + 100},{FRAME_HEIGHT}", "--dump-dom",
                    base + HARNESS)
    found = re.search(r'<pre id="results">(.*?)</pre>', proc.stdout, flags=re.S)
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"chromium did not return the probe's results (status "
                           f"{proc.returncode}):\n{proc.stderr[-2000:]}")
    return json.loads(html.unescape(found.group(1)))


def problems_of(page: dict) -> list[str]:
    """Every failed check of one page, as a line naming the page."""
    url = page["url"] or "(home)"
    out = [f"{url}: Sphinx role in the text: {r}" for r in page["roles"]]
    out += [f"{url}: Markdown table not rendered: {r}" for r in page["raw_tables"]]
    out += [f"{url}: docstring table entry is not a name: {r}" for r in page["bad_entries"]]
    out += [f"{url}: image did not load: {s}" for s in page["broken_images"]]
    out += [f"{url}: loaded from outside the site: {s}" for s in page["external"]]
    if "report" in page:
        out += [f"{url}: {p}" for p in _report_problems(page["report"])]
    if "gallery" in page:
        out += [f"{url}: {p}" for p in _gallery_problems(page["gallery"])]
    return out


def _badge_problems(where: str, badges: list[dict]) -> list[str]:
    if len(badges) != 1:
        return [f"{where}: {len(badges)} verdict badges, expected 1"]
    b = badges[0]
    slug = "verdict-" + b["text"].replace(" ", "-")
    out = [] if slug in b["cls"].split() else [f"{where}: badge {b['text']!r} has class "
                                               f"{b['cls']!r}, expected {slug}"]
    if b["background"] in ("", "transparent", "rgba(0, 0, 0, 0)"):
        out.append(f"{where}: badge {b['text']!r} has no background colour (CSS not loaded?)")
    return out


def _report_problems(rep: dict) -> list[str]:
    out = [] if rep["rows"] else ["no verdict table rows found"]
    for i, badges in enumerate(rep["rows"]):
        out += _badge_problems(f"verdict table row {i + 1}", badges)
    if len(rep["sections"]) != len(rep["rows"]):
        out.append(f"{len(rep['sections'])} 'Verdict:' lines for {len(rep['rows'])} claims")
    for i, badges in enumerate(rep["sections"]):
        out += _badge_problems(f"claim section {i + 1}", badges)
    for i, ev in enumerate(rep["evidence"]):
        if ev["tables"] == 0 or ev["lists"]:
            out.append(f"evidence {i + 1}: {ev['tables']} tables and {ev['lists']} lists "
                       "(expected tables only)")
    for fig in rep["figures"]:
        scale = fig["shown"] / fig["natural"] if fig["natural"] else 0.0
        if scale < MIN_FIGURE_SCALE:
            out.append(f"figure {fig['src']} shown at {scale:.2f} of its width "
                       f"({fig['shown']:.0f} of {fig['natural']} px), below {MIN_FIGURE_SCALE}")
    return out


def _gallery_problems(gal: dict) -> list[str]:
    if gal["example"] is None:
        return []  # the gallery's index: no example on it
    out = [] if gal["output"].strip() else [f"no printed output of {gal['example']}"]
    if gal["draws"] and gal["figures"] == 0:
        out.append(f"{gal['example']} saves a figure, but the page shows none")
    return out


def screenshots(binary: str, base: str, folder: Path) -> list[Path]:
    """Save the top of the report page and claim C02 down to its figure as PNGs in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    for name, url, height in (("report.png", "/report/", FRAME_HEIGHT),
                              ("report-figure.png", "/report/#c02", 3 * FRAME_HEIGHT)):
        path = folder / name
        query = urllib.parse.urlencode({"page": url, "height": height})
        chromium(binary, f"--window-size={FRAME_WIDTH},{height}", f"--screenshot={path}",
                 f"{base}{SHOT}?{query}")
        if not path.is_file():
            raise RuntimeError(f"chromium wrote no screenshot of {url}")
        shots.append(path)
    return shots


def main(argv: list[str] | None = None) -> int:
    """Check the site; print one line per failure and a summary. Returns the exit status."""
    parser = argparse.ArgumentParser(prog="check_site.py", description=__doc__.split("\n")[0])
    parser.add_argument("site", type=Path, help="the built site (mkdocs build --site-dir)")
    parser.add_argument("--chromium", default="chromium", help="the browser (default chromium)")
    parser.add_argument("--screenshots", type=Path, default=None, metavar="DIR",
                        help="also save screenshots of the report page in DIR")
    args = parser.parse_args(argv)
    binary = shutil.which(args.chromium)
    if not (args.site / "index.html").is_file():
        print(f"check_site.py: no built site in {args.site} (no index.html)", file=sys.stderr)
        return 2
    if binary is None:
        print(f"check_site.py: {args.chromium} not found: install Debian's chromium "
              "(apt-get install -y chromium) or pass --chromium PATH", file=sys.stderr)
        return 2
    urls = pages(args.site)
    server = serve(args.site, harness(urls))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        results = browse(binary, base, urls)
        shots = screenshots(binary, base, args.screenshots) if args.screenshots else []
    finally:
        server.shutdown()
    problems = [p for page in results for p in problems_of(page)]
    for line in problems:
        print(line)
    report = next((p["report"] for p in results if "report" in p), None)
    gallery = [p for p in results if p.get("gallery", {}).get("example")]
    print(f"checked {len(results)} pages in chromium: "
          f"{sum(len(p['roles']) for p in results)} raw roles, "
          f"{sum(len(p['broken_images']) for p in results)} broken images, "
          f"{len(report['rows']) if report else 0} verdict badges in the table, "
          f"{len(report['figures']) if report else 0} report figures, "
          f"{sum(bool(p['gallery']['output'].strip()) for p in gallery)}/{len(gallery)} "
          f"gallery pages with output; {len(problems)} problems"
          + "".join(f"\nscreenshot: {s}" for s in shots))
    if report is None:
        print("no report page (report/) in the site")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
