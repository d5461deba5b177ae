r"""Every number transcribed from the paper, in one place, with where it comes from.

Song, Sebe & Wang, "Fast Differentiable Matrix Square Root", ICLR 2022 [1]_. Figures, widgets,
notebooks and the benchmark read these; nothing else in :mod:`mathsqrt.paper` types a number of the
paper. Times are keyed by the configuration names of :data:`mathsqrt.methods.CONFIGURATIONS`
(``"mpa-lya"``, ``"svd-taylor"``, ...); display them with the table's labels.

- :data:`PROPOSED`, :data:`LYAPUNOV`: the paper's own method, MPA-Lya, and its Lyapunov backward.
- :data:`K40_MS`, :data:`K40_SOURCES`: FP+BP milliseconds on a Tesla K40 (Tables 3, 4, 8, 9);
  :func:`k40` and :func:`k40_by_dimension` read them.
- :data:`BATCH64_SPEEDUP`: the speed-ups quoted in Sec. 4.1.3.
- :data:`TABLE6`: the Lyapunov solver's residuals (appendix A.7.2, Table 6).
- :data:`TABLE5_DEGREES`, :data:`FIG1C_SETTINGS`: the settings the paper sweeps.
- :data:`PADE_Q`, :data:`PADE_MINIMA`: the Padé denominators and their minima as printed in
  appendix A.12, errata included (see :func:`mathsqrt.coefficients.pade_denominator_minimum` for
  the exact values).
- :func:`paper_counts`: the operation counts of Tables 1–2, as formulas.

References
----------
.. [1] Y. Song, N. Sebe, W. Wang, "Fast Differentiable Matrix Square Root", ICLR 2022.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Tuple

from mathsqrt import methods
from mathsqrt.coefficients import PAPER_Q5

__all__ = [
    "PROPOSED",
    "LYAPUNOV",
    "K40_MS",
    "K40_SOURCES",
    "k40",
    "k40_by_dimension",
    "BATCH64_SPEEDUP",
    "TABLE6",
    "TABLE5_DEGREES",
    "FIG1C_SETTINGS",
    "PADE_Q",
    "PADE_MINIMA",
    "PADE_ERRATUM",
    "paper_counts",
]

#: The configuration the paper proposes (MPA forward, Lyapunov backward): speed ratios are relative to it.
PROPOSED = "mpa-lya"

#: The paper's Lyapunov backward (matrix-sign Newton–Schulz, Eq. 20–22), as the table names it: that of
#: :data:`PROPOSED`.
LYAPUNOV: str = methods.configuration(PROPOSED).backward

# ------------------------------------------------------------------------------------------ speed

#: FP+BP milliseconds on a Tesla K40, keyed by ``(batch, n)`` then configuration name: Table 3
#: (1×64×64), Table 4 (64×48×48), Table 8 (1×n×n), Table 9 (256×256×256). The paper's "SVD-Padé"
#: is ``"svd-pade"`` here; it reports no time for plain SVD (Eq. 2) in these tables.
K40_MS: Mapping[Tuple[int, int], Mapping[str, float]] = {
    (1, 64): {"svd-pi": 3.49, "svd-taylor": 3.41, "svd-pade": 3.39, "ns": 2.96, "mpa-lya": 2.52, "mtp-lya": 2.36},
    (64, 48): {
        "pi": 1.84,
        "svd-pi": 83.43,
        "svd-taylor": 83.29,
        "svd-pade": 83.25,
        "ns": 10.38,
        "mpa-lya": 3.25,
        "mtp-lya": 2.39,
    },
    (1, 256): {"mtp-lya": 4.88, "mpa-lya": 5.56, "ns": 6.28},
    (1, 512): {"mtp-lya": 5.43, "mpa-lya": 7.47, "ns": 9.86},
    (1, 1024): {"mtp-lya": 7.32, "mpa-lya": 11.28, "ns": 12.69},
    (256, 256): {"mpa-lya": 110.61, "ns": 164.43},
}

#: The table of [1]_ each entry of :data:`K40_MS` comes from.
K40_SOURCES: Mapping[Tuple[int, int], str] = {
    (1, 64): "Table 3",
    (64, 48): "Table 4",
    (1, 256): "Table 8",
    (1, 512): "Table 8",
    (1, 1024): "Table 8",
    (256, 256): "Table 9",
}

#: [1]_ Sec. 4.1.3, a batch of 64 matrices 64×64: how many times faster MPA-Lya and MTP-Lya are
#: than NS and than SVD.
BATCH64_SPEEDUP: Mapping[str, Mapping[str, float]] = {
    "mpa-lya": {"ns": 2.58, "svd": 27.25},
    "mtp-lya": {"ns": 5.82, "svd": 61.32},
}


def k40(batch: int, n: int) -> Dict[str, float]:
    """The K40 FP+BP times (ms, by configuration name) that [1]_ reports for ``batch × n × n``; ``{}`` if none.

    Parameters
    ----------
    batch, n : int
        Shape of the input batch.

    Returns
    -------
    dict of str to float
    """
    return dict(K40_MS.get((int(batch), int(n)), {}))


def k40_by_dimension() -> Dict[str, Dict[int, float]]:
    """Table 8 of [1]_ by configuration: ``{name: {n: ms}}`` for one ``n × n`` matrix (FP+BP, Tesla K40)."""
    out: Dict[str, Dict[int, float]] = {}
    for (batch, n), times in K40_MS.items():
        if K40_SOURCES[(batch, n)] == "Table 8":
            for name, ms in times.items():
                out.setdefault(name, {})[n] = ms
    return out


# ----------------------------------------------------------------------------------------- errors

#: [1]_ appendix A.7.2, Table 6: Lyapunov iterations ``k`` -> (:math:`\|B_k - I\|_F`,
#: :math:`\|\tfrac12 C_k - X\|_F`), on the authors' matrices, values as printed.
TABLE6: Mapping[int, Tuple[float, float]] = {
    5: (0.3541, 0.2049),
    6: (0.0410, 0.0231),
    7: (7e-4, 3.5e-4),
    8: (3e-7, 7e-6),
    9: (2e-7, 7e-6),
}

#: [1]_ Table 5: the diagonal MPA degrees ``[k/k]`` compared.
TABLE5_DEGREES: Tuple[int, ...] = (3, 4, 5, 6)

#: [1]_ Fig. 1c: the settings swept, by forward method: MTP degrees 6–18, MPA ``[m/m]`` with
#: ``m = 3..9`` (matched degree ``2m``), NS 3–7 iterations.
FIG1C_SETTINGS: Mapping[str, Tuple[int, ...]] = {
    "mtp": tuple(range(6, 19, 2)),
    "mpa": tuple(range(3, 10)),
    "ns": tuple(range(3, 8)),
}

# ------------------------------------------------------------------------------------ A.12, errata

#: Padé denominator coefficients ``q`` as printed in [1]_ appendix A.12 (Eq. 31), paper convention
#: :math:`Q = 1 - \sum_k q_k z^k`, misprint included (``q5[3]``; ``K = 5`` is
#: :data:`mathsqrt.coefficients.PAPER_Q5`, which the core's tests use).
PADE_Q: Mapping[int, Tuple[float, ...]] = {
    3: (1.25, -0.375, 0.015625),
    4: (1.75, -0.9375, 0.15625, -0.00390625),
    5: PAPER_Q5,
    6: (2.75, -2.8125, 1.3125, -0.2734375, 0.0205078125, -0.000244140625),
}

#: The minima of :math:`Q_K` on ``[0, 1]`` quoted in [1]_ appendix A.12 (Eq. 33); ``K = 5`` is an
#: erratum (exact :math:`11/1024 = 0.0107421875`).
PADE_MINIMA: Mapping[int, float] = {3: 0.109375, 4: 0.03515625, 5: 0.0108672, 6: 0.003173828125}

#: The misprint behind the erratum: ``(K, 1-based index k of q_k, printed value, exact value as a string)``.
PADE_ERRATUM: Tuple[int, int, float, str] = (5, 3, PAPER_Q5[2], "35/64")

# ----------------------------------------------------------------------------------- Tables 1 and 2


def paper_counts(
    forward: str,
    *,
    degree=None,
    iters: Optional[int] = None,
    backward: str = LYAPUNOV,
    backward_iters: int = 8,
) -> Dict[str, object]:
    r"""The operation counts of [1]_ Tables 1–2: forward matmuls and inverses, backward matmuls.

    MTP of degree ``K``: ``K - 1`` matmuls; MPA ``[k/k]`` (matching degree ``K = 2k + 1``):
    ``(K - 1)/2 = k`` matmuls and one inverse; NS with ``T`` iterations: ``3T``; the paper's Lyapunov
    backward (:data:`LYAPUNOV`): ``6T``; NS differentiated through its iterations: ``4 + 10T``.

    Parameters
    ----------
    forward, backward : str
        Names of :data:`mathsqrt.methods.FORWARDS` and :data:`mathsqrt.methods.BACKWARDS`.
    degree : int or (int, int), optional
        MTP degree ``K`` or MPA degree ``k`` (or ``(k, k)``).
    iters : int, optional
        NS iterations ``T``.
    backward_iters : int
        Iterations of the Lyapunov backward.

    Returns
    -------
    dict
        ``paper_fw_matmul``, ``paper_fw_inverse``, ``paper_bw_matmul``; ``""`` where the paper
        gives no count.
    """
    fw_mm, fw_inv, bw_mm = "", "", ""
    if forward == "mtp":
        fw_mm, fw_inv = degree - 1, 0
    elif forward == "mpa":
        k = degree[0] if isinstance(degree, tuple) else degree
        fw_mm, fw_inv = k, 1  # (K - 1)/2 with K = 2k + 1
    elif forward == "ns":
        fw_mm, fw_inv = 3 * iters, 0
    if backward == LYAPUNOV:
        bw_mm = 6 * backward_iters
    elif forward == "ns" and backward == "autograd":
        bw_mm = 4 + 10 * iters
    return {"paper_fw_matmul": fw_mm, "paper_fw_inverse": fw_inv, "paper_bw_matmul": bw_mm}
