"""Numbered references (``[1]_``) scoped to the module whose docstring defines them.

The package's docstrings follow one convention: a module docstring lists its References
(``.. [1] Y. Song, N. Sebe, W. Wang, ...``) and the docstrings of its functions, classes and
constants cite them (``Eq. (11) in [1]_``), sometimes adding References of their own. Sphinx's
citations are global, so ``[1]`` of :mod:`mathsqrt.coefficients` and ``[1]`` of :mod:`mathsqrt.scaled`
would collide, and numpydoc's own renaming (per docstring) would cut a function's ``[1]_`` off
from its module's list. This extension gives every label a scope instead:

- a label defined in the docstring itself belongs to that object;
- any other label belongs to the module that defines the object (where its References are).

Labels are rewritten to numpydoc's mangled form (``R`` + 12 hex digits of the scope's hash + ``-1``),
so that numpydoc's ``relabel_references`` and :func:`_relabel` show them as ``[1]`` again, on every
page (the API index cites definitions of other pages too). numpydoc's renaming is switched off by
``numpydoc_citation_re`` in ``conf.py``.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import sys
from typing import List

from docutils import nodes
from sphinx.addnodes import pending_xref

HASH_LEN = 12  # numpydoc's
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9]|[._:+-](?=[A-Za-z0-9]))*"
_DEFINITION = re.compile(rf"^(\s*\.\.\s+\[)({_LABEL})(\])")
_REFERENCE = re.compile(rf"\[({_LABEL})\]_")
_MANGLED = re.compile(rf"^R[0-9a-f]{{{HASH_LEN}}}-(.+)$")


def mangle(scope: str, label: str) -> str:
    """numpydoc's form of ``label`` in ``scope``: ``R<12 hex digits>-label``."""
    return "R" + hashlib.sha256(scope.encode("utf8")).hexdigest()[:HASH_LEN] + "-" + label


def defining_module(what: str, name: str, obj) -> str:
    """The module whose docstring holds the References that ``name``'s docstring may cite."""
    if what == "module":
        return name
    module = getattr(obj, "__module__", None) if (inspect.isroutine(obj) or inspect.isclass(obj)) else None
    if isinstance(module, str) and module in sys.modules:
        return module
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:cut]) in sys.modules:
            return ".".join(parts[:cut])
    return name


def scope_lines(lines: List[str], name: str, module: str) -> None:
    """Rewrite the labels of ``lines`` (in place) to their scoped, mangled form."""
    own = {m.group(2) for m in map(_DEFINITION.match, lines) if m}

    def scoped(label: str) -> str:
        if _MANGLED.match(label):
            return label
        return mangle(name if label in own else module, label)

    for i, line in enumerate(lines):
        line = _DEFINITION.sub(lambda m: m.group(1) + scoped(m.group(2)) + m.group(3), line)
        lines[i] = _REFERENCE.sub(lambda m: f"[{scoped(m.group(1))}]_", line)


def _process_docstring(app, what, name, obj, options, lines) -> None:
    scope_lines(lines, name, defining_module(what, name, obj))


def _relabel(app, doctree) -> None:
    """Show ``[1]`` for every mangled citation and reference numpydoc left alone."""
    for citation in doctree.findall(nodes.citation):
        label = citation[0] if len(citation) and isinstance(citation[0], nodes.label) else None
        if label is not None:
            m = _MANGLED.match(label.astext())
            if m:
                label.replace(label[0], nodes.Text(m.group(1)))
    for xref in doctree.findall(pending_xref):
        if xref.get("refdomain") == "citation" and len(xref):
            m = _MANGLED.match(xref.astext().strip("[]"))
            if m:
                xref.replace(xref[0], nodes.inline("", f"[{m.group(1)}]"))


def setup(app) -> dict:
    # Before numpydoc (priority 500), which must see the final labels.
    app.connect("autodoc-process-docstring", _process_docstring, priority=400)
    # After numpydoc's relabel_references (priority 500).
    app.connect("doctree-read", _relabel, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
