"""Shared test set-up: the Agg backend, the hypothesis profile, a fixed seed per test."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")

try:
    from hypothesis import settings

    settings.register_profile("mathsqrt", max_examples=25, deadline=None, derandomize=True)
    settings.load_profile("mathsqrt")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)  # noqa: NPY002 - seeds the legacy global state that some tests' helpers use
    yield
