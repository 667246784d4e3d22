"""An mkdocs hook that gives the report page (``docs/report.md``) the width of the window.

The report's figures are multi-panel plots drawn at 110 dpi, up to 2200 pixels wide; in the
theme's text column they shrink until their labels cannot be read. On the report page this hook
hides both sidebars (the verdict table at the top links every claim, and each claim heading has
a permalink), and ``docs/stylesheets/extra.css`` lets the main column use the whole window when
it holds report figures, keeping paragraphs to a readable line length.
"""

from __future__ import annotations

REPORT = "report.md"
HIDDEN = ("navigation", "toc")  # material's per-page `hide` setting


def on_page_markdown(markdown, page, **kwargs):
    """Hide the sidebars of the report page."""
    if page.file.src_uri == REPORT:
        hidden = page.meta.setdefault("hide", [])
        hidden += [item for item in HIDDEN if item not in hidden]
    return markdown
