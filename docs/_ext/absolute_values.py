"""``|x|`` in a docstring's prose is an absolute value, not a reStructuredText substitution.

Docstrings read well as plain text (``help()``, an editor's tooltip) when they write
"the |relative error| per eigenvalue"; in reStructuredText that is a substitution reference, and the
package defines no substitutions, so Sphinx would stop on "Undefined substitution referenced". This
extension escapes such pipes (``\\|relative error\\|``) before the docstring is parsed. Text inside
backquotes (``literals``, :math:`roles`, `links`_) is left alone, and so are line blocks and table rows,
where the pipe is followed by a space.
"""

from __future__ import annotations

import re
from typing import List

_BACKQUOTED = re.compile(r"(`+)(?:(?!\1).)+?\1_?")
_ABSOLUTE = re.compile(r"(?<![\\\w|])\|(?=[^\s|])([^|`]*?[^\s|\\])\|(?![\w|])")


def escape_line(line: str) -> str:
    """``line`` with every ``|text|`` outside backquotes escaped as ``\\|text\\|``."""
    out, last = [], 0
    for m in _BACKQUOTED.finditer(line):
        out.append(_ABSOLUTE.sub(r"\\|\1\\|", line[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_ABSOLUTE.sub(r"\\|\1\\|", line[last:]))
    return "".join(out)


def escape_lines(lines: List[str]) -> None:
    """Escape every line in place; literal blocks (after ``::``) and doctest lines are left alone."""
    literal_indent = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if stripped and indent <= literal_indent:
                literal_indent = None
            else:
                continue
        if not stripped.startswith((">>>", "...")):
            lines[i] = escape_line(line)
        if stripped.endswith("::"):
            literal_indent = indent


def _process_docstring(app, what, name, obj, options, lines) -> None:
    escape_lines(lines)


def setup(app) -> dict:
    app.connect("autodoc-process-docstring", _process_docstring, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
