"""A griffe extension that makes reluthe's numpydoc docstrings render properly on the site.

Registered in ``mkdocs.yml`` (``mkdocstrings`` → ``handlers.python.options.extensions``). It
changes what mkdocstrings shows, never the source files:

* Sphinx roles (``:func:`x```, ``:class:`~a.b.C```, ``:mod:`.sub```, ...) become inline code
  that links to the object where the site documents it (an *optional* autoref: plain code, and no
  warning, where the site has no entry for it, e.g. ``networkx.Graph``);
* in a ``Functions``, ``Methods``, ``Classes`` or ``Modules`` section, double backticks around an
  entry (````count_on_line(net, start, end)````) are dropped, and the prose after the entries
  becomes a paragraph after the table (numpydoc sections have no end marker, and griffe would
  read each line of such a paragraph as one more entry);
* parameters documented together without a type (``tol, linear_tol, max_regions``) each get the
  type and default of their own signature parameter (griffe gives all of them the first one's).

Examples
--------
>>> import griffe
>>> mod = griffe.Module("m")
>>> link_roles("See :func:`~reluthe.regions.count_on_line` and :class:`!Foo`.", mod)
'See <autoref identifier="reluthe.regions.count_on_line" optional><code>count_on_line</code></autoref> and <code>Foo</code>.'
"""  # noqa: E501

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from functools import cached_property

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|mod|data|meth|attr|exc|obj|const):`(?P<body>[^`]+)`")
_TITLED = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$")  # :func:`title <target>`
_ENTRY = re.compile(r"^`{0,2}(?P<name>[A-Za-z_][\w.]*)(?:\(.*\))?`{0,2}$")  # a listing entry
_UNTYPED_GROUP = re.compile(r"^\*{0,2}\w+(?:, \*{0,2}\w+)+$")  # "a, b, c" without " : type"
_LISTINGS = ("functions", "methods", "classes", "modules")
_PARAMETERS = ("parameters", "other parameters")


class ReluTheDocstrings(griffe.Extension):
    """Rewrites the roles and repairs the parsed sections of every docstring of a package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:  # noqa: D102
        for obj in _objects(pkg):
            doc = obj.docstring
            if doc is not None:
                obj.docstring = RepairedDocstring(
                    link_roles(doc.value, obj), lineno=doc.lineno, endlineno=doc.endlineno,
                    parent=obj, parser=doc.parser, parser_options=doc.parser_options)


class RepairedDocstring(griffe.Docstring):
    """A docstring whose sections, parsed when mkdocstrings first renders them (so that griffe
    warns about the docstrings the site shows, and only those), are repaired."""

    @cached_property
    def parsed(self) -> list:  # noqa: D102
        return repair_sections(self.parse(), self.lines, self.parent)


def _objects(obj: griffe.Object) -> Iterator[griffe.Object]:
    """``obj`` and every object defined inside it (aliases are visited where they are defined)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)


# ---------------------------------------------------------------------------------------------
# roles


def link_roles(text: str, obj: griffe.Object) -> str:
    """``text`` with every Sphinx role replaced by (optionally linked) inline code.

    Names are resolved in the scope of ``obj`` as Python would (``count_on_line`` in a module
    that imports it becomes ``reluthe.regions._line.count_on_line``); ``~`` shows only the last
    component, ``!`` suppresses the link. Lines of doctests and fenced code are left alone.
    """
    out, fenced = [], False
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("```"):
            fenced = not fenced
        if not (fenced or stripped.startswith((">>>", "... "))):
            line = ROLE.sub(lambda m: _role_html(m["body"], obj), line)  # noqa: PLW2901
        out.append(line)
    return "\n".join(out)


