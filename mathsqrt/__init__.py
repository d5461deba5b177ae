"""mathsqrt: exact and fast differentiable matrix square root and inverse square root for PyTorch.

>>> import torch, mathsqrt
>>> A = torch.eye(3, dtype=torch.float64) * 4
>>> mathsqrt.sqrtm(A, method="eigh").diagonal()
tensor([2., 2., 2.], dtype=torch.float64)

Public surface: :func:`sqrtm`, :func:`invsqrtm`, the residual certificate :func:`residual` and
:func:`residual_bound`, :func:`count_ops`, the method table
:mod:`mathsqrt.methods`, the layers of :mod:`mathsqrt.nn`, :func:`wct` and :func:`transfer_colour`
(from :mod:`mathsqrt.transfer`), and the baseline :func:`power_iteration_sqrtm`. The submodules
:mod:`mathsqrt.coefficients`, :mod:`mathsqrt.forward`, :mod:`mathsqrt.backward` and
:mod:`mathsqrt.baselines` hold the plain functions behind them; :mod:`mathsqrt.testing` builds test
matrices and float64 references. The teaching and benchmark harness is :mod:`mathsqrt.paper`, which
is not imported here (it needs matplotlib).
"""

from importlib.metadata import PackageNotFoundError, version

from . import backward, baselines, coefficients, forward, methods, nn
from .api import BACKWARDS, METHODS, invsqrtm, residual, residual_bound, sqrtm
from .baselines import power_iteration_sqrtm
from .counting import count_ops
from .transfer import load_sample_images, transfer_colour, wct

try:
    __version__ = version("mathsqrt")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "sqrtm",
    "invsqrtm",
    "residual",
    "residual_bound",
    "count_ops",
    "power_iteration_sqrtm",
    "wct",
    "transfer_colour",
    "load_sample_images",
    "METHODS",
    "BACKWARDS",
    "methods",
    "coefficients",
    "forward",
    "backward",
    "baselines",
    "nn",
    "__version__",
]
