"""Small, CPU-sized reproductions of the paper's applications (Song, Sebe & Wang 2022, Sec. 4).

- ``python -m mathsqrt.experiments.whitening`` — a small convolutional network with a ZCA whitening
  layer (decorrelated batch norm) after its first convolution, trained on scikit-learn's
  handwritten digits once per square-root method; reports the time of the square-root layer and
  the validation accuracy (:mod:`mathsqrt.experiments.whitening`).

Experiments print and save their numbers; they are never assertions of the test suite.
"""

__all__ = ["whitening"]
