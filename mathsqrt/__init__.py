"""mathsqrt: exact and fast differentiable matrix square root and inverse square root for PyTorch.

>>> import torch, mathsqrt
>>> A = torch.eye(3, dtype=torch.float64) * 4
>>> mathsqrt.sqrtm(A, method="eigh").diagonal()
tensor([2., 2., 2.], dtype=torch.float64)

Public surface: :func:`sqrtm`, :func:`invsqrtm`, :func:`count_ops`, the layers of
:mod:`mathsqrt.nn`, :func:`wct` and :func:`transfer_colour` (from :mod:`mathsqrt.transfer`), and the
baselines :func:`power_iteration_sqrtm` / :mod:`mathsqrt.baselines`. The submodules
:mod:`mathsqrt.coefficients`, :mod:`mathsqrt.forward` and :mod:`mathsqrt.backward` hold the plain
functions behind them. Command-line modules are imported on demand: ``python -m mathsqrt.accuracy``,
``mathsqrt.degenerate``, ``mathsqrt.bench``, ``mathsqrt.figures``, ``mathsqrt.experiments.whitening``.
"""

from . import backward, baselines, coefficients, forward, nn
from .api import BACKWARDS, DEFAULTS, METHODS, invsqrtm, sqrtm
from .baselines import power_iteration_sqrtm
from .transfer import load_sample_images, transfer_colour, wct
from .counting import count_ops

__version__ = "0.1.0"

__all__ = [
    "sqrtm",
    "invsqrtm",
    "count_ops",
    "power_iteration_sqrtm",
    "wct",
    "transfer_colour",
    "load_sample_images",
    "METHODS",
    "BACKWARDS",
    "DEFAULTS",
    "coefficients",
    "forward",
    "backward",
    "baselines",
    "nn",
    "__version__",
]
