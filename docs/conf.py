"""Sphinx configuration of the mathsqrt site: ``make docs`` builds it into ``docs/_build/html``.

The build is strict (``-W --keep-going -n``: warnings are errors, every cross-reference must
resolve) and offline: MathJax is served from the site (``_ext/offline_mathjax.py``), the notebooks
are executed at build time in fast mode (``_ext/executed_notebooks.py``) and the figure gallery is
generated from :data:`mathsqrt.paper.figures.GENERATORS` (``_ext/figure_gallery.py``). References to
re-exported names (``mathsqrt.sqrtm``) link to where the object is documented
(``_ext/alias_references.py``), each module's numbered References are scoped to it
(``_ext/scoped_citations.py``), and ``|x|`` in a docstring reads as an absolute value
(``_ext/absolute_values.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))  # document this checkout, whatever is installed
os.environ.setdefault("MPLBACKEND", "Agg")
# Kernels started by myst-nb (the errata and comparison pages) import this checkout too.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)

import mathsqrt  # noqa: E402

# -- Project ---------------------------------------------------------------------------------------
project = "mathsqrt"
author = "The mathsqrt developers"
copyright = "2026, The mathsqrt developers"
release = mathsqrt.__version__
version = ".".join(release.split(".")[:2])

# -- Extensions ------------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_nb",
    "offline_mathjax",
    "executed_notebooks",
    "figure_gallery",
    "alias_references",
    "scoped_citations",
    "absolute_values",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "notebooks/.*"]
root_doc = "index"
# A module's References may list works that only its text (not a citation mark) mentions; Sphinx
# reports those as "not referenced". Duplicate labels are still errors: docutils reports them.
suppress_warnings = ["ref.citation"]
nitpicky = True
# Types of other libraries named in docstrings: this offline build has no intersphinx inventories.
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(torch|np|numpy|scipy|sympy|matplotlib|ipywidgets|fractions|typing|collections|dataclasses|functools)(\..*)?",
    ),
    (r"py:.*", r"(Tensor|ndarray|Fraction|Figure|Axes|callable|optional|array_like|array-like)"),
]

# -- autodoc / numpydoc ----------------------------------------------------------------------------
autodoc_typehints = "none"  # the numpydoc sections state types and shapes
autodoc_member_order = "bysource"
# Every name of a module's __all__ gets an entry, documented or not (a test checks it).
autodoc_default_options = {"members": True, "undoc-members": True}
autodoc_inherit_docstrings = False  # torch.autograd.Function's docstrings are torch's, not ours
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set = set()
# Citations are scoped by _ext/scoped_citations.py (per module, or per docstring that defines its
# own); numpydoc's per-docstring renaming is switched off with a pattern that matches nothing.
numpydoc_citation_re = "(?!)"

# -- MyST / myst-nb --------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
# The teaching notebooks are executed by _ext/executed_notebooks.py into notebooks/; myst-nb runs
# only the pages written as MyST notebooks (errata, comparison), which have no stored outputs.
nb_execution_mode = "auto"
nb_execution_excludepatterns = ["notebooks/*"]
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 300
nb_render_markdown_format = "myst"
nb_merge_streams = True
nb_ipywidgets_js: dict = {}  # no widget manager from a CDN; widgets are made static at build time

# -- HTML ------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"mathsqrt {release}"
html_static_path = ["_static"]
html_css_files = ["mathsqrt.css"]
html_last_updated_fmt = None
html_show_sourcelink = False
html_copy_source = False
# MathJax 3 from the site itself (offline_mathjax sets mathjax_path); myst adds its classes here.
mathjax3_config = {"tex": {"tags": "none"}}
