"""Resolve the Python cross-references that Sphinx cannot, where the target really exists.

When a ``:func:``/``:class:``/``:data:``/``:attr:`` reference does not match a documented name, this
extension imports the target and

1. links to the documented entry of the very same object under another name: each object is
   documented once, where it is defined (``mathsqrt.api.sqrtm``), but docstrings also name it the way
   users import it (``mathsqrt.sqrtm``, ``mathsqrt.paper.widgets.InteractivePlot``);
2. links an attribute to its documented class (``ScaledInfo.bound``: numpydoc lists attributes in the
   class's *Attributes* section, which creates no entry of its own);
3. links a public name that its module defines but does not export (not in ``__all__``, so not
   documented, e.g. ``mathsqrt.backward.DEFAULT_ITERS``) to the documentation of that module;
4. renders a reference to a *private* object (a name or module starting with ``_``, e.g.
   ``_matrix_power``) as code without a link: it exists, and is deliberately left out of the reference.

A target that does not exist at all stays unresolved, and the strict build (``-n -W``) reports it.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Dict, Optional

from sphinx.util.nodes import make_refnode

_MISSING = object()


def import_object(name: str):
    """The object at dotted ``name`` (a module, or attributes of one), or ``_MISSING``."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, _MISSING)
            if obj is _MISSING:
                return _MISSING
        return obj
    return _MISSING


def _is_identifiable(obj) -> bool:
    """Objects whose identity means something: modules, classes, functions (not ints or strings)."""
    return inspect.ismodule(obj) or inspect.isclass(obj) or callable(obj)


def documented_objects(env) -> Dict[int, str]:
    """``id(object) -> documented full name`` for every function, class and module of the py domain."""
    cache = getattr(env, "_mathsqrt_alias_cache", None)
    if cache is None:
        cache = {}
        for fullname in sorted(env.get_domain("py").objects, key=len):
            obj = import_object(fullname)
            if obj is not _MISSING and _is_identifiable(obj):
                cache.setdefault(id(obj), fullname)
        env._mathsqrt_alias_cache = cache
    return cache


_SOURCE = re.compile(r"docstring of ([\w.]+)")


def _candidates(node) -> list:
    """Full names the reference may mean: in its class, in its module, in the docstring's own module, as is."""
    target = node.get("reftarget", "").lstrip("~.")
    module, cls = node.get("py:module"), node.get("py:class")
    names = []
    if module and cls:
        names.append(f"{module}.{cls}.{target}")
    if module:
        names.append(f"{module}.{target}")
    # A docstring shown under another module (a re-export) names things of its own module.
    m = _SOURCE.search(str(node.source or ""))
    if m:
        owner = import_object(m.group(1))
        home = getattr(owner, "__module__", None) if owner is not _MISSING else None
        if home:
            names.append(f"{home}.{target}")
    names.append(target)
    return list(dict.fromkeys(n for n in names if n))


def _is_private(name: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in name.split("."))


def _attribute_owner(env, name: str) -> Optional[str]:
    """The documented class whose attribute ``name`` is (a real attribute or one in its Attributes section)."""
    owner, _, attr = name.rpartition(".")
    if not owner or not attr:
        return None
    cls = import_object(owner)
    if cls is _MISSING or not inspect.isclass(cls):
        return None
    documented = documented_objects(env).get(id(cls))
    if documented is None:
        return None
    fields = getattr(cls, "__dataclass_fields__", {})
    listed = re.search(rf"^\s*{re.escape(attr)}\s*:", inspect.getdoc(cls) or "", re.M)
    if hasattr(cls, attr) or attr in fields or listed:
        return documented
    return None


def resolve_alias(env, node) -> Optional[str]:
    """The documented full name of the object (or class of the attribute) that ``node`` refers to."""
    objects = env.get_domain("py").objects
    for name in _candidates(node):
        owner = _attribute_owner(env, name)
        if owner is not None and name not in objects:
            return owner
        obj = import_object(name)
        if obj is _MISSING:
            continue
        if _is_identifiable(obj):
            found = documented_objects(env).get(id(obj))
            if found:
                return found
        else:  # data: the same object documented under the same last name
            last = name.rsplit(".", 1)[-1]
            same = [full for full in objects if full.rsplit(".", 1)[-1] == last and import_object(full) is obj]
            if len(same) == 1:
                return same[0]
    return None


def module_of_unexported(env, node) -> Optional[str]:
    """The documented module that defines the public, unexported object ``node`` refers to."""
    modules = env.get_domain("py").modules
    for name in _candidates(node):
        home, _, attr = name.rpartition(".")
        if home not in modules or not attr or attr.startswith("_") or _is_private(home):
            continue
        obj = import_object(name)
        if obj is _MISSING or inspect.ismodule(obj):
            continue
        if (inspect.isroutine(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", None) != home:
            continue  # imported from elsewhere: not this module's to document
        return home
    return None


def private_target(node) -> Optional[str]:
    """The full name of the existing private object that ``node`` refers to, if that is what it is."""
    for name in _candidates(node):
        obj = import_object(name)
        if obj is _MISSING:
            continue
        home = getattr(obj, "__module__", None) if (inspect.isroutine(obj) or inspect.isclass(obj)) else None
        qualname = getattr(obj, "__qualname__", "")
        if _is_private(name) or (home and _is_private(f"{home}.{qualname}")):
            return name
    return None


def _missing_reference(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    fullname = resolve_alias(env, node)
    if fullname is not None:
        entry = domain.objects[fullname]
        return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, fullname)
    module = module_of_unexported(env, node)
    if module is not None:
        entry = domain.modules[module]
        return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, module)
    # A private helper: show the name as code, without a link (and without a warning).
    return contnode if private_target(node) else None


def _env_updated(app, env):
    env._mathsqrt_alias_cache = None  # the documented objects may have changed


def setup(app) -> dict:
    app.connect("missing-reference", _missing_reference)
    app.connect("env-updated", _env_updated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
