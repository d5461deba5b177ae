"""Every public function and class of the core modules has a complete numpydoc docstring.

As in scipy.linalg, each public name carries its own ``References`` section (so that ``help()`` and
the rendered page of one function say where its formula comes from), and every citation ``[N]_`` in
a docstring has its target ``.. [N]`` in the same docstring (otherwise Sphinx fails to resolve it).
"""

import importlib
import inspect
import re

import pytest

import mathsqrt

CORE_MODULES = (
    "coefficients",
    "forward",
    "backward",
    "baselines",
    "adjoint",
    "scaled",
    "nn",
    "transfer",
    "counting",
    "testing",
    "methods",
    "api",
)


def _public(module_name):
    module = importlib.import_module(f"mathsqrt.{module_name}")
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield pytest.param(obj, id=f"{module_name}.{name}")


PUBLIC = [p for m in CORE_MODULES for p in _public(m)]


def _has_section(doc, title):
    return re.search(rf"^{title}\n-{{{len(title)}}}\s*$", doc, re.MULTILINE) is not None


def _takes_parameters(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return False
    names = [p for p in signature.parameters.values() if p.name not in ("self", "cls")]
    return bool(names) and not (inspect.isclass(obj) and target is object.__init__)


def _returns(func):
    if inspect.isgeneratorfunction(func):
        return True
    annotation = inspect.signature(func).return_annotation
    if annotation in (None, "None"):
        return False
    if annotation is not inspect.Signature.empty:
        return True
    source = inspect.getsource(func)
    return re.search(r"^\s+(return|yield)\s+\S", source, re.MULTILINE) is not None


def test_public_names_found():
    assert len(PUBLIC) > 50


@pytest.mark.parametrize("obj", PUBLIC)
def test_numpydoc_sections(obj):
    doc = inspect.getdoc(obj)
    assert doc, "no docstring"
    missing = []
    if _takes_parameters(obj):
        # numpydoc documents a dataclass's fields under Attributes; either section is accepted.
        wanted = ("Parameters", "Attributes") if inspect.isclass(obj) else ("Parameters",)
        if not any(_has_section(doc, t) for t in wanted):
            missing.append("Parameters")
    if inspect.isfunction(obj) and _returns(obj):
        if not (_has_section(doc, "Returns") or _has_section(doc, "Yields")):
            missing.append("Returns")
    if not _has_section(doc, "References"):
        missing.append("References")
    assert not missing, f"missing numpydoc sections: {missing}"


@pytest.mark.parametrize("obj", PUBLIC)
def test_citations_resolve(obj):
    doc = inspect.getdoc(obj) or ""
    cited = set(re.findall(r"\[(\d+)\]_", doc))
    targets = re.findall(r"^\.\. \[(\d+)\]", doc, re.MULTILINE)
    assert len(targets) == len(set(targets)), f"duplicate reference labels {targets}"
    assert cited <= set(targets), f"citations without a target: {sorted(cited - set(targets))}"
    assert set(targets) <= cited, f"references never cited: {sorted(set(targets) - cited)}"


@pytest.mark.parametrize("name", ["sqrtm", "invsqrtm"])
def test_api_docstrings_literal(name):
    """The docstrings of the two entry points are literal, so IDEs and ``help()`` show them."""
    import ast

    source = inspect.getsource(getattr(mathsqrt.api, name))
    node = ast.parse(source).body[0]
    assert ast.get_docstring(node), f"{name}'s docstring is not a literal"
    assert getattr(mathsqrt, name).__doc__ == getattr(mathsqrt.api, name).__doc__
    assert "References" in mathsqrt.sqrtm.__doc__
