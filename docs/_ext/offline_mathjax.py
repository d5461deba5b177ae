"""Serve MathJax from the built site itself, never from a CDN.

MathJax 3 comes from the PyPI distribution ``sphinx-mathjax-offline`` (in the ``docs`` extra of
``pyproject.toml``, so ``make docs`` installs it on a fresh machine). Only its static files are used:
their folder is added to ``html_static_path`` (copied to ``_static/mathjax/``) and ``mathjax_path``
points at the local ``tex-chtml.js``. The page therefore renders its equations offline, from a
``file://`` URL or any static web server.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError

DISTRIBUTION = "sphinx-mathjax-offline"
#: Where the distribution keeps MathJax, relative to its install location.
MATHJAX_FOLDER = "sphinx-mathjax-offline/static/mathjax"
#: The MathJax component loaded by every page with maths: TeX input, CommonHTML output.
COMPONENT = "tex-chtml.js"


def mathjax_folder() -> Path:
    """The installed folder that holds ``mathjax/tex-chtml.js`` and its fonts and extensions."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ConfigError(
            f"the documentation needs MathJax from the {DISTRIBUTION!r} package: "
            "install the docs extra (`pip install -e '.[docs]'`, or `make docs`)"
        ) from None
    folder = Path(dist.locate_file(MATHJAX_FOLDER))
    if not (folder / COMPONENT).is_file():
        raise ConfigError(f"{DISTRIBUTION} is installed but {folder / COMPONENT} is missing")
    return folder


def _configure(app: Sphinx, config: Config) -> None:
    folder = mathjax_folder()
    # html_static_path copies the *contents* of each entry into _static/: pass the parent, whose
    # only child we need is mathjax/ (the parent holds nothing else).
    config.html_static_path = [*config.html_static_path, str(folder.parent)]
    config.mathjax_path = f"mathjax/{COMPONENT}"


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("config-inited", _configure)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
