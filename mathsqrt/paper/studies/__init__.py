"""Numerical studies of the paper's claims, each a module with compute functions, a table and ``main()``.

- ``python -m mathsqrt.paper.studies.accuracy`` — forward and gradient error against scipy, per method
  and condition number;
- ``python -m mathsqrt.paper.studies.degenerate`` — gradients near repeated eigenvalues (SVD baselines);
- ``python -m mathsqrt.paper.studies.whitening`` — a small network with a ZCA whitening layer trained on
  scikit-learn's digits once per method and control (no whitening, BatchNorm), over several seeds.

Studies print and save their numbers; they are never assertions of the test suite.
"""
