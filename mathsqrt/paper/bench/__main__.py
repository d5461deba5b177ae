"""``python -m mathsqrt.paper.bench``: see :mod:`mathsqrt.paper.bench.cli`."""

from .cli import main

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