def _role_html(body: str, obj: griffe.Object) -> str:
    titled = _TITLED.match(body)
    title, target = (titled["title"], titled["target"]) if titled else (None, body)
    bare = target.lstrip("~!")
    shown = title or (bare.rsplit(".", 1)[-1] if target.startswith("~") else bare.lstrip("."))
    code = f"<code>{html.escape(shown)}</code>"
    if target.startswith("!"):
        return code
    identifier = html.escape(_resolve(bare, obj), quote=True)
    return f'<autoref identifier="{identifier}" optional>{code}</autoref>'


def _resolve(target: str, obj: griffe.Object) -> str:
    """The full path of ``target`` as seen from ``obj``; ``target`` itself if not in scope."""
    name = target.lstrip(".")
    head, dot, rest = name.partition(".")
    try:
        return obj.resolve(head) + dot + rest
    except (griffe.NameResolutionError, griffe.AliasResolutionError):
        pass
    if target.startswith("."):  # Sphinx: relative to the current module
        return f"{obj.module.path}.{name}"
    return name


# ---------------------------------------------------------------------------------------------
# sections


def repair_sections(sections: list, lines: list[str], obj: griffe.Object) -> list:
    """``sections`` (griffe's parse of ``lines``) with listings and grouped parameters repaired.

    Parameters
    ----------
    sections : list of griffe.DocstringSection
        The parsed docstring; changed in place and returned.
    lines : list of str
        The docstring's lines, as parsed.
    obj : griffe.Object
        The documented object (its signature gives grouped parameters their own types).
    """
    listings = iter(_listing_extents(lines))
    untyped = _untyped_grouped_parameters(lines)
    out = []
    for section in sections:
        out.append(section)
        kind = section.kind.value
        if kind in ("functions", "classes", "modules"):
            n_entries, prose = next(listings, (len(section.value), ""))
            section.value = section.value[:n_entries]
            for entry in section.value:
                entry.name = entry.name.strip("`")
                if isinstance(entry.annotation, str):
                    entry.annotation = entry.annotation.strip("`")
            if prose:
                out.append(griffe.DocstringSectionText(prose))
        elif kind in ("parameters", "other parameters"):
            _own_signature_types(section.value, untyped, obj)
    return out


def _headers(lines: list[str]) -> list[tuple[int, str]]:
    """(index, lower-case title) of every numpydoc section header (a title over dashes)."""
    return [(i, lines[i].strip().lower()) for i in range(len(lines) - 1)
            if lines[i].strip() and set(lines[i + 1].strip()) == {"-"}]


def _section_bodies(lines: list[str], titles: tuple[str, ...]) -> Iterator[list[str]]:
    headers = _headers(lines)
    for k, (i, title) in enumerate(headers):
        if title in titles:
            end = headers[k + 1][0] if k + 1 < len(headers) else len(lines)
            yield lines[i + 2:end]


def _listing_extents(lines: list[str]) -> list[tuple[int, str]]:
    """For each listing section: how many entries it has and the prose that follows them."""
    extents = []
    for body in _section_bodies(lines, _LISTINGS):
        n_entries, prose = 0, ""
        for j, line in enumerate(body):
            if not line.strip() or line.startswith(" "):
                continue
            if not _ENTRY.match(line.strip()):
                prose = "\n".join(body[j:]).strip()
                break
            n_entries += 1
        extents.append((n_entries, prose))
    return extents


def _untyped_grouped_parameters(lines: list[str]) -> set[str]:
    names: set[str] = set()
    for body in _section_bodies(lines, _PARAMETERS):
        for line in body:
            if not line.startswith(" ") and _UNTYPED_GROUP.match(line.strip()):
                names.update(n.lstrip("*") for n in line.strip().split(", "))
    return names


def _own_signature_types(params: list, untyped: set[str], obj: griffe.Object) -> None:
    try:
        signature = obj.parameters
    except AttributeError:  # a module or attribute: no signature
        return
    for param in params:
        name = param.name.lstrip("*")
        if name in untyped and name in signature:
            param.annotation = signature[name].annotation
            param.value = signature[name].default
